//! Ingest: validation, enrichment, aggregation and the writer task.
pub mod useragent;
