//! Tally: a self-hosted, white-label audience-analytics panel for streaming media servers.
//!
//! This crate is the whole product; `main.rs` only parses the command line and calls [`run`].
//! [`run`] is the composition root: it resolves the configuration, opens storage, GeoIP and the
//! writer, then starts the HTTP server and the scheduler (or runs an operator command).
//!
//! Data flow: `http::ingest` (auth, bounded body, parse, validate) → `ingest::enrich` (GeoIP,
//! user agent, salted hashes; **the viewer IP is dropped here**) → `ingest::writer` (journal,
//! group commit, aggregation, checkpoints) → `store` (sled partitions) → `query` → `http::api`.

pub mod activity;
pub mod adminsock;
pub mod agent;
pub mod alerts;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod config;
pub mod error;
pub mod geoip;
pub mod http;
pub mod ingest;

pub mod jobs;
pub mod lifecycle;
pub mod memory;
pub mod model;
pub mod ops;
pub mod query;
pub mod store;
pub mod tls;
pub mod totp;

use std::process::ExitCode;

use cli::{Cli, Command};

/// The current time in Unix seconds. The only place the server reads the wall clock for data.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Runs the command the user asked for and maps the outcome to an exit code.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        None => ops::serve(cli.serve),
        Some(Command::Serve(args)) => ops::serve(args),
        Some(Command::Agent(args)) => run_agent(args, &cli.serve),
        Some(Command::User(cmd)) => ops::user(cmd),
        Some(Command::Check(args)) => ops::check(args),
        Some(Command::Retention(cmd)) => ops::retention(cmd),
        Some(Command::Backup(args)) => ops::backup(args),
        Some(Command::Restore(args)) => ops::restore(args),
        Some(Command::Bench(args)) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `tally agent`: the `[agent]` table of `--config`/`TALLY_CONFIG` supplies defaults, and the
/// log options are shared with `serve`.
fn run_agent(args: agent::AgentArgs, serve: &config::ServeArgs) -> anyhow::Result<()> {
    let file = match &serve.config {
        Some(path) => Some(config::read_file(path)?),
        None => None,
    };
    let format = serve
        .log_format
        .or(file.as_ref().and_then(|f| f.log_format))
        .unwrap_or_default();
    let level = serve
        .log_level
        .clone()
        .or(file.as_ref().and_then(|f| f.log_level.clone()))
        .unwrap_or_else(|| "info".into());
    init_logging(format, &level);
    agent::run(args, file.as_ref().and_then(|f| f.agent.as_ref()))
}

/// Sets up `tracing` output on stderr, as text or JSON lines.
pub fn init_logging(format: config::LogFormat, filter: &str) {
    use tracing_subscriber::EnvFilter;
    // The scheduler library narrates every job at info; keep the log about Tally.
    let filter = format!("{filter},tokio_cron_scheduler=warn");
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        config::LogFormat::Json => builder.json().flatten_event(true).try_init(),
        config::LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}

/// Creates the first account and its owner, who is also the instance operator.
pub fn create_first_admin(
    meta: &store::MetaStore,
    email: &str,
    password_hash: String,
    account_name: &str,
) -> Result<(model::account::User, model::account::Account), store::StoreError> {
    use model::account::{Account, Id, Role, User};
    let now = now();
    let account = Account {
        id: Id::random(),
        name: account_name.to_string(),
        created_at: now,
        domains: Vec::new(),
        processing_restricted: false,
        timezone: "UTC".into(),
        limits: Default::default(),
    };
    meta.put_account(&account)?;
    let user = User {
        id: Id::random(),
        account_id: account.id,
        email: email.to_string(),
        name: String::new(),
        role: Role::Owner,
        operator: true,
        password_hash,
        created_at: now,
        totp: None,
        slices: Vec::new(),
    };
    meta.insert_user(&user)?;
    meta.flush()?;
    Ok((user, account))
}
