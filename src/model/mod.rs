//! Plain domain types shared by the panel and the agent. No I/O lives here.

pub mod account;
pub mod hll;
pub mod report;
pub mod rollup;
pub mod series;
