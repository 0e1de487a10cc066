//! `tally agent` (stub, being written).

/// Options of `tally agent`.
#[derive(clap::Args, Debug, Clone)]
pub struct AgentArgs {}

/// Runs the agent until interrupted.
pub fn run(_args: AgentArgs, _config_file: Option<&toml::Table>) -> anyhow::Result<()> {
    anyhow::bail!("the agent is not available in this build")
}
