//! install.sh under `--root` (tree, modes, idempotence, configuration and data kept, uninstall
//! and purge), the example configuration and unit it writes, and `tally check` on the result
//! (GeoIP build dates).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;

use crate::support::{bin, fixtures};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn install(args: &[&str]) -> (bool, String) {
    let out = Command::new("sh")
        .arg(repo().join("install.sh"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn install_script_passes_shellcheck() {
    if Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("shellcheck is not installed; running `apt-get install -y shellcheck`");
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-q", "shellcheck"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
    }
    let out = match Command::new("shellcheck")
        .args(["-s", "sh"])
        .arg(repo().join("install.sh"))
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("SKIPPED: shellcheck could not be installed ({e})");
            return;
        }
    };
    assert!(
        out.status.success(),
        "shellcheck -s sh install.sh:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn install_into_root_twice_keeps_config_and_data_then_uninstalls_and_purges() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let (city, asn) = (
        dir.path().join("GeoLite2-City.mmdb"),
        dir.path().join("GeoLite2-ASN.mmdb"),
    );
    // Real (test) databases: `tally check` opens them exactly as `tally serve` would.
    std::fs::copy(fixtures().join("geoip/GeoLite2-City-Test.mmdb"), &city).unwrap();
    std::fs::copy(fixtures().join("geoip/GeoLite2-ASN-Test.mmdb"), &asn).unwrap();
    let binary = bin().display().to_string();
    let r = root.display().to_string();
    let (ok, out) = install(&[
        "--root",
        &r,
        "--binary",
        &binary,
        "--domain",
        "panel.example.com",
        "--domain",
        "www.example.com",
        "--acme-email",
        "ops@example.com",
        "--geoip-city",
        &city.display().to_string(),
        "--geoip-asn",
        &asn.display().to_string(),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("panel: https://panel.example.com"), "{out}");
    assert!(out.contains("setup link"), "says how to log in: {out}");

    let path = |p: &str| root.join(p);
    for (p, mode) in [
        ("usr/local/bin/tally", 0o755),
        ("etc/tally", 0o750),
        ("etc/tally/tally.toml", 0o640),
        ("var/lib/tally", 0o750),
        ("var/lib/tally/geoip", 0o750),
        ("var/lib/tally/geoip/GeoLite2-City.mmdb", 0o640),
        ("var/lib/tally/geoip/GeoLite2-ASN.mmdb", 0o640),
        ("etc/systemd/system/tally.service", 0o644),
    ] {
        assert_eq!(mode_of(&path(p)), mode, "{p}");
    }
    assert_eq!(
        std::fs::read(path("usr/local/bin/tally")).unwrap(),
        std::fs::read(bin()).unwrap()
    );
    let unit = std::fs::read_to_string(path("etc/systemd/system/tally.service")).unwrap();
    assert_eq!(
        unit,
        std::fs::read_to_string(repo().join("assets/systemd/tally.service")).unwrap()
    );
    let config = std::fs::read_to_string(path("etc/tally/tally.toml")).unwrap();
    assert!(
        config.contains("\ndomain = [\"panel.example.com\", \"www.example.com\"]\n"),
        "{config}"
    );
    assert!(
        config.contains("\nacme_email = \"ops@example.com\"\n"),
        "{config}"
    );
    assert!(
        config.contains("\ngeoip_city = \"/var/lib/tally/geoip/GeoLite2-City.mmdb\"\n"),
        "{config}"
    );
    let file = tally::config::parse_file(&config).unwrap();
    let resolved = tally::config::Config::merge(&Default::default(), file).unwrap();
    assert_eq!(resolved.data_dir, PathBuf::from("/var/lib/tally"));
    assert!(
        matches!(resolved.tls, tally::config::TlsMode::Acme { ref domains, .. } if domains.len() == 2)
    );

    // `tally check` on the installed tree: the GeoIP files with their build dates.
    let check = Command::new(bin())
        .arg("check")
        .arg("--config")
        .arg(path("etc/tally/tally.toml"))
        .arg("--data-dir")
        .arg(path("var/lib/tally"))
        .arg("--geoip-city")
        .arg(path("var/lib/tally/geoip/GeoLite2-City.mmdb"))
        .arg("--geoip-asn")
        .arg(path("var/lib/tally/geoip/GeoLite2-ASN.mmdb"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        text.contains("ok   GeoIP City: ") && text.contains("is GeoLite2-City, built "),
        "{text}"
    );
    assert!(
        text.contains("ok   GeoIP ASN: ") && text.contains("is GeoLite2-ASN, built "),
        "{text}"
    );
    assert!(
        text.contains("ok   TLS panel.example.com: no certificate cached yet"),
        "{text}"
    );

    // The operator edits the config and the panel writes data; a second run (an upgrade) keeps both.
    let edited = config.replace("# cache_mb = 16", "cache_mb = 64");
    std::fs::write(path("etc/tally/tally.toml"), &edited).unwrap();
    std::fs::create_dir_all(path("var/lib/tally/meta")).unwrap();
    std::fs::write(path("var/lib/tally/meta/db"), b"data").unwrap();
    let (ok, out) = install(&[
        "--root",
        &r,
        "--binary",
        &binary,
        "--domain",
        "other.example.com",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("kept existing configuration") && out.contains("were not written"),
        "{out}"
    );
    assert!(out.contains("is already tally "), "{out}");
    assert_eq!(
        std::fs::read_to_string(path("etc/tally/tally.toml")).unwrap(),
        edited
    );
    assert_eq!(
        std::fs::read(path("var/lib/tally/meta/db")).unwrap(),
        b"data"
    );
    assert_eq!(mode_of(&path("var/lib/tally")), 0o750);
    assert!(path("var/lib/tally/geoip/GeoLite2-City.mmdb").exists());
    let leftovers: Vec<_> = walk(&root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "new"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Uninstall keeps configuration and data; purge removes them.
    let (ok, out) = install(&["--uninstall", "--root", &r]);
    assert!(ok, "{out}");
    assert!(
        !path("usr/local/bin/tally").exists() && !path("etc/systemd/system/tally.service").exists()
    );
    assert!(
        path("etc/tally/tally.toml").exists() && path("var/lib/tally/meta/db").exists(),
        "{out}"
    );
    let (ok, out) = install(&["--uninstall", "--purge", "--root", &r]);
    assert!(ok, "{out}");
    assert!(
        !path("etc/tally").exists() && !path("var/lib/tally").exists(),
        "{out}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn installer_writes_the_example_config_verbatim_without_options() {
    let root = tempfile::tempdir().unwrap();
    let (ok, out) = install(&[
        "--root",
        &root.path().display().to_string(),
        "--binary",
        &bin().display().to_string(),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("panel: http://127.0.0.1:8080"), "{out}");
    let written = std::fs::read_to_string(root.path().join("etc/tally/tally.toml")).unwrap();
    assert_eq!(
        written,
        std::fs::read_to_string(repo().join("assets/tally.toml")).unwrap()
    );
}

#[test]
fn example_config_names_every_serve_option_and_every_key_parses() {
    let text = std::fs::read_to_string(repo().join("assets/tally.toml")).unwrap();
    tally::config::parse_file(&text).unwrap();
    // With every example line switched on, the file still parses: no key is misspelt.
    let all_on: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with('[')
                    || rest.split_once(" = ").is_some_and(|(k, _)| {
                        k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    }) =>
            {
                rest
            }
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        all_on.contains("\ntls_cert = ") && all_on.contains("\n[agent]"),
        "{all_on}"
    );
    if let Err(e) = tally::config::parse_file(&all_on) {
        panic!("{e}\n{all_on}");
    }
    // Every flag of `tally serve` (except --config itself) has its key in the file.
    let cli = tally::cli::Cli::command();
    let serve = cli.find_subcommand("serve").unwrap();
    let keys: Vec<String> = serve
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !["config", "help", "version"].contains(l))
        .map(|l| l.replace('-', "_"))
        .collect();
    assert!(keys.len() > 15, "{keys:?}");
    for key in keys {
        assert!(
            all_on.lines().any(|l| l.starts_with(&format!("{key} = "))),
            "assets/tally.toml (and install.sh) lack `{key}`"
        );
    }
}

#[test]
fn systemd_unit_is_hardened() {
    let unit = std::fs::read_to_string(repo().join("assets/systemd/tally.service")).unwrap();
    for line in [
        "User=tally",
        "ExecStart=/usr/local/bin/tally serve --config /etc/tally/tally.toml",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/tally",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "SystemCallFilter=@system-service",
        "MemoryDenyWriteExecute=yes",
    ] {
        assert!(unit.lines().any(|l| l == line), "missing {line}");
    }
    // systemd's own rating, where systemd-analyze exists: below 2 is "OK" (10 is unprotected).
    let root = tempfile::tempdir().unwrap();
    let (ok, out) = install(&[
        "--root",
        &root.path().display().to_string(),
        "--binary",
        &bin().display().to_string(),
    ]);
    assert!(ok, "{out}");
    let unit_path = root.path().join("etc/systemd/system/tally.service");
    let Ok(out) = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(format!("--root={}", root.path().display()))
        .arg(&unit_path)
        .output()
    else {
        eprintln!("systemd-analyze not available; exposure rating not checked");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(score) = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for tally.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|s| s.parse::<f64>().ok())
    else {
        eprintln!(
            "systemd-analyze security --offline is not supported here; exposure not checked\n{text}"
        );
        return;
    };
    assert!(score < 2.0, "exposure {score}:\n{text}");
}

#[test]
fn installer_refuses_bad_input_before_touching_anything() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path().join("r").display().to_string();
    let binary = bin().display().to_string();
    for (args, message) in [
        (
            vec!["--root", &r, "--binary", "/nonexistent/tally"],
            "no such file",
        ),
        (
            vec!["--root", &r, "--binary", "/bin/true"],
            "not a tally binary",
        ),
        (
            vec!["--root", &r, "--binary", &binary, "--domain", "a b"],
            "not a domain name",
        ),
        (
            vec!["--root", &r, "--binary", &binary, "--acme-email", "nobody"],
            "not an e-mail address",
        ),
        (
            vec!["--root", &r, "--purge"],
            "--purge only goes with --uninstall",
        ),
        (vec!["--root", &r, "--frobnicate"], "unknown option"),
        (vec!["--root"], "needs a value"),
    ] {
        let (ok, out) = install(&args);
        assert!(!ok, "{args:?}: {out}");
        assert!(out.contains(message), "{args:?}: {out}");
    }
    assert!(!root.path().join("r/etc").exists());
}
