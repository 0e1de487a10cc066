//! `tally bench`: load generator (filled in below).

/// Options of `tally bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {}

/// Runs a benchmark.
pub fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
