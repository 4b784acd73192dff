//! The examples of the Step Functions developer guide (input, definition, documented output).
