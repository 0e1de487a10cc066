//! `tally bench`: a load generator that drives a real `tally serve` over HTTP.
//!
//! Without `--url` it starts its own panel (this same binary) in a temporary directory, so the
//! figures include everything an operator would run: HTTP, JSON, GeoIP + ASN enrichment, the
//! journal and its fsyncs, aggregation and checkpoints. It prints throughput, acknowledgement
//! latency percentiles, error counts, peak RSS of the panel and disk use.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// Options of `tally bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub kind: BenchKind,
}

/// Which benchmark.
#[derive(Subcommand, Debug)]
pub enum BenchKind {
    /// Push realistic reports as fast as possible (or at --rate) and measure acknowledgements
    #[command(
        after_help = "Examples:\n  tally bench ingest\n  tally bench ingest --duration 60 --rate 100000\n  tally bench ingest --rate 50000 --duration 30m --report-every 60s   # soak\n  tally bench ingest --rate 150000 --readers 4   # while people watch the panel\n  tally bench ingest --url http://127.0.0.1:8080 --servers 1"
    )]
    Ingest(IngestArgs),
    /// Fill 30 days × 1,000 streams, then time summaries, breakdowns and time series
    #[command(after_help = "Example:\n  tally bench query --days 30 --streams 1000")]
    Query(QueryArgs),
}

/// Where the panel is and how to reach it.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// Panel to test; when absent a fresh panel is started in a temporary directory
    #[arg(long)]
    pub url: Option<String>,
    /// Admin e-mail and password for --url (servers are created through the API)
    #[arg(long, env = "TALLY_ADMIN_EMAIL")]
    pub email: Option<String>,
    #[arg(long, env = "TALLY_ADMIN_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// City database for the panel started by the benchmark
    #[arg(long, default_value = "tests/fixtures/geoip/GeoLite2-City-Test.mmdb")]
    pub geoip_city: PathBuf,
    /// ASN database for the panel started by the benchmark
    #[arg(long, default_value = "tests/fixtures/geoip/GeoLite2-ASN-Test.mmdb")]
    pub geoip_asn: PathBuf,
}

/// `tally bench ingest`
#[derive(Args, Debug)]
pub struct IngestArgs {
    #[command(flatten)]
    pub target: Target,
    /// How long to run: seconds, or with a unit (90s, 30m, 2h)
    #[arg(long, default_value = "30", value_parser = parse_duration_s)]
    pub duration: u64,
    /// Print a line every interval (seconds or with a unit): records/s, ack latency p50/p99,
    /// errors and the panel's RSS in that interval
    #[arg(long, default_value = "5", value_parser = parse_duration_s)]
    pub report_every: u64,
    /// Media servers reporting (each with --viewers concurrent sessions)
    #[arg(long, default_value_t = 50)]
    pub servers: usize,
    /// Viewers per report
    #[arg(long, default_value_t = 1000)]
    pub viewers: usize,
    /// Streams per server
    #[arg(long, default_value_t = 10)]
    pub streams: usize,
    /// Concurrent HTTP clients
    #[arg(long, default_value_t = 12)]
    pub concurrency: usize,
    /// Target viewer records per second (0 = as fast as the panel acknowledges)
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Seconds each report covers (its `interval_s`). Every report moves its server's clock on
    /// by this much, so the simulated clock runs (reports per server per second × interval)
    /// times the wall clock; a smaller interval keeps it closer to real time
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,
    /// People watching the panel meanwhile: each reloads what the overview shows (live numbers,
    /// servers, a day's summary, time series and countries) every 2 s; their response times
    /// are printed at the end
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=64))]
    pub readers: u64,
}

/// Parses `90`, `90s`, `30m` or `2h` into seconds (at least 1).
fn parse_duration_s(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1),
        Some((i, 'm')) => (&t[..i], 60),
        Some((i, 'h')) => (&t[..i], 3600),
        _ => (t, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90, 90s, 30m or 2h"))?;
    match n.checked_mul(mult) {
        Some(secs) if secs >= 1 => Ok(secs),
        _ => Err(format!("`{text}` must be between 1 s and a few years")),
    }
}

/// `tally bench query`
#[derive(Args, Debug)]
pub struct QueryArgs {
    #[command(flatten)]
    pub target: Target,
    /// Days of history to fill
    #[arg(long, default_value_t = 30)]
    pub days: i64,
    /// Streams (spread over 20 servers)
    #[arg(long, default_value_t = 1000)]
    pub streams: usize,
    /// Repetitions of each query
    #[arg(long, default_value_t = 100)]
    pub repeat: usize,
}

/// Runs a benchmark.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.kind {
        BenchKind::Ingest(a) => ingest(a),
        BenchKind::Query(a) => query(a),
    }
}

struct Panel {
    url: String,
    token: String,
    child: Option<Child>,
    data_dir: Option<tempfile::TempDir>,
}

impl Panel {
    fn start(t: &Target) -> anyhow::Result<Panel> {
        const EMAIL: &str = "bench@example.com";
        const PASSWORD: &str = "bench-password-1234";
        if let Some(url) = &t.url {
            let email = t
                .email
                .clone()
                .context("--url needs --email (or TALLY_ADMIN_EMAIL)")?;
            let password = t
                .password
                .clone()
                .context("--url needs --password (or TALLY_ADMIN_PASSWORD)")?;
            let token = login(url, &email, &password)?;
            return Ok(Panel {
                url: url.trim_end_matches('/').to_string(),
                token,
                child: None,
                data_dir: None,
            });
        }
        let dir = tempfile::tempdir()?;
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--log-level",
                "warn,tally::ops=info",
            ])
            .env("TALLY_ADMIN_EMAIL", EMAIL)
            .env("TALLY_ADMIN_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (flag, path) in [
            ("--geoip-city", &t.geoip_city),
            ("--geoip-asn", &t.geoip_asn),
        ] {
            if path.exists() {
                cmd.arg(flag).arg(path);
            } else {
                eprintln!("note: {} not found; running without {flag}", path.display());
            }
        }
        let mut child = cmd.spawn().context("cannot start tally serve")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("url=http://") {
                    let _ = tx.send(
                        line[i + 4..]
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_string(),
                    );
                } else if line.contains("ERROR") || line.contains("WARN") {
                    eprintln!("panel: {line}");
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .context("the panel did not start")?;
        let token = login(&url, EMAIL, PASSWORD)?;
        Ok(Panel {
            url,
            token,
            child: Some(child),
            data_dir: Some(dir),
        })
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The panel's resident memory in KiB: from `/proc` for a panel this benchmark started,
    /// from `tally_process_resident_bytes` in its `/metrics` for one given with `--url`.
    fn resident_kib(&self) -> Option<u64> {
        if let Some(pid) = self.pid() {
            return rss_kib(pid, "VmRSS");
        }
        let req = ureq::http::Request::builder()
            .uri(format!("{}/metrics", self.url))
            .header("Authorization", format!("Bearer {}", self.token))
            .body(())
            .ok()?;
        let text = http().run(req).ok()?.body_mut().read_to_string().ok()?;
        resident_from_metrics(&text)
    }

    fn add_server(&self, name: &str) -> anyhow::Result<String> {
        let v = call(
            "POST",
            &format!("{}/api/v1/servers", self.url),
            Some(&self.token),
            Some(json!({"name": name})),
        )?;
        v["ingest_token"]
            .as_str()
            .map(str::to_string)
            .context("no ingest token in the response")
    }

    fn disk_bytes(&self) -> Option<u64> {
        self.data_dir
            .as_ref()
            .map(|d| crate::store::dir_size(d.path()))
    }
}

impl Drop for Panel {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let _ = c.wait();
        }
    }
}

fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .max_idle_connections_per_host(64)
        .build()
        .new_agent()
}

fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let agent = http();
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let req = req.body(body.map(|b| b.to_string()).unwrap_or_default())?;
    let mut resp = agent.run(req)?;
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    if status >= 300 {
        bail!("{method} {url} answered {status}: {text}");
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn login(url: &str, email: &str, password: &str) -> anyhow::Result<String> {
    let v = call(
        "POST",
        &format!("{url}/api/v1/auth/login"),
        None,
        Some(json!({"email": email, "password": password})),
    )?;
    v["token"]
        .as_str()
        .map(str::to_string)
        .context("login returned no token")
}

/// Viewer addresses inside the networks of the MaxMind test databases, so enrichment hits.
const IP_POOL: [&str; 8] = [
    "81.2.69.",
    "89.160.20.",
    "216.160.83.",
    "175.16.199.",
    "2.125.160.",
    "67.43.156.",
    "202.196.224.",
    "149.101.100.",
];
const USER_AGENTS: [&str; 5] = [
    "VLC/3.0.18 LibVLC/3.0.18",
    "Lavf/60.3.100",
    "AppleCoreMedia/1.0.0.21A329 (iPhone; U; CPU OS 17_0 like Mac OS X; en_us)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "ExoPlayerLib/2.19.1",
];

/// Simulated media server: stable sessions with a little churn each interval.
struct SimServer {
    name: String,
    token: String,
    seq: u64,
    time: i64,
    interval: u64,
    generation: Vec<u32>,
    seconds: Vec<u64>,
}

impl SimServer {
    fn new(name: String, token: String, time: i64, interval: u64, viewers: usize) -> SimServer {
        SimServer {
            name,
            token,
            seq: 0,
            time,
            interval,
            generation: vec![0; viewers],
            seconds: vec![0; viewers],
        }
    }

    fn report(&mut self, viewers: usize, streams: usize) -> (String, usize) {
        self.seq += 1;
        self.time += self.interval as i64;
        let mut out = String::with_capacity(viewers * 190 + 512);
        let _ = write!(
            out,
            r#"{{"report_id":"{}-{}","time":{},"interval_s":{},"server":{{"name":"{}","software":"nginx-rtmp"}},"host":{{"cpu_pct":35.5,"ram_used_bytes":2147483648,"ram_total_bytes":8589934592,"net_in_bytes":1000000,"net_out_bytes":90000000}},"streams":["#,
            self.name, self.seq, self.time, self.interval, self.name
        );
        let per = viewers.div_ceil(streams.max(1));
        for s in 0..streams {
            if s > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                r#"{{"app":"live","stream":"{}-s{s}","protocol":"rtmp","publishing":true,"ingress_bytes":9000000,"ingress_kbps":2400,"viewers":["#,
                self.name
            );
            for v in (s * per)..((s + 1) * per).min(viewers) {
                // Sessions last 25 minutes of simulated time: each report ends and replaces
                // interval/1500 of them (2 % at the default 30 s), whatever the interval, from
                // the first report on (each viewer's turn is spread over the 25 minutes).
                let period = (1500 / self.interval).max(1);
                let turn = v as u64 * period / viewers.max(1) as u64;
                let churn = (self.seq + turn).is_multiple_of(period);
                if churn {
                    self.generation[v] += 1;
                    self.seconds[v] = 0;
                }
                self.seconds[v] += self.interval;
                if v > s * per {
                    out.push(',');
                }
                let pool = IP_POOL[v % IP_POOL.len()];
                let _ = write!(
                    out,
                    r#"{{"session":"{}-{v}-{}","ip":"{pool}{}","user_agent":"{}","protocol":"{}","bytes":{},"seconds":{},"ended":false}}"#,
                    self.name,
                    self.generation[v],
                    (v * 7 + self.generation[v] as usize) % 250 + 1,
                    USER_AGENTS[v % USER_AGENTS.len()],
                    if v % 3 == 0 { "hls" } else { "rtmp" },
                    // 1 Mbit/s per viewer.
                    125_000 * self.interval,
                    self.seconds[v]
                );
            }
            out.push_str("]}");
        }
        out.push_str("]}");
        (out, viewers)
    }
}

/// `tally_process_resident_bytes` of a `/metrics` page, in KiB.
fn resident_from_metrics(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("tally_process_resident_bytes "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|b| (b / 1024.0) as u64)
}

/// A size field of the panel's `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in KiB.
fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    crate::memory::proc_status_bytes(&pid.to_string(), field).map(|b| b / 1024)
}

/// `95 s` → `1m35s`, for the interval table.
fn format_elapsed(secs: u64) -> String {
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Where the simulated clock starts. Each report moves its server's clock on by --interval,
/// many times faster than the wall clock; start far enough back that the last report is still
/// in the past (the panel refuses reports more than 10 minutes ahead). Flat out, allow for 20
/// reports per server per second. The panel takes report times from 2000 on.
fn simulated_start(a: &IngestArgs, now: i64) -> anyhow::Result<i64> {
    let reports_per_server_s = if a.rate > 0 {
        a.rate as f64 / (a.servers.max(1) * a.viewers.max(1)) as f64 * 1.5
    } else {
        20.0
    };
    let span = a.duration as f64 * reports_per_server_s * a.interval as f64;
    let start = now - span as i64 - 3600;
    if start < 946_684_800 {
        bail!(
            "--interval {} over --duration {} s would simulate {:.0} days, reaching back before \
             2000; use a smaller --interval or a shorter --duration",
            a.interval,
            a.duration,
            span / 86_400.0
        );
    }
    Ok(start)
}

fn ingest(a: IngestArgs) -> anyhow::Result<()> {
    let start_time = simulated_start(&a, crate::now())?;
    let panel = Panel::start(&a.target)?;
    let mut servers = Vec::new();
    for i in 0..a.servers {
        let name = format!("bench-{i}");
        let token = panel.add_server(&name)?;
        servers.push(SimServer::new(
            name, token, start_time, a.interval, a.viewers,
        ));
    }
    println!(
        "ingest benchmark: {} servers x {} viewers ({} concurrent sessions), {} streams/server, {} clients, {} s{}",
        a.servers,
        a.viewers,
        a.servers * a.viewers,
        a.streams,
        a.concurrency,
        a.duration,
        if a.rate > 0 {
            format!(", target {} records/s", a.rate)
        } else {
            ", flat out".into()
        }
    );
    let servers: Vec<Arc<Mutex<SimServer>>> = servers
        .into_iter()
        .map(|s| Arc::new(Mutex::new(s)))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(Mutex::new(std::collections::BTreeMap::<u16, u64>::new()));
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    // Latencies and errors of the current reporting interval, drained by the printing loop.
    let window = Arc::new(Mutex::new((Vec::<f64>::new(), 0u64)));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let sampler = panel.pid().map(|pid| {
        let stop = stop.clone();
        let peak = peak_rss.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid, "VmRSS") {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    });
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..a.concurrency {
        let (servers, stop, accepted, errors, latencies, next, window) = (
            servers.clone(),
            stop.clone(),
            accepted.clone(),
            errors.clone(),
            latencies.clone(),
            next.clone(),
            window.clone(),
        );
        let url = format!("{}/api/v1/ingest", panel.url);
        let (viewers, streams, rate, conc) = (a.viewers, a.streams, a.rate, a.concurrency as u64);
        workers.push(std::thread::spawn(move || {
            let agent = http();
            let mut local = Vec::new();
            let t0 = Instant::now();
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize % servers.len();
                let Ok(mut srv) = servers[i].try_lock() else {
                    continue;
                };
                let (body, n) = srv.report(viewers, streams);
                let token = srv.token.clone();
                if rate > 0 {
                    // Pace this client to its share of the target rate.
                    let due = Duration::from_secs_f64(sent as f64 / (rate as f64 / conc as f64));
                    if let Some(wait) = due.checked_sub(t0.elapsed()) {
                        std::thread::sleep(wait);
                    }
                }
                let sent_at = Instant::now();
                let req = ureq::http::Request::builder()
                    .method("POST")
                    .uri(&url)
                    .header("Content-Type", "application/json")
                    .header("Authorization", format!("Bearer {token}"))
                    .body(body);
                let status = match req
                    .map_err(|e| e.to_string())
                    .and_then(|r| agent.run(r).map_err(|e| e.to_string()))
                {
                    Ok(mut resp) => {
                        let _ = resp.body_mut().read_to_vec();
                        resp.status().as_u16()
                    }
                    Err(_) => 0,
                };
                let ms = sent_at.elapsed().as_secs_f64() * 1000.0;
                sent += n as u64;
                {
                    let mut w = window.lock().unwrap_or_else(|e| e.into_inner());
                    if status == 200 {
                        w.0.push(ms);
                    } else {
                        w.1 += 1;
                    }
                }
                if status == 200 {
                    accepted.fetch_add(n as u64, Ordering::Relaxed);
                    local.push(ms);
                } else {
                    // Rejected reports are retried with the same id next time round.
                    srv.seq -= 1;
                    srv.time -= srv.interval as i64;
                    *errors
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(status)
                        .or_default() += 1;
                    if status == 429 {
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            }
            latencies
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(local);
        }));
    }
    let readers = Readers::start(
        a.readers,
        &panel,
        start_time,
        start_time + 86_400,
        stop.clone(),
    );
    let every = a.report_every.min(a.duration).max(1);
    println!(
        "  {:>7}  {:>10}  {:>8}  {:>8}  {:>6}  {:>8}",
        "elapsed", "records/s", "p50 ms", "p99 ms", "errors", "RSS MiB"
    );
    let mut last = 0u64;
    let mut last_at = 0u64;
    for s in 1..=a.duration {
        std::thread::sleep(Duration::from_secs(1));
        if s % every == 0 || s == a.duration {
            let now = accepted.load(Ordering::Relaxed);
            let (mut lat, errs) = {
                let mut w = window.lock().unwrap_or_else(|e| e.into_inner());
                (std::mem::take(&mut w.0), std::mem::take(&mut w.1))
            };
            lat.sort_by(|a, b| a.total_cmp(b));
            let rss = panel.resident_kib();
            if let Some(kib) = rss {
                peak_rss.fetch_max(kib, Ordering::Relaxed);
            }
            println!(
                "  {:>7}  {:>10}  {:>8.1}  {:>8.1}  {:>6}  {:>8}",
                format_elapsed(s),
                (now - last) / (s - last_at).max(1),
                percentile(&lat, 0.5),
                percentile(&lat, 0.99),
                errs,
                rss.map_or_else(|| "-".to_string(), |k| (k / 1024).to_string())
            );
            last = now;
            last_at = s;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    if let Some(s) = sampler {
        let _ = s.join();
    }
    let reads = readers.finish();
    let elapsed = started.elapsed().as_secs_f64();
    let total = accepted.load(Ordering::Relaxed);
    let mut lat = std::mem::take(&mut *latencies.lock().unwrap_or_else(|e| e.into_inner()));
    lat.sort_by(|a, b| a.total_cmp(b));
    // Let the panel checkpoint so the disk figure includes the rollups.
    let _ = call(
        "GET",
        &format!("{}/api/v1/stats/summary", panel.url),
        Some(&panel.token),
        None,
    );
    let hwm = panel.pid().and_then(|p| rss_kib(p, "VmHWM")).unwrap_or(0);
    println!("\nresults");
    println!(
        "  accepted viewer records   {total} in {elapsed:.1} s = {:.0} records/s",
        total as f64 / elapsed
    );
    println!("  reports acknowledged      {}", lat.len());
    println!(
        "  ack latency ms            p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0)
    );
    let errs = errors.lock().unwrap_or_else(|e| e.into_inner()).clone();
    println!(
        "  errors                    {}",
        if errs.is_empty() {
            "none".into()
        } else {
            format!("{errs:?} (status: count; 0 = connection)")
        }
    );
    reads.print(a.readers);
    if panel.pid().is_some() {
        println!(
            "  panel peak RSS            {} MiB (sampled {} MiB)",
            hwm / 1024,
            peak_rss.load(Ordering::Relaxed) / 1024
        );
    } else if peak_rss.load(Ordering::Relaxed) > 0 {
        println!(
            "  panel RSS                 largest of the lines above {} MiB (from /metrics)",
            peak_rss.load(Ordering::Relaxed) / 1024
        );
    }
    if let Some(disk) = panel.disk_bytes() {
        let per_m = if total > 0 {
            disk as f64 / (total as f64 / 1e6)
        } else {
            0.0
        };
        println!(
            "  disk                      {:.1} MiB total, {:.2} MiB per million records",
            disk as f64 / 1048576.0,
            per_m / 1048576.0
        );
    }
    Ok(())
}

/// What the overview screen asks for, as `bench ingest --readers` requests it.
const READER_QUERIES: [(&str, &str); 5] = [
    ("live", "/api/v1/live"),
    ("servers", "/api/v1/servers"),
    ("summary, a day", "/api/v1/stats/summary?{range}"),
    (
        "timeseries, a day",
        "/api/v1/stats/timeseries?metric=viewers&step=300&{range}",
    ),
    (
        "countries, a day",
        "/api/v1/stats/breakdown?dimension=country&{range}",
    ),
];

/// Threads that read the panel while the benchmark writes to it.
struct Readers {
    threads: Vec<std::thread::JoinHandle<ReaderTimes>>,
}

/// Response times per query (ms) and failed requests.
#[derive(Default)]
struct ReaderTimes {
    times: Vec<Vec<f64>>,
    errors: u64,
}

impl Readers {
    fn start(n: u64, panel: &Panel, from: i64, to: i64, stop: Arc<AtomicBool>) -> Readers {
        let range = format!("from={from}&to={to}");
        let urls: Vec<String> = READER_QUERIES
            .iter()
            .map(|(_, path)| format!("{}{}", panel.url, path.replace("{range}", &range)))
            .collect();
        let threads = (0..n)
            .map(|i| {
                let (urls, token, stop) = (urls.clone(), panel.token.clone(), stop.clone());
                std::thread::spawn(move || {
                    let agent = http();
                    let mut out = ReaderTimes {
                        times: vec![Vec::new(); urls.len()],
                        errors: 0,
                    };
                    // Spread the readers over the 2-second cycle.
                    std::thread::sleep(Duration::from_millis(2000 * i / n.max(1)));
                    while !stop.load(Ordering::Relaxed) {
                        let round = Instant::now();
                        for (q, url) in urls.iter().enumerate() {
                            let t0 = Instant::now();
                            let ok = ureq::http::Request::builder()
                                .uri(url)
                                .header("Authorization", format!("Bearer {token}"))
                                .body(())
                                .map_err(|e| e.to_string())
                                .and_then(|r| agent.run(r).map_err(|e| e.to_string()))
                                .is_ok_and(|mut resp| {
                                    let _ = resp.body_mut().read_to_vec();
                                    resp.status().as_u16() == 200
                                });
                            if ok {
                                out.times[q].push(t0.elapsed().as_secs_f64() * 1000.0);
                            } else {
                                out.errors += 1;
                            }
                        }
                        if let Some(rest) = Duration::from_secs(2).checked_sub(round.elapsed()) {
                            std::thread::sleep(rest);
                        }
                    }
                    out
                })
            })
            .collect();
        Readers { threads }
    }

    /// Waits for the readers (the caller has set `stop`) and merges what they measured.
    fn finish(self) -> ReaderTimes {
        let mut all = ReaderTimes {
            times: vec![Vec::new(); READER_QUERIES.len()],
            errors: 0,
        };
        for t in self.threads {
            if let Ok(r) = t.join() {
                for (into, from) in all.times.iter_mut().zip(r.times) {
                    into.extend(from);
                }
                all.errors += r.errors;
            }
        }
        for t in &mut all.times {
            t.sort_by(|a, b| a.total_cmp(b));
        }
        all
    }
}

impl ReaderTimes {
    fn print(&self, readers: u64) {
        if readers == 0 {
            return;
        }
        let requests: usize = self.times.iter().map(Vec::len).sum();
        println!(
            "  panel reads meanwhile     {readers} readers, {requests} answered, {} failed",
            self.errors
        );
        for ((name, _), t) in READER_QUERIES.iter().zip(&self.times) {
            println!(
                "    {name:<22} p50 {:.1}  p99 {:.1}  max {:.1} ms",
                percentile(t, 0.5),
                percentile(t, 0.99),
                t.last().copied().unwrap_or(0.0)
            );
        }
    }
}

fn query(a: QueryArgs) -> anyhow::Result<()> {
    let panel = Panel::start(&a.target)?;
    let n_servers = 20usize;
    let per_server = a.streams.div_ceil(n_servers);
    let end = crate::now() - crate::now() % 3600;
    let begin = end - a.days * 86_400;
    println!(
        "query benchmark: filling {} days x {} streams (hourly reports, 5 viewers per stream)…",
        a.days, a.streams
    );
    let fill_started = Instant::now();
    let mut tokens = Vec::new();
    for i in 0..n_servers {
        tokens.push(panel.add_server(&format!("q-{i}"))?);
    }
    let hours = (a.days * 24) as usize;
    let done = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let url = format!("{}/api/v1/ingest", panel.url);
        let done = done.clone();
        handles.push(std::thread::spawn(move || -> anyhow::Result<()> {
            let agent = http();
            for h in 0..hours {
                let t = begin + (h as i64 + 1) * 3600;
                let mut out = String::with_capacity(per_server * 5 * 150);
                let _ = write!(out, r#"{{"report_id":"q{i}-{h}","time":{t},"interval_s":3600,"streams":["#);
                for s in 0..per_server {
                    if s > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, r#"{{"app":"live","stream":"q{i}-s{s}","viewers":["#);
                    for v in 0..5 {
                        if v > 0 {
                            out.push(',');
                        }
                        let pool = IP_POOL[(s + v) % IP_POOL.len()];
                        let _ = write!(out, r#"{{"session":"{h}-{s}-{v}","ip":"{pool}{}","user_agent":"{}","protocol":"hls","bytes":1000000,"seconds":600,"ended":true}}"#, v + 1, USER_AGENTS[v]);
                    }
                    out.push_str("]}");
                }
                out.push_str("]}");
                let req = ureq::http::Request::builder()
                    .method("POST")
                    .uri(&url)
                    .header("Content-Type", "application/json")
                    .header("Authorization", format!("Bearer {token}"))
                    .body(out)?;
                let mut resp = agent.run(req)?;
                if resp.status().as_u16() != 200 {
                    bail!("fill failed: {}", resp.body_mut().read_to_string().unwrap_or_default());
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }));
    }
    let total_reports = (hours * n_servers) as u64;
    loop {
        std::thread::sleep(Duration::from_secs(2));
        let d = done.load(Ordering::Relaxed);
        eprint!("\r  {d}/{total_reports} reports");
        if handles.iter().all(|h| h.is_finished()) {
            break;
        }
    }
    eprintln!();
    for h in handles {
        h.join()
            .map_err(|_| anyhow::anyhow!("a fill thread panicked"))??;
    }
    println!("  filled in {:.1} s", fill_started.elapsed().as_secs_f64());
    let memory = |when: &str| {
        if let Some(pid) = panel.pid() {
            println!(
                "  panel RSS {when}: {} MiB, peak {} MiB",
                rss_kib(pid, "VmRSS").unwrap_or(0) / 1024,
                rss_kib(pid, "VmHWM").unwrap_or(0) / 1024
            );
        }
    };
    memory("after the fill");
    let range = format!("from={begin}&to={end}");
    let queries = [
        (
            "summary, all streams",
            format!("/api/v1/stats/summary?{range}"),
        ),
        (
            "summary, one stream",
            format!("/api/v1/stats/summary?{range}&app=live&stream=q3-s7"),
        ),
        (
            "breakdown country",
            format!("/api/v1/stats/breakdown?dimension=country&{range}"),
        ),
        (
            "breakdown asn",
            format!("/api/v1/stats/breakdown?dimension=asn&{range}"),
        ),
        (
            "breakdown city",
            format!("/api/v1/stats/breakdown?dimension=city&{range}"),
        ),
        (
            "breakdown duration",
            format!("/api/v1/stats/breakdown?dimension=duration&{range}"),
        ),
        (
            "timeseries viewers 1h",
            format!("/api/v1/stats/timeseries?metric=viewers&step=3600&{range}"),
        ),
        ("billing 5 min", format!("/api/v1/stats/billing?{range}")),
    ];
    let agent = http();
    println!(
        "\n  {:<26} {:>9} {:>9} {:>9}",
        "query (30 days)", "p50 ms", "p95 ms", "max ms"
    );
    for (name, path) in queries {
        let mut times = Vec::new();
        for _ in 0..a.repeat {
            let t0 = Instant::now();
            let req = ureq::http::Request::builder()
                .uri(format!("{}{path}", panel.url))
                .header("Authorization", format!("Bearer {}", panel.token))
                .body(())?;
            let mut resp = agent.run(req)?;
            let _ = resp.body_mut().read_to_vec();
            if resp.status().as_u16() != 200 {
                bail!("{path} answered {}", resp.status());
            }
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "  {name:<26} {:>9.2} {:>9.2} {:>9.2}",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times.last().copied().unwrap_or(0.0)
        );
    }
    memory("after the queries");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_sessions_turn_over_evenly_from_the_start() {
        for (interval, viewers) in [(1u64, 1000usize), (30, 1000), (1, 3000)] {
            let mut sim = SimServer::new("s".into(), String::new(), 0, interval, viewers);
            let period = 1500 / interval;
            let mut per_report = Vec::new();
            for _ in 0..period {
                let before: u32 = sim.generation.iter().sum();
                sim.report(viewers, 2);
                per_report.push(sim.generation.iter().sum::<u32>() - before);
            }
            // Every session is replaced once per 25 minutes, a few at every report.
            assert!(
                sim.generation.iter().all(|&g| g == 1),
                "{interval} {viewers}"
            );
            let expected = viewers as f64 / period as f64;
            let first_tenth: u32 = per_report[..period as usize / 10].iter().sum();
            assert!(
                (first_tenth as f64 - expected * (period / 10) as f64).abs() <= 1.0 + expected,
                "{interval} {viewers}: {first_tenth}"
            );
        }
    }

    #[test]
    fn resident_memory_is_read_from_a_metrics_page() {
        let page = "# HELP tally_process_resident_bytes Resident memory of the panel process.\n\
                    # TYPE tally_process_resident_bytes gauge\n\
                    tally_process_resident_bytes 268341248\n\
                    tally_memory_allocated_bytes 307446696\n";
        assert_eq!(resident_from_metrics(page), Some(262_052));
        assert_eq!(resident_from_metrics("tally_up 1\n"), None);
        assert_eq!(
            resident_from_metrics("tally_process_resident_bytes x\n"),
            None
        );
    }

    #[test]
    fn simulated_clock_must_stay_after_2000_and_intervals_are_bounded() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            a: IngestArgs,
        }
        use clap::Parser;
        let args =
            |extra: &[&str]| Cli::try_parse_from([&["bench"][..], extra].concat()).map(|c| c.a);
        let now = 1_796_000_000;
        let default = args(&[]).unwrap();
        assert_eq!(default.interval, 30);
        // 30 s flat out: 20 reports/server/s × 30 s × 30 s of wall clock, plus an hour.
        assert_eq!(simulated_start(&default, now).unwrap(), now - 18_000 - 3600);
        let long = args(&["--interval", "3600", "--duration", "4h"]).unwrap();
        let e = simulated_start(&long, now).unwrap_err().to_string();
        assert!(
            e.contains("before 2000") && e.contains("--interval 3600"),
            "{e}"
        );
        for bad in ["0", "3601", "-1", "ten"] {
            assert!(args(&["--interval", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration_s("90"), Ok(90));
        assert_eq!(parse_duration_s("90s"), Ok(90));
        assert_eq!(parse_duration_s("30m"), Ok(1800));
        assert_eq!(parse_duration_s(" 2h "), Ok(7200));
        for bad in ["", "0", "m", "1d", "-5m", "99999999999999999999h", "1.5m"] {
            assert!(parse_duration_s(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn elapsed_is_compact() {
        assert_eq!(format_elapsed(5), "5s");
        assert_eq!(format_elapsed(95), "1m35s");
        assert_eq!(format_elapsed(3600 + 60), "1h01m00s");
    }
}
