//! The command line: `tally [serve]`, `tally agent`, and the operator verbs.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::ServeArgs;

/// Tally: audience analytics and monitoring for streaming media servers.
#[derive(Parser, Debug)]
#[command(
    name = "tally",
    version,
    propagate_version = true,
    after_help = "\
Examples:
  tally serve                                   # panel on http://127.0.0.1:8080, data in ./tally-data
  tally serve --domain panel.example.com        # HTTPS with automatic certificates
  tally agent --panel https://panel.example.com --token T --source nginx-rtmp=http://127.0.0.1:8080/stat"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `serve`, which also runs when no command is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// What to do.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the panel: ingest API, JSON API, web app and scheduled jobs
    #[command(
        after_help = "Example:\n  TALLY_ADMIN_EMAIL=me@example.com TALLY_ADMIN_PASSWORD='long passphrase' tally serve --data-dir /var/lib/tally"
    )]
    Serve(ServeArgs),
    /// Run beside a media server: collect its statistics and push them to a panel
    Agent(crate::agent::AgentArgs),
    /// Manage panel users (works whether or not the server is running)
    #[command(
        subcommand,
        after_help = "Examples:\n  tally user list --data-dir /var/lib/tally\n  \
echo 'long passphrase' | tally user add --email ops@example.com --role viewer --password-stdin"
    )]
    User(UserCommand),
    /// Check configuration, data directory, GeoIP files and storage; exit code 0 when healthy
    #[command(after_help = "Example:\n  tally check --data-dir /var/lib/tally && echo healthy")]
    Check(ServeArgs),
    /// Delete expired data now (or show what would go), on a stopped data dir or through a running panel
    #[command(
        subcommand,
        after_help = "Example:\n  tally retention run --dry-run --data-dir /var/lib/tally"
    )]
    Retention(RetentionCommand),
    /// Download a consistent snapshot of a running panel into a file
    #[command(
        after_help = "Example:\n  tally backup --url https://panel.example.com --token \"$TALLY_TOKEN\" --out /backups/tally-$(date +%F).tar"
    )]
    Backup(BackupArgs),
    /// Restore a backup file into a new (or empty) data directory; the panel must be stopped
    #[command(
        after_help = "Example:\n  tally restore /backups/tally-2026-11-25.tar --data-dir /var/lib/tally-restored"
    )]
    Restore(RestoreArgs),
    /// Load-test a panel with realistic reports and print throughput, latency and memory
    #[command(
        after_help = "Examples:\n  tally bench ingest                      # starts its own panel in a temp dir\n  tally bench ingest --duration 60 --rate 100000\n  tally bench query"
    )]
    Bench(crate::bench::BenchArgs),
}

/// `tally retention …`
#[derive(Subcommand, Debug)]
pub enum RetentionCommand {
    /// Delete what is past its retention period (whole partitions; the straddling one is compacted)
    #[command(
        after_help = "Examples:\n  tally retention run --dry-run --data-dir /var/lib/tally     # panel stopped\n  tally retention run --url http://127.0.0.1:8080 --token \"$TALLY_TOKEN\"   # panel running"
    )]
    Run {
        /// Only report what would be deleted
        #[arg(long)]
        dry_run: bool,
        /// Data directory of a stopped panel
        #[arg(long, env = "TALLY_DATA_DIR", default_value = "tally-data")]
        data_dir: PathBuf,
        /// Base URL of a running panel (then --token is needed and --data-dir is ignored)
        #[arg(long, env = "TALLY_URL")]
        url: Option<String>,
        /// Operator's admin-scoped API token
        #[arg(long, env = "TALLY_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
}

/// `tally backup`
#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// Base URL of the running panel
    #[arg(long, env = "TALLY_URL")]
    pub url: String,
    /// Operator's admin-scoped API token
    #[arg(long, env = "TALLY_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Where to write the archive (a `.sha256` file is written beside it)
    #[arg(long)]
    pub out: PathBuf,
}

/// `tally restore`
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The backup archive
    pub file: PathBuf,
    /// New or empty data directory to restore into
    #[arg(long)]
    pub data_dir: PathBuf,
}

/// `tally user …`
#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user to the first account (or to --account)
    #[command(
        after_help = "Example:\n  echo 'long passphrase' | tally user add --email ops@example.com --role admin --password-stdin"
    )]
    Add {
        #[arg(long)]
        email: String,
        /// owner, admin, viewer or billing
        #[arg(long, default_value = "admin")]
        role: String,
        /// Read the password from standard input instead of generating one
        #[arg(long)]
        password_stdin: bool,
        /// Make the user an instance operator
        #[arg(long)]
        operator: bool,
        /// Account id to add the user to [default: the first account]
        #[arg(long)]
        account: Option<String>,
        #[arg(long, env = "TALLY_DATA_DIR", default_value = "tally-data")]
        data_dir: PathBuf,
    },
    /// Set a new password for a user (prints a generated one unless --password-stdin)
    #[command(after_help = "Example:\n  tally user reset-password --email ops@example.com")]
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, env = "TALLY_DATA_DIR", default_value = "tally-data")]
        data_dir: PathBuf,
    },
    /// List users
    #[command(after_help = "Example:\n  tally user list --data-dir /var/lib/tally")]
    List {
        #[arg(long, env = "TALLY_DATA_DIR", default_value = "tally-data")]
        data_dir: PathBuf,
    },
}

/// Parses the process arguments (exits with usage on error).
pub fn parse() -> Cli {
    Cli::parse()
}
