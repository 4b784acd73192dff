//! The dependency graph of a validated tree: pipelines grouped by account, data products, edges
//! with the statuses that trigger. Pure: reads the model, produces a graph.
