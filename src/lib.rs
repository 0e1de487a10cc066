//! Tally: a self-hosted, white-label audience-analytics panel for streaming media servers.
//!
//! This crate is the whole product; `main.rs` only parses the command line and calls [`run`].
//! Composition root: [`run`] builds the state (config → storage → GeoIP → writer) and starts the
//! HTTP server and the scheduler.

pub mod agent;
pub mod cli;
pub mod geoip;
pub mod http {
    pub mod spa;
}
pub mod ingest;
pub mod model;

pub fn run(_cli: cli::Cli) -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
