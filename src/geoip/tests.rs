//! Tests for [`super`]: MaxMind test databases (tests/fixtures/geoip, MIT/Apache-2.0), the
//! flat-schema fixtures, the embedded database, broken files, reloading and fuzzing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use proptest::prelude::*;

use super::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/geoip")
        .join(name)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn open(city: Option<&str>, asn: Option<&str>) -> GeoIp {
    GeoIp::open(&GeoIpConfig {
        city: city.map(fixture),
        asn: asn.map(fixture),
    })
    .unwrap()
}

fn maxmind() -> GeoIp {
    open(
        Some("GeoLite2-City-Test.mmdb"),
        Some("GeoLite2-ASN-Test.mmdb"),
    )
}

fn region(code: &str, name: &str) -> Option<Region> {
    Some(Region {
        code: code.into(),
        name: name.into(),
    })
}

fn city(id: u32, name: &str) -> Option<City> {
    Some(City {
        id,
        name: name.into(),
    })
}

fn asn(number: u32, org: &str) -> Option<Asn> {
    Some(Asn {
        number,
        org: org.into(),
    })
}

#[test]
fn geoip_is_shareable_across_threads() {
    fn assert_sync_send<T: Send + Sync>() {}
    assert_sync_send::<GeoIp>();
}

#[test]
fn maxmind_city_known_ipv4() {
    let g = maxmind();
    let london = g.lookup(ip("81.2.69.142"));
    assert_eq!(london.country, Some(*b"GB"));
    assert_eq!(london.country_code(), Some("GB"));
    assert_eq!(london.region, region("GB-ENG", "England"));
    assert_eq!(london.city, city(2643743, "London"));
    assert_eq!(london.asn, None);

    let linkoping = g.lookup(ip("89.160.20.112"));
    assert_eq!(linkoping.country, Some(*b"SE"));
    assert_eq!(linkoping.region, region("SE-E", "Östergötland County"));
    assert_eq!(linkoping.city, city(2694762, "Linköping"));

    let milton = g.lookup(ip("216.160.83.56"));
    assert_eq!(milton.country, Some(*b"US"));
    assert_eq!(milton.region, region("US-WA", "Washington"));
    assert_eq!(milton.city, city(5803556, "Milton"));
}

#[test]
fn region_is_the_first_subdivision() {
    // 2.125.160.216/29 has subdivisions [ENG, WBK].
    let info = maxmind().lookup(ip("2.125.160.217"));
    assert_eq!(info.region, region("GB-ENG", "England"));
    assert_eq!(info.city, city(2655045, "Boxford"));
}

#[test]
fn maxmind_city_known_ipv6() {
    let g = maxmind();
    let jp = g.lookup(ip("2001:218::1"));
    assert_eq!(jp.country, Some(*b"JP"));
    assert_eq!((jp.region, jp.city), (None, None));

    let sd = g.lookup(ip("2001:480::1"));
    assert_eq!(sd.country, Some(*b"US"));
    assert_eq!(sd.region, region("US-CA", "California"));
    assert_eq!(sd.city, city(5391811, "San Diego"));
}

#[test]
fn ipv4_mapped_ipv6_is_looked_up_as_ipv4() {
    let info = maxmind().lookup(ip("::ffff:81.2.69.142"));
    assert_eq!(info.city, city(2643743, "London"));
}

#[test]
fn misses_give_empty_info() {
    let g = maxmind();
    for s in [
        "10.0.0.1",
        "127.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "::1",
        "fe80::1",
        "8.8.8.8",
    ] {
        assert_eq!(g.lookup(ip(s)), GeoInfo::default(), "{s}");
    }
    // A network with a record but no country at all.
    assert_eq!(g.lookup(ip("2a02:d500::1")).country, None);
}

#[test]
fn maxmind_asn_hits() {
    let g = maxmind();
    assert_eq!(g.lookup(ip("1.128.0.1")).asn, asn(1221, "Telstra Pty Ltd"));
    assert_eq!(g.lookup(ip("12.81.92.1")).asn, asn(7018, "AT&T Services"));
    assert_eq!(
        g.lookup(ip("2001:1700::1")).asn,
        asn(6730, "Sunrise Communications AG")
    );
    assert_eq!(g.lookup(ip("10.0.0.1")).asn, None);
}

#[test]
fn geoip2_city_and_geolite2_country_files_work_as_city_source() {
    let g = open(Some("GeoIP2-City-Test.mmdb"), None);
    let info = g.lookup(ip("81.2.69.142"));
    assert_eq!(info.country, Some(*b"GB"));
    assert_eq!(info.city, city(2643743, "London"));

    let g = open(Some("GeoLite2-Country-Test.mmdb"), None);
    let info = g.lookup(ip("81.2.69.142"));
    assert_eq!(info.country, Some(*b"GB"));
    assert_eq!((info.region, info.city), (None, None));
}

#[test]
fn flat_city_schema() {
    let g = open(Some("flat-city-test.mmdb"), None);
    let london = g.lookup(ip("81.2.69.142"));
    assert_eq!(london.country, Some(*b"GB"));
    assert_eq!(london.region, region("GB-England", "England"));
    let london_city = london.city.unwrap();
    assert_eq!(london_city.name, "London");
    assert!(
        london_city.id >= 0x8000_0000,
        "hashed ids have the top bit set"
    );
    // Same place over IPv6 → same id.
    assert_eq!(g.lookup(ip("2a02:dd8::1")).city.unwrap().id, london_city.id);

    let se = g.lookup(ip("89.160.20.115"));
    assert_eq!(
        se.region,
        region("SE-Östergötland County", "Östergötland County")
    );
    assert_eq!(se.city.unwrap().name, "Linköping");

    // Empty strings are "unknown", not names.
    let au = g.lookup(ip("1.0.0.1"));
    assert_eq!(au.country, Some(*b"AU"));
    assert_eq!((au.region, au.city), (None, None));
}

#[test]
fn flat_city_ids_are_stable() {
    // Stored rollups key cities by this id: it must never change between releases.
    assert_eq!(flat_city_id("GB", Some("England"), "London"), 0xe65d_3a79);
    assert_ne!(
        flat_city_id("US", Some("Illinois"), "Springfield"),
        flat_city_id("US", Some("Missouri"), "Springfield")
    );
}

#[test]
fn flat_asn_schemas() {
    let g = open(None, Some("flat-asn-test.mmdb"));
    assert_eq!(g.lookup(ip("1.128.0.1")).asn, asn(1221, "Telstra Pty Ltd"));
    assert_eq!(
        g.lookup(ip("2600:1700::1")).asn,
        asn(7018, "AT&T Services, Inc.")
    );
    assert_eq!(g.lookup(ip("8.8.8.8")).asn, asn(15169, "Google LLC"));
    assert_eq!(g.lookup(ip("9.9.9.9")).asn, None);
}

#[test]
fn embedded_country_is_used_without_a_city_file() {
    let g = GeoIp::open(&GeoIpConfig::default()).unwrap();
    let gb = g.lookup(ip("81.2.69.142"));
    assert_eq!(gb.country, Some(*b"GB"));
    assert_eq!((gb.region, gb.city, gb.asn), (None, None, None));
    assert_eq!(g.lookup(ip("8.8.8.8")).country, Some(*b"US"));
    assert!(g.lookup(ip("2001:4860:4860::8888")).country.is_some());
    assert_eq!(g.lookup(ip("10.1.2.3")), GeoInfo::default());

    let about = g.about();
    assert_eq!(about.sources.len(), 1);
    let src = &about.sources[0];
    assert_eq!(src.kind, GeoIpKind::Country);
    assert_eq!(src.source, "embedded DB-IP Lite");
    assert_eq!(
        src.attribution,
        "IP geolocation by DB-IP (https://db-ip.com), CC BY 4.0"
    );
    assert!(src.build_epoch > 1_600_000_000);

    // With an ASN file only, the embedded database still answers the country.
    let g = open(None, Some("GeoLite2-ASN-Test.mmdb"));
    let info = g.lookup(ip("1.128.0.1"));
    assert_eq!(info.country, Some(*b"AU"));
    assert_eq!(info.asn, asn(1221, "Telstra Pty Ltd"));
}

#[test]
fn a_city_file_replaces_the_embedded_country() {
    let g = maxmind();
    // 8.8.8.8 is not in the test City database; the embedded one would say US.
    assert_eq!(g.lookup(ip("8.8.8.8")).country, None);
    let about = g.about();
    let kinds: Vec<_> = about.sources.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [GeoIpKind::City, GeoIpKind::Asn]);
    assert_eq!(about.sources[0].database_type, "GeoLite2-City");
    assert!(about.sources[0].source.ends_with("GeoLite2-City-Test.mmdb"));
    assert!(
        about.sources[0]
            .attribution
            .contains("GeoLite2 data created by MaxMind")
    );
    let json = serde_json::to_value(&about).unwrap();
    assert_eq!(json["sources"][1]["kind"], "asn");
    assert!(json["sources"][1].get("reload_error").is_none());
}

/// The embedded file is trusted at start (no scan, to keep start-up instant), so check it
/// here once, the way `open` checks user files.
#[test]
fn embedded_database_is_valid_throughout() {
    let loaded = open_embedded().unwrap();
    assert_eq!(loaded.reader.metadata().ip_version, 6);
    assert!(scan(&loaded.reader, GeoIpKind::Country).unwrap());
}

fn open_err(city: Option<PathBuf>, asn: Option<PathBuf>) -> (GeoIpError, String) {
    let err = GeoIp::open(&GeoIpConfig { city, asn }).unwrap_err();
    let msg = err.to_string();
    (err, msg)
}

#[test]
fn missing_file_is_a_clear_error() {
    let path = fixture("no-such-file.mmdb");
    let (err, msg) = open_err(Some(path.clone()), None);
    assert!(
        matches!(
            err,
            GeoIpError::Read {
                kind: GeoIpKind::City,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("--geoip-city"), "{msg}");

    let (err, msg) = open_err(None, Some(path.clone()));
    assert!(
        matches!(
            err,
            GeoIpError::Read {
                kind: GeoIpKind::Asn,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(msg.contains("--geoip-asn"), "{msg}");
}

#[test]
fn directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (err, msg) = open_err(Some(dir.path().to_owned()), None);
    assert!(matches!(err, GeoIpError::Read { .. }), "{err:?}");
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
}

#[test]
fn non_mmdb_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("city.mmdb");
    fs::write(&path, "this is not a database\n").unwrap();
    let (err, msg) = open_err(Some(path.clone()), None);
    assert!(matches!(err, GeoIpError::Invalid { .. }), "{err:?}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("download it again"), "{msg}");

    let empty = dir.path().join("empty.mmdb");
    fs::write(&empty, "").unwrap();
    let (err, _) = open_err(None, Some(empty));
    assert!(matches!(err, GeoIpError::Invalid { .. }), "{err:?}");
}

#[test]
fn broken_test_databases_are_rejected_at_open() {
    for name in [
        "invalid-string-length.mmdb",
        "libmaxminddb-corrupt-search-tree.mmdb",
    ] {
        for kind in [GeoIpKind::City, GeoIpKind::Asn] {
            let path = fixture(name);
            let cfg = match kind {
                GeoIpKind::Asn => (None, Some(path.clone())),
                _ => (Some(path.clone()), None),
            };
            let (err, msg) = open_err(cfg.0, cfg.1);
            assert!(msg.contains(name), "{name}: {msg}");
            assert!(
                matches!(
                    err,
                    GeoIpError::Invalid { .. } | GeoIpError::WrongKind { .. }
                ),
                "{name}: {err:?}"
            );
        }
    }
}

#[test]
fn wrong_kind_of_database_is_a_clear_error() {
    let (err, msg) = open_err(Some(fixture("GeoLite2-ASN-Test.mmdb")), None);
    assert!(
        matches!(
            err,
            GeoIpError::WrongKind {
                kind: GeoIpKind::City,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(msg.contains("GeoLite2-ASN"), "{msg}");
    assert!(msg.contains("--geoip-city"), "{msg}");

    let (err, msg) = open_err(None, Some(fixture("GeoLite2-City-Test.mmdb")));
    assert!(
        matches!(
            err,
            GeoIpError::WrongKind {
                kind: GeoIpKind::Asn,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(msg.contains("--geoip-asn"), "{msg}");
}

#[test]
fn reload_picks_up_replaced_files_and_keeps_old_data_on_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("city.mmdb");
    fs::copy(fixture("GeoLite2-City-Test.mmdb"), &live).unwrap();
    let g = GeoIp::open(&GeoIpConfig {
        city: Some(live.clone()),
        asn: None,
    })
    .unwrap();
    let london = ip("81.2.69.142");
    assert_eq!(g.lookup(london).city, city(2643743, "London"));
    assert!(!g.reload_if_changed().unwrap(), "nothing changed yet");

    // Replaced by rename (the safe way): new inode.
    let tmp = dir.path().join("city.mmdb.tmp");
    fs::copy(fixture("GeoLite2-Country-Test.mmdb"), &tmp).unwrap();
    fs::rename(&tmp, &live).unwrap();
    assert!(g.reload_if_changed().unwrap());
    let info = g.lookup(london);
    assert_eq!((info.country, info.city), (Some(*b"GB"), None));
    assert_eq!(g.about().sources[0].database_type, "GeoLite2-Country");
    assert!(!g.reload_if_changed().unwrap());

    // Rewritten in place with garbage: error naming the file, old data kept, reported once.
    fs::write(&live, b"\xab\xcd\xefMaxMind.com garbage").unwrap();
    let err = g.reload_if_changed().unwrap_err();
    assert!(
        err.to_string().contains(&live.display().to_string()),
        "{err}"
    );
    assert_eq!(g.lookup(london).country, Some(*b"GB"));
    let about = g.about();
    assert!(
        about.sources[0]
            .reload_error
            .as_deref()
            .is_some_and(|e| e.contains("city.mmdb"))
    );
    assert!(
        !g.reload_if_changed().unwrap(),
        "the same bad file is not re-read"
    );

    // Rewritten in place with a good file: picked up, error cleared.
    fs::write(&live, fs::read(fixture("GeoLite2-City-Test.mmdb")).unwrap()).unwrap();
    assert!(g.reload_if_changed().unwrap());
    assert_eq!(g.lookup(london).city, city(2643743, "London"));
    assert_eq!(g.about().sources[0].reload_error, None);

    // Deleted: reported once, old data kept.
    fs::remove_file(&live).unwrap();
    assert!(matches!(
        g.reload_if_changed(),
        Err(GeoIpError::Read { .. })
    ));
    assert!(!g.reload_if_changed().unwrap());
    assert_eq!(g.lookup(london).city, city(2643743, "London"));

    // A wrong-kind replacement is refused like a corrupt one.
    fs::copy(fixture("GeoLite2-ASN-Test.mmdb"), &live).unwrap();
    assert!(matches!(
        g.reload_if_changed(),
        Err(GeoIpError::WrongKind { .. })
    ));
    assert_eq!(g.lookup(london).city, city(2643743, "London"));
}

#[test]
fn reload_of_asn_file() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("asn.mmdb");
    fs::copy(fixture("GeoLite2-ASN-Test.mmdb"), &live).unwrap();
    let g = GeoIp::open(&GeoIpConfig {
        city: None,
        asn: Some(live.clone()),
    })
    .unwrap();
    assert_eq!(g.lookup(ip("8.8.8.8")).asn, None);
    let tmp = dir.path().join("asn.tmp");
    fs::copy(fixture("flat-asn-test.mmdb"), &tmp).unwrap();
    fs::rename(&tmp, &live).unwrap();
    assert!(g.reload_if_changed().unwrap());
    assert_eq!(g.lookup(ip("8.8.8.8")).asn, asn(15169, "Google LLC"));
}

#[test]
fn country_codes_are_validated() {
    assert_eq!(parse_country("gb"), Some(*b"GB"));
    assert_eq!(parse_country("ZZ"), None);
    assert_eq!(parse_country("G1"), None);
    assert_eq!(parse_country("GBR"), None);
    assert_eq!(parse_country(""), None);
}

#[test]
fn attribution_follows_the_vendor() {
    let none = std::collections::BTreeMap::new();
    let p = Path::new("/data/dbip-city-ipv4.mmdb");
    assert_eq!(attribution_for(p, "city", &none), DBIP_ATTRIBUTION);
    let p = Path::new("/data/GeoLite2-City.mmdb");
    assert!(attribution_for(p, "GeoLite2-City", &none).contains("MaxMind"));
    let p = Path::new("/data/custom.mmdb");
    assert_eq!(
        attribution_for(p, "x", &none),
        "IP data from /data/custom.mmdb"
    );
}

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|n| IpAddr::V4(Ipv4Addr::from(n))),
        any::<u128>().prop_map(|n| IpAddr::V6(Ipv6Addr::from(n))),
        // Bias towards the networks the fixtures hold.
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| IpAddr::V4(Ipv4Addr::new(81, 2, a, b))),
        any::<u16>().prop_map(|n| IpAddr::V6(Ipv6Addr::new(0x2a02, n, 0, 0, 0, 0, 0, 1))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_ips_never_panic(addr in any_ip()) {
        for g in [maxmind(), open(Some("flat-city-test.mmdb"), Some("flat-asn-test.mmdb"))] {
            let info = g.lookup(addr);
            if let Some(cc) = info.country {
                prop_assert!(cc.iter().all(u8::is_ascii_uppercase));
            }
        }
    }

    /// Even on databases `open` rejects, raw lookups must not panic.
    #[test]
    fn lookups_on_broken_databases_never_panic(addr in any_ip()) {
        for name in ["invalid-string-length.mmdb", "libmaxminddb-corrupt-search-tree.mmdb"] {
            let bytes = fs::read(fixture(name)).unwrap();
            if let Ok(reader) = Reader::from_source(Cow::Owned(bytes)) {
                let _ = decode::<LocationRecord>(&reader, addr);
                let _ = decode::<AsnRecord>(&reader, addr);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_as_database_are_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("random.mmdb");
        fs::write(&path, &bytes).unwrap();
        let result = GeoIp::open(&GeoIpConfig { city: Some(path.clone()), asn: None });
        prop_assert!(result.is_err());
        // Random bytes after the metadata marker still fail cleanly.
        let mut with_marker = bytes.clone();
        with_marker.splice(0..0, b"\xab\xcd\xefMaxMind.com".iter().copied());
        fs::write(&path, &with_marker).unwrap();
        let result = GeoIp::open(&GeoIpConfig { city: None, asn: Some(path) });
        prop_assert!(result.is_err());
    }

    /// A real database with a few bytes flipped either opens (and then looks up without
    /// panicking) or is refused with an error.
    #[test]
    fn corrupted_databases_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        addr in any_ip(),
    ) {
        let mut bytes = fs::read(fixture("GeoLite2-City-Test.mmdb")).unwrap();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flipped.mmdb");
        fs::write(&path, &bytes).unwrap();
        if let Ok(g) = GeoIp::open(&GeoIpConfig { city: Some(path), asn: None }) {
            let _ = g.lookup(addr);
            let _ = g.about();
        }
    }
}

/// Lookups per second with City + ASN; run with
/// `cargo test --release --lib geoip::tests::bench_lookups -- --ignored --nocapture`.
/// `TALLY_BENCH_CITY` / `TALLY_BENCH_ASN` point it at real databases instead of the tiny
/// fixtures (whose lookups mostly miss and are therefore faster than real ones).
#[test]
#[ignore]
fn bench_lookups() {
    let city = std::env::var_os("TALLY_BENCH_CITY")
        .map(PathBuf::from)
        .unwrap_or_else(|| fixture("GeoLite2-City-Test.mmdb"));
    let asn = std::env::var_os("TALLY_BENCH_ASN")
        .map(PathBuf::from)
        .or_else(|| Some(fixture("GeoLite2-ASN-Test.mmdb")));
    let started = std::time::Instant::now();
    let g = GeoIp::open(&GeoIpConfig {
        city: Some(city.clone()),
        asn: asn.clone(),
    })
    .unwrap();
    println!("open+scan {city:?} {asn:?}: {:?}", started.elapsed());
    let g = Arc::new(g);
    // Decode cost alone: one address, so the search-tree path stays in the CPU cache.
    let hot = ip("81.2.69.142");
    let started = std::time::Instant::now();
    for _ in 0..1_000_000 {
        std::hint::black_box(g.lookup(std::hint::black_box(hot)));
    }
    println!(
        "same address: {:.0} lookups/s",
        1e6 / started.elapsed().as_secs_f64()
    );
    const PER_THREAD: u32 = 1_000_000;
    for threads in [1u32, 2] {
        let started = std::time::Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let g = Arc::clone(&g);
                std::thread::spawn(move || {
                    let cpu_start = thread_cpu_ns();
                    let mut found = 0u32;
                    // xorshift over the IPv4 space: mostly routable, mostly hits on real DBs.
                    let mut x: u32 = 0x9e37_79b9 ^ (t + 1);
                    for _ in 0..PER_THREAD {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        let info = g.lookup(IpAddr::V4(Ipv4Addr::from(x)));
                        found += u32::from(info.city.is_some());
                    }
                    (found, thread_cpu_ns().saturating_sub(cpu_start))
                })
            })
            .collect();
        let results: Vec<(u32, u64)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let secs = started.elapsed().as_secs_f64();
        let found: u32 = results.iter().map(|r| r.0).sum();
        let cpu_secs = results.iter().map(|r| r.1).sum::<u64>() as f64 / 1e9;
        println!(
            "{threads} thread(s): {:.0} lookups/s wall, {:.0} lookups per CPU-second ({found} with a city of {})",
            f64::from(threads * PER_THREAD) / secs,
            f64::from(threads * PER_THREAD) / cpu_secs,
            threads * PER_THREAD
        );
    }
}

/// CPU time of the calling thread in ns (Linux), so a benchmark on a busy machine still
/// reports what one core achieves; 0 elsewhere.
fn thread_cpu_ns() -> u64 {
    fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}
