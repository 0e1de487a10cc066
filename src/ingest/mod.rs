//! Ingest: dimension dictionary, enrichment (where viewer IPs end), daily salts, the journal,
//! the writer that aggregates and stores, and the hook receiver state that turns pushed
//! media-server notifications into reports.

pub mod dict;
pub mod enrich;
pub mod hook_events;
pub mod hooks;
pub mod salt;
pub mod useragent;
pub mod wal;
pub mod writer;
