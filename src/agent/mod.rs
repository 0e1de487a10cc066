//! `tally agent`: runs beside a media server, collects its statistics every interval and pushes
//! one v1 [`Report`](crate::model::report::Report) per interval to a panel.
//!
//! Owns the agent's command line ([`AgentArgs`]) and its main loop ([`run`]). The pieces:
//! - one collector per media-server source (`nginx_rtmp`, `access_log`, `icecast`, `srs`,
//!   `mediamtx`, `ovenmediaengine`, `wowza`, `nimble`), each turning one poll or one stretch of
//!   log into streams and viewer sessions for the interval ([`collect`]);
//! - `host`: CPU, RAM and network of the machine from `/proc`;
//! - `assemble`: merges the collections into one report with a stable `report_id`;
//! - `spool`: every report is written to disk before it is sent, so nothing acknowledged-worthy
//!   is lost while the panel is away or the agent restarts;
//! - `sender`: drains the spool in order, gzip-compressed, with retries and capped backoff.
//!
//! The agent only makes outbound requests. It never stores a viewer IP on disk except inside
//! the spooled report, which is deleted as soon as the panel acknowledges it.

pub mod access_log;
pub mod assemble;
pub mod collect;
pub mod config;
pub mod fetch;
pub mod host;
pub mod icecast;
pub mod mediamtx;
pub mod nginx_rtmp;
pub mod nimble;
pub mod ovenmediaengine;
pub mod sender;
pub mod spool;
pub mod srs;
pub mod tail;
pub mod wowza;
pub mod xml;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod testutil;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use crate::agent::assemble::Assembler;
use crate::agent::collect::Collector;
use crate::agent::config::AgentConfig;
use crate::agent::host::HostSampler;
use crate::agent::sender::Sender;
use crate::agent::spool::Spool;

/// How long `--once` keeps retrying delivery before it gives up and leaves the spool as it is.
const ONCE_SEND_BUDGET: Duration = Duration::from_secs(10);

/// Text shown after `tally agent --help`.
const AGENT_AFTER_HELP: &str = "\
Examples:
  tally agent --panel https://panel.example.com --token TOKEN \\
      --source nginx-rtmp=http://127.0.0.1:8080/stat \\
      --source access-log=/var/log/nginx/access.log --access-log-app live \\
      --rtmp-access-log /var/log/nginx/rtmp_access.log
  tally agent --panel https://panel.example.com --token TOKEN \\
      --source icecast=http://127.0.0.1:8000 --source-auth admin:hackme
  TALLY_PANEL=https://panel.example.com TALLY_TOKEN=TOKEN \\
      TALLY_SOURCE=srs=http://127.0.0.1:1985,mediamtx=http://127.0.0.1:9997 tally agent

Source kinds (KIND=ADDRESS):
  nginx-rtmp=URL        the rtmp_stat location, e.g. http://127.0.0.1:8080/stat
  access-log=PATH       nginx/Apache combined or extended access log with HLS/DASH requests
  icecast=URL           Icecast 2 base URL; needs --source-auth admin:PASSWORD
  srs=URL               SRS HTTP API, e.g. http://127.0.0.1:1985
  mediamtx=URL          MediaMTX API, e.g. http://127.0.0.1:9997
  ovenmediaengine=URL   OvenMediaEngine API, e.g. http://127.0.0.1:8081 (--source-auth TOKEN)
  wowza=URL             Wowza REST API, e.g. http://127.0.0.1:8087 (basic auth or none)
  nimble=URL            Nimble management API, e.g. http://127.0.0.1:8082 (--source-auth TOKEN)
Credentials may also be given per source inside the URL: icecast=http://admin:pw@127.0.0.1:8000

Precedence: command-line flag > TALLY_* environment variable > [agent] table of the config file
(keys named like the flags, e.g. spool-max-mb = 100) > built-in default.";

/// Command-line arguments of `tally agent`. Every value is optional here so that the
/// environment and the `[agent]` table of the config file can supply it; [`run`] resolves
/// them in the order flag > environment > file > default.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(after_help = AGENT_AFTER_HELP)]
pub struct AgentArgs {
    /// Panel base URL (reports go to URL/api/v1/ingest), e.g. --panel https://panel.example.com
    #[arg(long, env = "TALLY_PANEL", value_name = "URL")]
    pub panel: Option<String>,

    /// Ingest token of this server, shown once when the server was added in the panel,
    /// e.g. --token 3f9c…
    #[arg(
        long,
        env = "TALLY_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// A media-server source to collect from, repeatable; the environment variable takes a
    /// comma-separated list. e.g. --source nginx-rtmp=http://127.0.0.1:8080/stat
    #[arg(
        long = "source",
        env = "TALLY_SOURCE",
        value_name = "KIND=ADDRESS",
        value_delimiter = ','
    )]
    pub source: Vec<String>,

    /// Credentials for the HTTP sources: user:password for basic auth (Icecast admin, Wowza),
    /// or the API token (OvenMediaEngine, Nimble), e.g. --source-auth admin:hackme
    #[arg(
        long,
        env = "TALLY_SOURCE_AUTH",
        value_name = "USER:PASS",
        hide_env_values = true
    )]
    pub source_auth: Option<String>,

    /// Length of one report interval [default: 30s], e.g. --interval 30s, --interval 1m
    #[arg(long, env = "TALLY_INTERVAL", value_name = "DURATION")]
    pub interval: Option<String>,

    /// Spool directory holding reports until the panel acknowledges them
    /// [default: ./tally-spool], e.g. --spool /var/lib/tally-agent/spool
    #[arg(long, env = "TALLY_SPOOL", value_name = "DIR")]
    pub spool: Option<PathBuf>,

    /// Largest spool size in MiB; past it the oldest reports are dropped [default: 100],
    /// e.g. --spool-max-mb 500
    #[arg(long, env = "TALLY_SPOOL_MAX_MB", value_name = "MIB")]
    pub spool_max_mb: Option<u64>,

    /// Server name used in report ids and shown in the panel [default: the host name],
    /// e.g. --name edge-1
    #[arg(long, env = "TALLY_NAME", value_name = "NAME")]
    pub name: Option<String>,

    /// access-log sources: a viewer whose last HLS/DASH request is older than this has left
    /// [default: 60s], e.g. --access-log-gap 45s
    #[arg(long, env = "TALLY_ACCESS_LOG_GAP", value_name = "DURATION")]
    pub access_log_gap: Option<String>,

    /// access-log sources: report HLS/DASH viewers under this application name instead of the
    /// first URL path segment, so that they join the RTMP stream of the same name,
    /// e.g. --access-log-app live
    #[arg(long, env = "TALLY_ACCESS_LOG_APP", value_name = "APP")]
    pub access_log_app: Option<String>,

    /// nginx-rtmp sources: the rtmp{} access_log, read to correct each viewer's bytes when it
    /// disconnects, e.g. --rtmp-access-log /var/log/nginx/rtmp_access.log
    #[arg(long, env = "TALLY_RTMP_ACCESS_LOG", value_name = "PATH")]
    pub rtmp_access_log: Option<PathBuf>,

    /// Timeout of one request to a media server's API [default: 5s], e.g. --source-timeout 3s
    #[arg(long, env = "TALLY_SOURCE_TIMEOUT", value_name = "DURATION")]
    pub source_timeout: Option<String>,

    /// Take a baseline, wait one interval, collect, send the spool, then exit (non-zero if a
    /// report could not be delivered), e.g. --once --interval 5s
    #[arg(long)]
    pub once: bool,
}

/// Runs the agent until the process is stopped (or once, with `--once`). Blocking.
///
/// `config_file` is the `[agent]` table of the TOML configuration, if any.
pub fn run(args: AgentArgs, config_file: Option<&toml::Table>) -> anyhow::Result<()> {
    let config =
        AgentConfig::resolve(args, config_file).context("while reading the agent settings")?;
    let spool = Arc::new(
        Spool::open(&config.spool, config.spool_max_bytes).with_context(|| {
            format!(
                "while opening the spool directory {}",
                config.spool.display()
            )
        })?,
    );
    let sender = Sender::new(&config.panel, &config.token, Arc::clone(&spool))
        .context("while preparing the connection to the panel")?;
    let mut collectors =
        collect::build_collectors(&config).context("while setting up the sources")?;
    let assembler = Assembler::new(config.name.clone());
    let mut host = HostSampler::new();

    tracing::info!(
        name = %config.name,
        panel = %config.panel,
        sources = collectors.len(),
        interval_s = config.interval.as_secs(),
        spool = %config.spool.display(),
        queued = spool.len(),
        "tally agent started"
    );

    let start = unix_now();
    prime(&mut collectors, start);
    host.sample();

    if config.once {
        std::thread::sleep(config.interval);
        let end = unix_now();
        collect_and_spool(&mut collectors, &assembler, &mut host, &spool, start, end);
        let pending = sender.drain_for(ONCE_SEND_BUDGET.max(config.interval));
        if pending > 0 {
            anyhow::bail!(
                "{pending} report(s) could not be delivered to {} and stay in the spool {}; \
                 the next run sends them",
                config.panel,
                config.spool.display()
            );
        }
        return Ok(());
    }

    let sender_thread = sender.spawn().context("while starting the sender thread")?;
    let interval = config.interval.as_secs().max(1) as i64;
    let mut previous = start;
    loop {
        // Ticks are aligned to multiples of the interval so that reports from many servers
        // fall on the same bucket boundaries in the panel.
        let next = (unix_now() / interval + 1) * interval;
        sleep_until_unix(next);
        collect_and_spool(
            &mut collectors,
            &assembler,
            &mut host,
            &spool,
            previous,
            next,
        );
        sender_thread.wake();
        previous = next;
    }
}

/// Takes the first poll of every source so that counters have a baseline; errors are logged.
fn prime(collectors: &mut [Box<dyn Collector>], now: i64) {
    for c in collectors.iter_mut() {
        if let Err(e) = c.prime(now) {
            tracing::warn!(source = %c.describe(), error = %e, "first poll failed; will retry next interval");
        }
    }
}

/// Collects one interval from every source, builds the report and writes it to the spool.
fn collect_and_spool(
    collectors: &mut [Box<dyn Collector>],
    assembler: &Assembler,
    host: &mut HostSampler,
    spool: &Spool,
    start: i64,
    end: i64,
) {
    let began = Instant::now();
    let mut collections = Vec::with_capacity(collectors.len());
    for c in collectors.iter_mut() {
        match c.collect(end) {
            Ok(col) => collections.push(col),
            Err(e) => tracing::warn!(source = %c.describe(), error = %e, "collection failed"),
        }
    }
    let metrics = host.sample();
    let interval_s = u32::try_from((end - start).max(1)).unwrap_or(u32::MAX);
    let seq = spool.allocate_seq();
    let report = assembler.assemble(
        end,
        interval_s,
        seq,
        collections,
        metrics,
        host.server_ips(),
    );
    let viewers = report.viewer_count();
    let streams = report.streams.len();
    match spool.push(&report, seq) {
        Ok(dropped) => {
            if dropped > 0 {
                tracing::warn!(
                    dropped,
                    total_dropped = spool.dropped_total(),
                    "spool full: dropped the oldest reports (raise --spool-max-mb to keep more)"
                );
            }
            tracing::debug!(
                report_id = %report.report_id,
                streams,
                viewers,
                elapsed_ms = began.elapsed().as_millis() as u64,
                "report spooled"
            );
        }
        Err(e) => {
            tracing::error!(report_id = %report.report_id, error = %e, "could not write the report to the spool")
        }
    }
}

/// Current Unix time in seconds.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn sleep_until_unix(target: i64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let target = Duration::from_secs(target.max(0) as u64);
    if let Some(wait) = target.checked_sub(now) {
        std::thread::sleep(wait);
    }
}
