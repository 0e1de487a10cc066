//! Tally: a self-hosted, white-label audience-analytics panel for streaming media servers.
//!
//! This crate is the whole product; `main.rs` only parses the command line and calls [`run`].
//! Composition root: [`run`] builds the state (config → storage → GeoIP → writer) and starts the
//! HTTP server and the scheduler.

pub mod agent;
pub mod cli;
pub mod geoip;
pub mod ingest;
pub mod model;

pub fn run(cli: cli::Cli) -> std::process::ExitCode {
    match cli.command {
        Some(cli::Command::Agent(args)) => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr)
                .try_init();
            // The lead's config loader replaces this: the [agent] table of TALLY_CONFIG.
            let file = std::env::var_os("TALLY_CONFIG")
                .and_then(|p| std::fs::read_to_string(p).ok())
                .and_then(|t| t.parse::<toml::Table>().ok())
                .and_then(|t| t.get("agent").and_then(|a| a.as_table()).cloned());
            match agent::run(args, file.as_ref()) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        None => std::process::ExitCode::SUCCESS,
    }
}
