//! Fuzz targets with a committed corpus: the ingest decoder (gzip, JSON, validation) and the
//! config file (TOML, merge, validation). Each corpus file is replayed against its expected
//! outcome (`tests/corpus/*/EXPECTED`), then proptest mutates the corpus: bytes flipped, cut and
//! inserted, JSON leaves replaced by hostile values, gzip streams corrupted. Never a panic, and
//! every rejection of a report is a 4xx that names the field when the document was JSON.
//!
//! The case counts are bounded so the whole file runs in seconds; `PROPTEST_CASES=20000 cargo
//! test --test it fuzz` digs deeper. Failures are saved in `tests/corpus/proptest-regressions.txt`
//! (committed) and replayed first on every run.

use std::io::Write;
use std::path::{Path, PathBuf};

use actix_web::ResponseError;
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, FileFailurePersistence};
use serde_json::Value;
use tally::config::{Config, ServeArgs, parse_file};
use tally::error::ApiError;
use tally::http::ingest::decode_report;

/// Far above any corpus file, as in a default configuration (16 MiB).
const LIMIT: usize = 16 << 20;
/// "Now" for the decoder: after every corpus timestamp.
const NOW: i64 = 1_795_700_000;

fn corpus(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(kind)
}

/// `(file, expectation)` pairs of a corpus directory.
fn expectations(kind: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(corpus(kind).join("EXPECTED")).unwrap();
    let out: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, exp) = l.split_once(' ').unwrap();
            (name.to_string(), exp.trim().to_string())
        })
        .collect();
    // Every file is listed, so a new seed cannot be forgotten.
    for e in std::fs::read_dir(corpus(kind)).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            name == "EXPECTED" || out.iter().any(|(n, _)| *n == name),
            "{kind}/{name} has no line in EXPECTED"
        );
    }
    out
}

fn encoding_of(name: &str) -> &'static str {
    if name.ends_with(".gz") {
        "gzip"
    } else {
        "identity"
    }
}

/// Decodes, and checks that a rejection is a well-formed 4xx. Returns the rejection's field.
fn decode_checked(body: Vec<u8>, encoding: &str) -> Result<(), (u16, Option<String>)> {
    match decode_report(body, encoding, LIMIT, NOW) {
        Ok(report) => {
            assert!(report.validate().is_ok());
            Ok(())
        }
        Err(e) => {
            let status = e.status_code().as_u16();
            assert!(
                (400..500).contains(&status),
                "a rejection must be a 4xx, got {status}: {e}"
            );
            assert!(!e.to_string().is_empty());
            let field = match &e {
                ApiError::BadRequest { field, .. } => field.clone(),
                _ => None,
            };
            if let ApiError::BadRequest {
                code: "invalid_field",
                ..
            } = &e
            {
                assert!(field.is_some(), "invalid_field without a field: {e}");
            }
            Err((status, field))
        }
    }
}

#[test]
fn ingest_corpus_gives_the_expected_outcome() {
    for (name, exp) in expectations("ingest") {
        let body = std::fs::read(corpus("ingest").join(&name)).unwrap();
        let got = decode_checked(body, encoding_of(&name));
        if exp == "ok" {
            assert!(got.is_ok(), "{name}: expected ok, got {got:?}");
            continue;
        }
        let (status, field) = exp.split_once(' ').unwrap();
        let Err((got_status, got_field)) = got else {
            panic!("{name}: expected {exp}, was accepted");
        };
        assert_eq!(got_status.to_string(), status, "{name}");
        if field != "-" {
            let got_field = got_field.unwrap_or_else(|| panic!("{name}: no field named"));
            assert!(
                got_field.starts_with(field),
                "{name}: expected field {field}, got {got_field}"
            );
        }
    }
}

#[test]
fn gzip_bomb_stops_at_the_limit() {
    // 64 MiB of zeros compress to about 64 KiB; the decoder must stop at 1 MiB.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    let err = decode_report(bomb, "gzip", 1 << 20, NOW).unwrap_err();
    assert_eq!(err.status_code().as_u16(), 413, "{err}");
    // Concatenated members are followed too (MultiGzDecoder), and are bounded the same way.
    let member = {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b' '; 600 << 10]).unwrap();
        enc.finish().unwrap()
    };
    let two = [member.clone(), member].concat();
    let err = decode_report(two, "gzip", 1 << 20, NOW).unwrap_err();
    assert_eq!(err.status_code().as_u16(), 413, "{err}");
    let err = decode_report(b"{}".to_vec(), "br", LIMIT, NOW).unwrap_err();
    assert_eq!(err.status_code().as_u16(), 415, "{err}");
}

/// Valid corpus reports, parsed, as seeds for value mutations.
fn valid_reports() -> Vec<Value> {
    expectations("ingest")
        .into_iter()
        .filter(|(n, e)| e == "ok" && n.ends_with(".json"))
        .map(|(n, _)| serde_json::from_slice(&std::fs::read(corpus("ingest").join(n)).unwrap()))
        .map(Result::unwrap)
        .collect()
}

/// Every corpus file as bytes, as seeds for byte mutations.
fn all_seeds() -> Vec<(String, Vec<u8>)> {
    expectations("ingest")
        .into_iter()
        .map(|(n, _)| {
            let b = std::fs::read(corpus("ingest").join(&n)).unwrap();
            (n, b)
        })
        .collect()
}

/// Paths (object keys and array indexes) to every leaf of a JSON value.
fn leaves(v: &Value, path: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                path.push(Value::String(k.clone()));
                leaves(child, path, out);
                path.pop();
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, child) in a.iter().enumerate() {
                path.push(Value::from(i));
                leaves(child, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(v, |v, p| match p {
        Value::String(k) => &mut v[k.as_str()],
        Value::Number(n) => &mut v[n.as_u64().unwrap() as usize],
        _ => unreachable!(),
    })
}

/// Values an attacker or a buggy agent might send in any place.
fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(0)),
        Just(serde_json::json!(1e300)),
        "\\PC{0,40}".prop_map(Value::from),
        Just(Value::String("x".repeat(5000))),
        Just(Value::String("2026-13-45T99:99:99Z".into())),
        Just(Value::String("::ffff:1.2.3.4".into())),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::json!([[[[[[[[1]]]]]]]])),
        Just(serde_json::json!({"unexpected": true})),
    ]
}

/// `cases` per property, or `PROPTEST_CASES` when set (an explicit count in the config would
/// otherwise override the variable).
fn config(cases: u32) -> PtConfig {
    PtConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/corpus/proptest-regressions.txt",
        ))),
        ..PtConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// A syntactically valid document with one hostile value: accepted, or a 4xx that names
    /// where the problem is.
    #[test]
    fn one_hostile_value_is_accepted_or_named(
        seed in any::<prop::sample::Index>(),
        leaf in any::<prop::sample::Index>(),
        value in hostile_value(),
    ) {
        let seeds = valid_reports();
        let mut doc = seeds[seed.index(seeds.len())].clone();
        let mut paths = Vec::new();
        leaves(&doc, &mut Vec::new(), &mut paths);
        let path = &paths[leaf.index(paths.len())];
        *at_mut(&mut doc, path) = value;
        let body = serde_json::to_vec(&doc).unwrap();
        if let Err((status, field)) = decode_checked(body, "identity") {
            prop_assert_eq!(status, 400);
            prop_assert!(field.is_some(), "rejection of {} names no field", doc);
        }
    }

    /// Arbitrary byte damage to any corpus file (plain or gzip): never a panic, never a 5xx.
    #[test]
    fn damaged_bytes_never_panic(
        seed in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let seeds = all_seeds();
        let (name, mut bytes) = seeds[seed.index(seeds.len())].clone();
        for (at, op, byte) in edits {
            let i = if bytes.is_empty() { 0 } else { at.index(bytes.len()) };
            match op {
                0 if !bytes.is_empty() => bytes[i] ^= byte | 1,
                1 => bytes.insert(i, byte),
                2 if !bytes.is_empty() => { bytes.remove(i); }
                _ => bytes.insert(i, b"{}[]\",:0-e\\"[usize::from(byte) % 11]),
            }
        }
        if let Some(c) = cut && !bytes.is_empty() {
            bytes.truncate(c.index(bytes.len()));
        }
        let _ = decode_checked(bytes, encoding_of(&name));
    }

    /// Random bytes claimed to be gzip.
    #[test]
    fn random_gzip_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut framed = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        framed.extend_from_slice(&bytes);
        let _ = decode_checked(framed, "gzip");
        let _ = decode_checked(bytes, "gzip");
    }
}

#[test]
fn config_corpus_gives_the_expected_outcome() {
    for (name, exp) in expectations("config") {
        let text = String::from_utf8_lossy(&std::fs::read(corpus("config").join(&name)).unwrap())
            .into_owned();
        let got = parse_file(&text)
            .and_then(|f| Config::merge(&ServeArgs::default(), f).map_err(|e| e.to_string()));
        match (exp.as_str(), got) {
            ("ok", Ok(_)) => {}
            ("ok", Err(e)) => panic!("{name}: expected ok, got {e}"),
            (_, Ok(_)) => panic!("{name}: expected {exp}, was accepted"),
            (exp, Err(e)) => {
                let want = exp.strip_prefix("err ").unwrap();
                assert!(
                    want == "-" || e.contains(want),
                    "{name}: the error must name `{want}`: {e}"
                );
            }
        }
    }
}

/// Keys of the config file with a valid value each.
const CONFIG_KEYS: &[(&str, &str)] = &[
    ("data_dir", "\"/srv/tally\""),
    ("listen", "\"127.0.0.1:8080\""),
    ("log_format", "\"json\""),
    ("log_level", "\"info\""),
    ("retention_cron", "\"0 17 * * * *\""),
    ("domain", "[\"stats.example.com\"]"),
    ("acme_staging", "true"),
    ("tls_listen", "\"[::]:443\""),
    ("trusted_proxy", "[\"10.0.0.0/8\"]"),
    ("max_body_mb", "16"),
    ("cache_mb", "16"),
    ("queue_viewers", "400000"),
    ("public_url", "\"https://stats.example.com\""),
];

fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        Just("18446744073709551615".to_string()),
        Just("17592186044417".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("1e400".to_string()),
        Just("nan".to_string()),
        Just("true".to_string()),
        "[a-z0-9:./\\[\\] *-]{0,30}".prop_map(|s| format!("\"{s}\"")),
        Just("[]".to_string()),
        Just("[1, \"x\"]".to_string()),
        Just("{ a = 1 }".to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// Every key given a hostile value: the config is valid, or the error names the key.
    #[test]
    fn config_value_is_accepted_or_named(key in any::<prop::sample::Index>(), value in toml_value()) {
        let (name, _) = CONFIG_KEYS[key.index(CONFIG_KEYS.len())];
        let text = CONFIG_KEYS
            .iter()
            .map(|(k, v)| format!("{k} = {}\n", if *k == name { value.as_str() } else { v }))
            .collect::<String>();
        let got = parse_file(&text)
            .and_then(|f| Config::merge(&ServeArgs::default(), f).map_err(|e| e.to_string()));
        match got {
            Ok(c) => {
                prop_assert!(c.max_body_bytes >= 1 << 20 && c.max_body_bytes <= 1 << 30);
                prop_assert!(c.queue_viewers >= 1000);
            }
            Err(e) => {
                let named = e.contains(name)
                    // A domain is named by its value, as written.
                    || (name == "domain" && e.contains("is not a domain name"));
                prop_assert!(named, "error for {} = {} does not name it: {}", name, value, e);
            }
        }
    }

    /// Arbitrary text as a config file.
    #[test]
    fn config_text_never_panics(text in "\\PC{0,300}") {
        if let Ok(f) = parse_file(&text) {
            let _ = Config::merge(&ServeArgs::default(), f);
        }
    }

    /// Damaged corpus configs.
    #[test]
    fn damaged_config_never_panics(
        seed in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        insert in "[\\[\\]=\"'{}#\n a-z0-9.]{0,6}",
    ) {
        let seeds: Vec<String> = expectations("config")
            .into_iter()
            .map(|(n, _)| String::from_utf8_lossy(&std::fs::read(corpus("config").join(n)).unwrap()).into_owned())
            .collect();
        let mut text = seeds[seed.index(seeds.len())].clone();
        let mut i = if text.is_empty() { 0 } else { at.index(text.len()) };
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        text.insert_str(i, &insert);
        if let Ok(f) = parse_file(&text) {
            let _ = Config::merge(&ServeArgs::default(), f);
        }
    }
}
