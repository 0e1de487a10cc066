//! Operator entry points: `serve` (start-up and shutdown of the panel), `user …`, `check`,
//! `retention run`, `backup`, `restore`.
//! Start-up errors say what failed and what to do; they are reported before anything listens.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use anyhow::{Context, bail};

use crate::adminsock::Request as AdminRequest;
use crate::cli::{BackupArgs, RestoreArgs, RetentionCommand, UserCommand};
use crate::config::{Config, ServeArgs};
use crate::geoip::{GeoIp, GeoIpConfig};
use crate::http::AppState;
use crate::ingest::dict::DimDict;
use crate::ingest::enrich::Enricher;
use crate::ingest::useragent::UserAgents;
use crate::ingest::writer::{self, WriterConfig};
use crate::lifecycle::{Lifecycle, backup as backups, retention as retentions};
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
    let salts = Arc::new(crate::lifecycle::salts_for(&data, &meta));
    salts.destroy_closed(crate::now())?;
    crate::lifecycle::backup::remove_stale_staging(&data);
    // Many partitions can be open at once; each gets a small slice of the cache budget.
    let parts = Arc::new(Partitions::new(
        data.join("stats"),
        (config.cache_bytes / 8).max(1 << 20),
    ));
    parts
        .recover()
        .context("cannot finish an interrupted compaction")?;
    let (writer, writer_thread) = writer::start(
        WriterConfig {
            data_dir: data.clone(),
            max_queued_viewers: config.queue_viewers,
            checkpoint_every: Duration::from_secs(5),
            reserve_bytes: writer::DISK_RESERVE_BYTES,
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
    let hooks = Arc::new(crate::ingest::hooks::Hooks::new(enricher.clone()));
    let hooks_file = data.join("state").join("hooks.bin");
    let restored = hooks
        .load(&hooks_file, |id| match meta.server(id) {
            Ok(Some(s)) => meta
                .account(s.account_id)
                .ok()
                .flatten()
                .is_some_and(|a| !a.processing_restricted),
            _ => false,
        })
        .context("cannot read the saved hook sessions")?;
    if restored > 0 {
        tracing::info!(sessions = restored, "hook sessions restored");
    }
    ensure_first_admin(&meta, &config).await?;
    crate::alerts::channels::configure_smtp(config.smtp.clone());
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
        lifecycle: Arc::new(Lifecycle::new(
            data.clone(),
            meta.clone(),
            parts.clone(),
            salts.clone(),
        )),
        hooks: hooks.clone(),
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
    let (hooks_stop, hooks_stopped) = tokio::sync::watch::channel(false);
    let hooks_task = actix_web::rt::spawn(crate::ingest::hooks::run_flusher(
        hooks.clone(),
        writer.clone(),
        meta.clone(),
        hooks_stopped,
    ));
    wait_for_signal().await;
    tracing::info!("shutting down: finishing requests and writing a checkpoint");
    handle.stop(true).await;
    let _ = server_task.await;
    // Hook state reaches the writer once more before its final checkpoint.
    let _ = hooks_stop.send(true);
    let _ = hooks_task.await;
    match hooks.save(&hooks_file) {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "hook sessions saved for the restart"),
        Err(e) => tracing::error!(error = %e, "hook sessions could not be saved"),
    }
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
                match crate::ingest::writer::inspect_snapshot(data) {
                    Ok(Some((checkpoint, sessions))) => report(
                        true,
                        "ingest state",
                        format!("checkpoint {checkpoint}, {sessions} sessions"),
                    ),
                    Ok(None) => report(true, "ingest state", "no checkpoint yet".into()),
                    Err(e) => report(false, "ingest state", e.to_string()),
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
    match (fs2::available_space(probe), fs2::total_space(probe)) {
        (Ok(free), Ok(total)) => report(
            disk_space_ok(free, total),
            "free disk",
            format!("{} MiB available of {} MiB", free >> 20, total >> 20),
        ),
        (Err(e), _) | (_, Err(e)) => report(false, "free disk", e.to_string()),
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

fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(None)
        .build()
        .new_agent()
}

/// The error message of a JSON API error response, or the body.
fn api_error_text(status: u16, body: &str) -> String {
    let msg = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.chars().take(300).collect());
    format!("the panel answered {status}: {msg}")
}

/// `tally retention run`
pub fn retention(cmd: RetentionCommand) -> anyhow::Result<()> {
    let RetentionCommand::Run {
        dry_run,
        data_dir,
        url,
        token,
    } = cmd;
    let report: serde_json::Value = match url {
        Some(url) => {
            let token = token
                .context("--token (an operator's admin-scoped API token) is needed with --url")?;
            let endpoint = format!(
                "{}/api/v1/admin/retention/run?dry_run={dry_run}",
                url.trim_end_matches('/')
            );
            let mut resp = http_agent()
                .post(&endpoint)
                .header("Authorization", format!("Bearer {token}"))
                .send_empty()
                .with_context(|| format!("cannot reach {url}"))?;
            let status = resp.status().as_u16();
            let body = resp
                .body_mut()
                .read_to_string()
                .context("cannot read the panel's answer")?;
            if status != 200 {
                bail!(api_error_text(status, &body));
            }
            serde_json::from_str(&body).context("the panel's answer is not JSON")?
        }
        None => {
            if !data_dir.join("meta").exists() {
                bail!(
                    "{} holds no Tally data; pass --data-dir (or TALLY_DATA_DIR) of your instance",
                    data_dir.display()
                );
            }
            let meta = match MetaStore::open(&data_dir.join("meta"), 8 << 20) {
                Err(crate::store::StoreError::Locked(_)) => bail!(
                    "{} is in use by a running tally; run retention through it instead:\n  tally retention run --url http://ADDRESS --token TOKEN",
                    data_dir.display()
                ),
                other => other?,
            };
            let parts = Arc::new(Partitions::new(data_dir.join("stats"), 8 << 20));
            parts.recover()?;
            let salts = Arc::new(crate::lifecycle::salts_for(&data_dir, &meta));
            let lc = Lifecycle::new(data_dir.clone(), meta.clone(), parts.clone(), salts);
            let report = retentions::run(&lc, crate::now(), dry_run);
            meta.flush()?;
            parts.flush_all()?;
            serde_json::to_value(&report)?
        }
    };
    print_retention(&report);
    let errors = report["errors"].as_array().map_or(0, Vec::len);
    if errors > 0 {
        bail!("{errors} problem(s); see above");
    }
    Ok(())
}

fn print_retention(r: &serde_json::Value) {
    let dry = r["dry_run"].as_bool().unwrap_or(false);
    println!(
        "{}",
        if dry {
            "dry run: nothing was deleted; this is what would go"
        } else {
            "retention run finished"
        }
    );
    println!(
        "{:<16} {:>10} {:>10} {:>12} {:>14}",
        "class", "dropped", "compacted", "records", "bytes"
    );
    for c in r["classes"].as_array().into_iter().flatten() {
        println!(
            "{:<16} {:>10} {:>10} {:>12} {:>14}",
            c["class"].as_str().unwrap_or("?"),
            c["partitions_dropped"],
            c["partitions_compacted"],
            c["records"],
            c["bytes"]
        );
    }
    println!(
        "total: {} partitions deleted, {} compacted, {} records, {} bytes; {} orphaned accounts, {} salts destroyed, {} meta records{}",
        r["partitions_dropped"],
        r["partitions_compacted"],
        r["records"],
        r["bytes"],
        r["orphaned_accounts"],
        r["salts_destroyed"],
        r["meta_records"],
        if r["meta_compacted"].as_bool() == Some(true) {
            ", meta database compacted"
        } else {
            ""
        }
    );
    for e in r["errors"].as_array().into_iter().flatten() {
        eprintln!("problem: {}", e.as_str().unwrap_or(""));
    }
}

/// `tally backup`
pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    use sha2::Digest;
    let url = format!("{}/api/v1/admin/backup", args.url.trim_end_matches('/'));
    let mut resp = http_agent()
        .get(&url)
        .header("Authorization", format!("Bearer {}", args.token))
        .call()
        .with_context(|| format!("cannot reach {}", args.url))?;
    let status = resp.status().as_u16();
    if status != 200 {
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        bail!(api_error_text(status, &body));
    }
    let mut partial = args.out.clone().into_os_string();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let mut hash = sha2::Sha256::new();
    let bytes = {
        let mut file = std::fs::File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let mut reader = resp.body_mut().as_reader();
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        loop {
            use std::io::{Read, Write};
            let n = reader.read(&mut buf).context("the download broke off")?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            file.write_all(&buf[..n])
                .with_context(|| format!("cannot write {}", partial.display()))?;
            total += n as u64;
        }
        file.sync_all()?;
        total
    };
    let manifest = match std::fs::File::open(&partial)
        .map_err(anyhow::Error::from)
        .and_then(|f| Ok(backups::verify(std::io::BufReader::new(f))?))
    {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            bail!("the downloaded backup is not valid ({e}); nothing was written");
        }
    };
    std::fs::rename(&partial, &args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let digest = hex::encode(hash.finalize());
    let name = args
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut sum = args.out.clone().into_os_string();
    sum.push(".sha256");
    std::fs::write(&sum, format!("{digest}  {name}\n")).context("cannot write the .sha256 file")?;
    println!(
        "backup written to {}: {} files, {bytes} bytes, sha256 {digest} (also in {})",
        args.out.display(),
        manifest.files.len(),
        std::path::Path::new(&sum).display()
    );
    Ok(())
}

/// `tally restore FILE --data-dir DIR`
pub fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let m = backups::restore(&args.file, &args.data_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "restored {} files (snapshot of {}, made by Tally {}) into {}\nstart the panel on it with: tally serve --data-dir {}",
        m.files.len(),
        jiff::Timestamp::from_second(m.created_at)
            .map(|t| t.to_string())
            .unwrap_or_default(),
        m.tally_version,
        args.data_dir.display(),
        args.data_dir.display()
    );
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

/// Whether `free` of `total` bytes leaves comfortable room: a problem when ingest would soon
/// stop (twice the writer's reserve), or when less than 256 MiB and less than a tenth of the
/// filesystem is left (so a small, mostly empty filesystem is fine).
fn disk_space_ok(free: u64, total: u64) -> bool {
    free >= 2 * writer::DISK_RESERVE_BYTES && (free >= 256 << 20 || free >= total / 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_disk_is_judged_against_the_reserve_and_the_filesystem_size() {
        const MIB: u64 = 1 << 20;
        assert!(
            disk_space_ok(59 * MIB, 64 * MIB),
            "a small, mostly empty filesystem"
        );
        assert!(!disk_space_ok(20 * MIB, 64 * MIB), "ingest would stop soon");
        assert!(
            !disk_space_ok(200 * MIB, 100_000 * MIB),
            "nearly full large disk"
        );
        assert!(disk_space_ok(300 * MIB, 100_000 * MIB));
    }
}
