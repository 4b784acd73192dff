//! EventBridge-compatible event pattern engine (pure, no I/O).
