//! Operator entry points: `serve` (start-up and shutdown of the panel), `user …`, `check`.
//! Start-up errors say what failed and what to do; they are reported before anything listens.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use anyhow::{Context, bail};

use crate::adminsock::Request as AdminRequest;
use crate::cli::UserCommand;
use crate::config::{Config, ServeArgs};
use crate::geoip::{GeoIp, GeoIpConfig};
use crate::http::AppState;
use crate::ingest::dict::DimDict;
use crate::ingest::enrich::Enricher;
use crate::ingest::salt::Salts;
use crate::ingest::useragent::UserAgents;
use crate::ingest::writer::{self, WriterConfig};
use crate::store::{MetaStore, Partitions};

/// Creates the data directory with owner-and-group-only permissions.
fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750));
    }
    Ok(())
}

/// `tally serve`
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::resolve(&args)?;
    crate::init_logging(config.log_format, &config.log_level);
    let _ = rustls::crypto::ring::default_provider().install_default();
    actix_web::rt::System::new().block_on(serve_async(config))
}

async fn serve_async(config: Config) -> anyhow::Result<()> {
    let data = config.data_dir.clone();
    prepare_data_dir(&data)?;
    let meta = MetaStore::open(&data.join("meta"), config.cache_bytes)
        .with_context(|| format!("cannot open storage in {}", data.display()))?;
    let geo = Arc::new(
        GeoIp::open(&GeoIpConfig {
            city: config.geoip_city.clone(),
            asn: config.geoip_asn.clone(),
        })
        .context("GeoIP databases could not be loaded")?,
    );
    let ua = Arc::new(UserAgents::new().map_err(|e| anyhow::anyhow!("user-agent parser: {e}"))?);
    let dict = Arc::new(DimDict::from_entries(meta.dims()?));
    let salts = Arc::new(Salts::new(data.join("salts")));
    let today = crate::now().div_euclid(86_400) * 86_400;
    salts.destroy_before(today)?;
    // Many partitions can be open at once; each gets a small slice of the cache budget.
    let parts = Arc::new(Partitions::new(
        data.join("stats"),
        (config.cache_bytes / 8).max(1 << 20),
    ));
    let (writer, writer_thread) = writer::start(
        WriterConfig {
            data_dir: data.clone(),
            max_queued_viewers: config.queue_viewers,
            checkpoint_every: Duration::from_secs(5),
        },
        meta.clone(),
        parts.clone(),
        dict.clone(),
    )
    .context("cannot recover the ingest journal")?;
    let secret = meta.instance_secret("session_key")?;
    let enricher = Arc::new(Enricher::new(
        geo.clone(),
        ua,
        dict.clone(),
        salts.clone(),
        &secret,
    ));
    ensure_first_admin(&meta, &config).await?;
    let tls = crate::tls::Tls::from_mode(&config.tls, &data).context("TLS cannot be set up")?;
    if let Some(tls) = &tls {
        // Customer domains of the accounts get their certificates like the configured ones.
        if tls.mode() == "acme" {
            for domain in meta.accounts()?.iter().flat_map(|a| a.domains.iter()) {
                if let Err(e) = tls.add_domain(domain) {
                    tracing::warn!(domain = %domain, error = %e, "account domain skipped for TLS");
                }
            }
        }
    }
    let listener = TcpListener::bind(config.listen).with_context(|| {
        format!(
            "cannot listen on {} (is another program using it? choose another with --listen)",
            config.listen
        )
    })?;
    let local = listener.local_addr()?;
    let state = web::Data::new(AppState {
        config: config.clone(),
        meta: meta.clone(),
        parts: parts.clone(),
        dict,
        geo: geo.clone(),
        enricher,
        writer: writer.clone(),
        throttle: Default::default(),
        started: Instant::now(),
        metrics: Default::default(),
    });
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8);
    let server = match &tls {
        None => crate::http::serve_plain(listener, state.clone(), workers)?,
        Some(tls) => {
            let https = TcpListener::bind(config.tls_listen).with_context(|| {
                format!(
                    "cannot listen on {} for HTTPS (is another program using it? choose \
                     another with --tls-listen)",
                    config.tls_listen
                )
            })?;
            let https_local = https.local_addr()?;
            tls.start();
            tracing::info!(
                url = %format!("https://{https_local}"),
                redirect_url = %format!("http://{local}"),
                tls = %tls.mode(),
                data_dir = %data.display(),
                "tally listening"
            );
            crate::http::serve_tls(https, listener, state.clone(), tls.clone(), workers)?
        }
    };
    let handle = server.handle();
    let scheduler = crate::jobs::start(state.clone(), salts).await?;
    let admin_socket = crate::adminsock::serve(&data, meta.clone(), geo.clone())
        .await
        .with_context(|| format!("cannot create the admin socket in {}", data.display()))?;
    if tls.is_none() {
        tracing::info!(url = %format!("http://{local}"), data_dir = %data.display(), "tally listening");
    }
    let server_task = actix_web::rt::spawn(server);
    wait_for_signal().await;
    tracing::info!("shutting down: finishing requests and writing a checkpoint");
    handle.stop(true).await;
    let _ = server_task.await;
    admin_socket.abort();
    let _ = std::fs::remove_file(crate::adminsock::socket_path(&data));
    if let Some(mut s) = scheduler {
        let _ = s.shutdown().await;
    }
    writer.shutdown().await.context("final checkpoint failed")?;
    let _ = writer_thread.join();
    meta.flush()?;
    parts.flush_all()?;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn ensure_first_admin(meta: &MetaStore, config: &Config) -> anyhow::Result<()> {
    if meta.has_users()? {
        return Ok(());
    }
    let email = std::env::var("TALLY_ADMIN_EMAIL")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let password = std::env::var("TALLY_ADMIN_PASSWORD")
        .ok()
        .filter(|s| !s.is_empty());
    match (email, password) {
        (Some(email), Some(password)) => {
            let email = crate::http::auth::normalize_email(&email)
                .map_err(|m| anyhow::anyhow!("TALLY_ADMIN_EMAIL: {m}"))?;
            crate::auth::check_password_policy(&password)
                .map_err(|m| anyhow::anyhow!("TALLY_ADMIN_PASSWORD: {m}"))?;
            let hash = actix_web::web::block(move || crate::auth::hash_password(&password))
                .await?
                .map_err(|e| anyhow::anyhow!(e))?;
            crate::create_first_admin(meta, &email, hash, "Default")?;
            tracing::info!(email = %email, "first admin created from TALLY_ADMIN_EMAIL");
        }
        _ => {
            let token = crate::auth::new_token("setup_");
            meta.set_setting("setup_token_hash", &crate::auth::token_hash(&token))?;
            meta.flush()?;
            // The link is the only way in on a fresh instance, so it must reach the operator;
            // it is single-use and dies with the first account.
            tracing::warn!(
                "no users yet: open {}/setup?token={token} to create the first admin (one-time link), \
                 or restart with TALLY_ADMIN_EMAIL and TALLY_ADMIN_PASSWORD set",
                config.base_url()
            );
        }
    }
    Ok(())
}

fn open_meta_offline(data_dir: &Path) -> anyhow::Result<MetaStore> {
    if !data_dir.join("meta").exists() {
        bail!(
            "{} holds no Tally data; pass --data-dir (or TALLY_DATA_DIR) of your instance",
            data_dir.display()
        );
    }
    MetaStore::open(&data_dir.join("meta"), 8 << 20).map_err(|e| anyhow::anyhow!("{e}"))
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let pw = line.trim_end_matches(['\n', '\r']).to_string();
        crate::auth::check_password_policy(&pw).map_err(|m| anyhow::anyhow!(m))?;
        Ok((pw, false))
    } else {
        Ok((crate::auth::generate_password(), true))
    }
}

/// Runs a user command on the data directory directly, or, while `tally serve` holds it,
/// through the running server's admin socket.
fn user_request(data_dir: &Path, req: AdminRequest) -> anyhow::Result<String> {
    let resp = match open_meta_offline(data_dir) {
        Ok(meta) => crate::adminsock::execute(&meta, None, req),
        Err(e)
            if data_dir.join("meta").exists()
                && crate::adminsock::socket_path(data_dir).exists() =>
        {
            crate::adminsock::call(data_dir, &req).map_err(|se| {
                anyhow::anyhow!(
                    "{e}; the running server's admin socket did not answer either: {se}"
                )
            })?
        }
        Err(e) => return Err(e),
    };
    if resp.ok {
        Ok(resp.output)
    } else {
        bail!("{}", resp.error.unwrap_or_else(|| "failed".into()))
    }
}

/// `tally user …`
pub fn user(cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::List { data_dir } => {
            print!("{}", user_request(&data_dir, AdminRequest::List)?);
            Ok(())
        }
        UserCommand::Add {
            email,
            role,
            password_stdin,
            operator,
            account,
            data_dir,
        } => {
            let (password, generated) = read_password(password_stdin)?;
            let req = AdminRequest::Add {
                email,
                role,
                operator,
                password: password.clone(),
                account,
            };
            print!("{}", user_request(&data_dir, req)?);
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        UserCommand::ResetPassword {
            email,
            password_stdin,
            data_dir,
        } => {
            let (password, generated) = read_password(password_stdin)?;
            print!(
                "{}",
                user_request(
                    &data_dir,
                    AdminRequest::ResetPassword {
                        email,
                        password: password.clone()
                    }
                )?
            );
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
    }
}

/// `tally check`: exit 0 when everything looks healthy.
pub fn check(args: ServeArgs) -> anyhow::Result<()> {
    let mut problems = 0;
    let mut report = |ok: bool, what: &str, detail: String| {
        println!("{} {what}: {detail}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            problems += 1;
        }
    };
    let config = match Config::resolve(&args) {
        Ok(c) => {
            report(true, "configuration", "valid".into());
            c
        }
        Err(e) => {
            report(false, "configuration", e.to_string());
            bail!("1 problem found");
        }
    };
    let data = &config.data_dir;
    match std::fs::metadata(data) {
        Ok(m) if m.is_dir() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = m.permissions().mode() & 0o777;
                report(
                    mode & 0o007 == 0,
                    "data directory permissions",
                    format!("{} is {mode:o} (want no access for others)", data.display()),
                );
            }
        }
        Ok(_) => report(
            false,
            "data directory",
            format!("{} is not a directory", data.display()),
        ),
        Err(e) => report(false, "data directory", format!("{}: {e}", data.display())),
    }
    if data.join("meta").exists() {
        match MetaStore::open(&data.join("meta"), 8 << 20) {
            Ok(meta) => {
                report(
                    true,
                    "storage",
                    format!(
                        "schema {} opens; {} users",
                        crate::store::migrations::CURRENT,
                        meta.users().map(|u| u.len()).unwrap_or(0)
                    ),
                );
                let parts = Partitions::new(data.join("stats"), 8 << 20);
                let mut bad = Vec::new();
                let mut n = 0;
                for account in parts.accounts() {
                    for class in crate::store::partitions::Class::ALL {
                        for pid in parts.list(account, class) {
                            n += 1;
                            if let Err(e) = parts.get(&pid, false) {
                                bad.push(format!("{}: {e}", parts.dir(&pid).display()));
                            }
                        }
                    }
                }
                report(
                    bad.is_empty(),
                    "rollup partitions",
                    if bad.is_empty() {
                        format!("{n} open cleanly")
                    } else {
                        bad.join("; ")
                    },
                );
            }
            Err(crate::store::StoreError::Locked(_)) => report(
                true,
                "storage",
                "in use by a running tally serve (not inspected)".into(),
            ),
            Err(e) => report(false, "storage", e.to_string()),
        }
    } else {
        report(
            true,
            "storage",
            "not created yet (first start creates it)".into(),
        );
    }
    match GeoIp::open(&GeoIpConfig {
        city: config.geoip_city.clone(),
        asn: config.geoip_asn.clone(),
    }) {
        Ok(g) => {
            for src in g.about().sources {
                let built = jiff::Timestamp::from_second(src.build_epoch as i64)
                    .map(|t| t.strftime("%Y-%m-%d").to_string())
                    .unwrap_or_else(|_| "unknown".into());
                report(
                    true,
                    &format!("GeoIP {}", src.kind.as_str()),
                    format!("{} ({}, built {built})", src.source, src.database_type),
                );
            }
        }
        Err(e) => report(false, "GeoIP", e.to_string()),
    }
    for (what, path) in [
        ("GeoIP City", &config.geoip_city),
        ("GeoIP ASN", &config.geoip_asn),
    ] {
        if let Some(path) = path {
            match describe_mmdb(path, crate::now()) {
                Ok(detail) => report(true, what, detail),
                Err(detail) => report(false, what, detail),
            }
        }
    }
    let probe = if data.exists() {
        data.as_path()
    } else {
        Path::new(".")
    };
    match fs2::available_space(probe) {
        Ok(free) => report(
            free > 256 << 20,
            "free disk",
            format!("{} MiB available", free >> 20),
        ),
        Err(e) => report(false, "free disk", e.to_string()),
    }
    let now = crate::now();
    report(
        now > 1_735_689_600,
        "clock",
        format!("{}", jiff::Timestamp::now()),
    );
    for item in crate::tls::check(&config.tls, data, now) {
        report(item.ok, &item.what, item.detail);
    }
    if problems > 0 {
        bail!("{problems} problem(s) found");
    }
    Ok(())
}

/// Type, build date and age of a MaxMind DB file, or why it cannot be read.
fn describe_mmdb(path: &Path, now: i64) -> Result<String, String> {
    let reader =
        maxminddb::Reader::open_readfile(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let meta = reader.metadata();
    let built = i64::try_from(meta.build_epoch).unwrap_or(i64::MAX);
    let date = jiff::Timestamp::from_second(built)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let age_days = (now - built).div_euclid(86_400);
    let advice = if age_days > 60 {
        "; consider updating it"
    } else {
        ""
    };
    Ok(format!(
        "{} is {}, built {date} ({age_days} days ago{advice})",
        path.display(),
        meta.database_type
    ))
}
