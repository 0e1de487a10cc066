//! Command line.
use clap::{Parser, Subcommand};

/// Tally: audience analytics for streaming media servers.
#[derive(Parser, Debug)]
#[command(name = "tally", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Roles and verbs of the binary.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run beside a media server: collect its statistics and push reports to a panel.
    Agent(crate::agent::AgentArgs),
}

pub fn parse() -> Cli {
    Cli::parse()
}
