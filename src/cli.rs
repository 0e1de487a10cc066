//! Command line.
use clap::Parser;
#[derive(Parser, Debug)]
pub struct Cli {}
pub fn parse() -> Cli { Cli::parse() }
