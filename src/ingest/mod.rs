//! Ingest: dimension dictionary, enrichment (where viewer IPs end), daily salts, the journal
//! and the writer that aggregates and stores.

pub mod dict;
pub mod enrich;
pub mod salt;
pub mod useragent;
pub mod wal;
pub mod writer;
