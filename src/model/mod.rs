//! Plain domain types shared by the panel and the agent. No I/O lives here.

pub mod report;
