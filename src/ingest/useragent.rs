//! User agent → player family, device class and OS, for the "player/device" breakdown.
//!
//! Owns the classification only: streaming players and media stacks that browser-oriented
//! parsers do not know (VLC, FFmpeg's `Lavf`, AppleCoreMedia, ExoPlayer, GStreamer, mpv,
//! Kodi, Roku, Windows Media Player's `NSPlayer`, smart TVs…) are matched first by a short
//! ordered rule list; everything else goes to the maintained uap-core regexes (`uaparser`
//! crate, `assets/uap-core/regexes.yaml`, embedded). Players that run inside a browser
//! (hls.js, Shaka, video.js) are reported as that browser.
//!
//! Results are cached per user-agent string in a small bounded cache, since a stream's
//! audience uses few distinct user agents and the regex pass is the slow part. This module
//! never stores a user agent anywhere else and never sees an IP.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use parking_lot::RwLock;
use uaparser::{Parser, UserAgentParser};

/// uap-core's `regexes.yaml` (Apache-2.0), compiled once by [`UserAgents::new`].
static UAP_REGEXES: &[u8] = include_bytes!("../../assets/uap-core/regexes.yaml");

/// Longer user agents are classified (and cached) by their first this-many bytes: real ones
/// are far shorter, and it bounds both regex time and cache memory for hostile input.
const MAX_UA_LEN: usize = 512;
/// Family and OS names longer than this are cut: regex captures can copy arbitrary text out
/// of a hostile user agent, and these names become statistics keys.
const MAX_NAME_LEN: usize = 48;
const CACHE_SHARDS: usize = 16;
/// Per shard, so the whole cache holds at most 4,096 user agents (≈ 2.5 MB worst case).
const SHARD_CAPACITY: usize = 256;

/// The user-agent parser could not be built from the embedded regexes.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the user-agent parser from the embedded uap-core regexes: {0}")]
pub struct UaError(String);

/// The class of device a viewer watches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    /// Desktop or laptop computer.
    Desktop,
    /// Phone.
    Mobile,
    /// Tablet.
    Tablet,
    /// Smart TV, set-top box or streaming stick.
    Tv,
    /// Crawler or monitoring bot.
    Bot,
    /// Anything else, or unknown (command-line tools, media servers relaying a stream).
    Other,
}

impl Device {
    /// Lower-case name used as a statistics key (`"desktop"`, `"mobile"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::Tv => "tv",
            Device::Bot => "bot",
            Device::Other => "other",
        }
    }
}

/// What a user agent says about the viewer's player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Player {
    /// Player or browser family: `"VLC"`, `"Chrome"`, `"Safari"`, `"AppleCoreMedia"`,
    /// `"ExoPlayer"`, `"FFmpeg"`…; `"Unknown"` when nothing matched.
    pub family: String,
    /// Device class.
    pub device: Device,
    /// Operating system family (`"Windows"`, `"macOS"`, `"iOS"`, `"Android"`…) or `"Unknown"`.
    pub os: String,
}

impl Player {
    /// The answer for a missing or unrecognisable user agent.
    pub fn unknown() -> Player {
        Player {
            family: UNKNOWN.to_owned(),
            device: Device::Other,
            os: UNKNOWN.to_owned(),
        }
    }
}

const UNKNOWN: &str = "Unknown";

/// Classifies user agents; build once and share (`Sync`).
pub struct UserAgents {
    parser: UserAgentParser,
    hasher: RandomState,
    shards: Vec<RwLock<HashMap<Box<str>, Player>>>,
}

impl std::fmt::Debug for UserAgents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgents").finish_non_exhaustive()
    }
}

impl UserAgents {
    /// Compiles the embedded uap-core regexes (the slow part: do it once at start).
    pub fn new() -> Result<Self, UaError> {
        // ASCII-only classes keep the compiled regexes several times smaller and faster to
        // build; user agents are ASCII in practice and the patterns are written for it.
        // uap-core's 628 device patterns (brand and model names) are left out: they are over
        // half the regexes, memory and miss time, and the device *class* Tally reports comes
        // from the hints in `detect_device`; bots are known by their family.
        let parser = UserAgentParser::builder()
            .with_unicode_support(false)
            .with_device(false)
            .build_from_bytes(UAP_REGEXES)
            .map_err(|e| UaError(e.to_string()))?;
        let shards = (0..CACHE_SHARDS)
            .map(|_| RwLock::new(HashMap::new()))
            .collect();
        Ok(UserAgents {
            parser,
            hasher: RandomState::new(),
            shards,
        })
    }

    /// Classifies a user agent. `None`, empty and whitespace-only give [`Player::unknown`].
    pub fn classify(&self, ua: Option<&str>) -> Player {
        let Some(ua) = ua.map(str::trim).filter(|s| !s.is_empty()) else {
            return Player::unknown();
        };
        let ua = truncate(ua, MAX_UA_LEN);
        let shard = &self.shards[(self.hasher.hash_one(ua) as usize) % CACHE_SHARDS];
        if let Some(hit) = shard.read().get(ua) {
            return hit.clone();
        }
        let player = self.parse(ua);
        let mut map = shard.write();
        if map.len() >= SHARD_CAPACITY {
            // Wholesale eviction: simple, bounded, and a working set of a few hundred user
            // agents refills it at once. Only floods of distinct user agents ever get here.
            map.clear();
        }
        map.insert(ua.into(), player.clone());
        player
    }

    fn parse(&self, ua: &str) -> Player {
        let lower = ua.to_ascii_lowercase();
        let rule = PLAYER_RULES.iter().find(|r| r.matches(&lower));
        let family = match rule {
            Some(r) => r.family.to_owned(),
            None => normalize_family(&self.parser.parse_user_agent(ua).family),
        };
        let os = match rule.and_then(|r| r.os) {
            Some(os) => os.to_owned(),
            None => normalize_os(&self.parser.parse_os(ua).family),
        };
        let device = match rule.and_then(|r| r.device) {
            Some(d) => d,
            None => detect_device(&lower, &family, &os),
        };
        Player {
            family: cap(family),
            device,
            os: cap(os),
        }
    }
}

/// One streaming-player rule: any needle found in the lower-cased user agent selects it.
struct PlayerRule {
    needles: &'static [&'static str],
    /// Prefixes, checked on the lower-cased user agent.
    prefixes: &'static [&'static str],
    family: &'static str,
    /// Fixed device class; `None` = infer from the user agent.
    device: Option<Device>,
    /// Fixed OS; `None` = ask uap-core.
    os: Option<&'static str>,
}

impl PlayerRule {
    fn matches(&self, lower: &str) -> bool {
        self.needles.iter().any(|n| lower.contains(n))
            || self.prefixes.iter().any(|p| lower.starts_with(p))
    }
}

const fn rule(
    needles: &'static [&'static str],
    prefixes: &'static [&'static str],
    family: &'static str,
    device: Option<Device>,
    os: Option<&'static str>,
) -> PlayerRule {
    PlayerRule {
        needles,
        prefixes,
        family,
        device,
        os,
    }
}

/// Checked in order before uap-core. Order matters where user agents name several stacks:
/// players that embed FFmpeg (Kodi, VLC, mpv) come before `Lavf`, and specific TV platforms
/// before the generic browser engines they ship.
static PLAYER_RULES: &[PlayerRule] = &[
    rule(
        &["nsplayer", "windows-media-player", "wmfsdk/"],
        &[],
        "Windows Media Player",
        Some(Device::Desktop),
        Some("Windows"),
    ),
    rule(&["kodi/", "xbmc/"], &[], "Kodi", None, None),
    rule(
        &["roku/", "roku "],
        &["roku"],
        "Roku",
        Some(Device::Tv),
        Some("Roku"),
    ),
    rule(&["applecoremedia/"], &[], "AppleCoreMedia", None, None),
    rule(
        &["exoplayer", "androidxmedia3"],
        &[],
        "ExoPlayer",
        None,
        Some("Android"),
    ),
    rule(
        &["stagefright/"],
        &[],
        "Android MediaPlayer",
        None,
        Some("Android"),
    ),
    rule(&["libvlc", "vlc/"], &["vlc"], "VLC", None, None),
    rule(&["libmpv", "mpv/"], &["mpv "], "mpv", None, None),
    rule(&["gstreamer"], &[], "GStreamer", None, None),
    rule(&["mplayer"], &[], "MPlayer", None, None),
    rule(
        &["winamp"],
        &[],
        "Winamp",
        Some(Device::Desktop),
        Some("Windows"),
    ),
    rule(
        &["foobar2000"],
        &[],
        "foobar2000",
        Some(Device::Desktop),
        Some("Windows"),
    ),
    rule(&["itunes/"], &[], "iTunes", None, None),
    rule(&["quicktime"], &[], "QuickTime", None, None),
    rule(
        &["streamripper"],
        &[],
        "Streamripper",
        Some(Device::Other),
        None,
    ),
    rule(&["icecast"], &[], "Icecast", Some(Device::Other), None),
    rule(
        &["lavf/", "ffmpeg/", "ffplay"],
        &["lavf"],
        "FFmpeg",
        None,
        None,
    ),
    rule(&["tizen"], &[], "Tizen TV", None, Some("Tizen")),
    rule(&["web0s", "webos"], &[], "webOS TV", None, Some("webOS")),
    rule(&["hbbtv"], &[], "HbbTV", Some(Device::Tv), None),
];

/// Words that mark a television-class device (smart TVs, set-top boxes, sticks).
const TV_HINTS: &[&str] = &[
    "smart-tv",
    "smarttv",
    "smart tv",
    "googletv",
    "google tv",
    "android tv",
    "androidtv",
    "apple tv",
    "appletv",
    "tvos",
    "crkey",
    "bravia",
    "hbbtv",
    "netcast",
    "roku",
    "; aft",
    "fire tv",
    "firetv",
    "philipstv",
    "viera",
    "tizen",
    "web0s",
    "webos",
    "aquos",
    "shield android tv",
];

/// The device class from the lower-cased user agent and the family and OS already found.
fn detect_device(lower: &str, family: &str, os: &str) -> Device {
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    let family_lower = family.to_ascii_lowercase();
    // uap-core names crawlers by their own name ("Googlebot", "AhrefsBot", "Baiduspider");
    // most others announce a contact URL ("compatible; Foo/1.0; +http://…").
    if ["bot", "spider", "crawl", "slurp", "archiver"]
        .iter()
        .any(|w| family_lower.contains(w))
        || has(&[
            "bot/",
            "bot;",
            "spider",
            "crawler",
            "+http",
            "headlesschrome",
        ])
    {
        return Device::Bot;
    }
    if has(TV_HINTS) {
        return Device::Tv;
    }
    if has(&["ipad", "tablet", "kindle", "silk/", "playbook"]) {
        return Device::Tablet;
    }
    if has(&[
        "iphone",
        "ipod",
        "windows phone",
        "mobile",
        "blackberry",
        "opera mini",
    ]) {
        return Device::Mobile;
    }
    if lower.contains("android") {
        // Android browsers on tablets leave "Mobile" out of their user agent; apps and media
        // stacks (ExoPlayer, VLC…) never write it, and run on phones far more often.
        return if lower.contains("mozilla/") {
            Device::Tablet
        } else {
            Device::Mobile
        };
    }
    if matches!(
        os,
        "Windows" | "macOS" | "Linux" | "Ubuntu" | "Fedora" | "Chrome OS" | "FreeBSD"
    ) || has(&["windows nt", "macintosh", "x11;", "cros "])
    {
        return Device::Desktop;
    }
    Device::Other
}

/// uap-core names mobile variants separately ("Mobile Safari", "Chrome Mobile"); the device
/// column already says "mobile", so the family keeps just the browser.
fn normalize_family(family: &str) -> String {
    match family {
        "Other" | "" => UNKNOWN.to_owned(),
        "Mobile Safari" => "Safari".to_owned(),
        "Mobile Safari UI/WKWebView" => "Safari WebView".to_owned(),
        "Chrome Mobile WebView" => "Chrome WebView".to_owned(),
        "Chrome Mobile iOS" => "Chrome iOS".to_owned(),
        f => match f.strip_suffix(" Mobile") {
            Some(base) if !base.is_empty() => base.to_owned(),
            _ => f.to_owned(),
        },
    }
}

fn normalize_os(os: &str) -> String {
    match os {
        "Other" | "" => UNKNOWN.to_owned(),
        "Mac OS X" => "macOS".to_owned(),
        "ATV OS X" => "tvOS".to_owned(),
        o => o.to_owned(),
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn cap(mut s: String) -> String {
    let keep = truncate(&s, MAX_NAME_LEN).len();
    s.truncate(keep);
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::OnceLock;
    use std::time::Instant;

    use super::*;

    fn uas() -> &'static UserAgents {
        static UAS: OnceLock<UserAgents> = OnceLock::new();
        UAS.get_or_init(|| UserAgents::new().unwrap())
    }

    fn classify(ua: &str) -> (String, Device, String) {
        let p = uas().classify(Some(ua));
        (p.family, p.device, p.os)
    }

    fn check(ua: &str, family: &str, device: Device, os: &str) {
        let got = classify(ua);
        assert_eq!(got, (family.to_owned(), device, os.to_owned()), "{ua}");
        // The cached answer is the same.
        assert_eq!(classify(ua), got, "cached: {ua}");
    }

    #[test]
    fn is_shareable_across_threads() {
        fn assert_sync_send<T: Send + Sync>() {}
        assert_sync_send::<UserAgents>();
    }

    #[test]
    fn streaming_players() {
        check("VLC/3.0.18 LibVLC/3.0.18", "VLC", Device::Other, "Unknown");
        check(
            "VLC/3.0.20 LibVLC/3.0.20 (Linux; Android 13)",
            "VLC",
            Device::Mobile,
            "Android",
        );
        check("Lavf/60.3.100", "FFmpeg", Device::Other, "Unknown");
        check(
            "AppleCoreMedia/1.0.0.20G75 (iPhone; U; CPU OS 16_6 like Mac OS X; en_us)",
            "AppleCoreMedia",
            Device::Mobile,
            "iOS",
        );
        check(
            "AppleCoreMedia/1.0.0.21K69 (Apple TV; U; CPU OS 17_1 like Mac OS X; en_us)",
            "AppleCoreMedia",
            Device::Tv,
            "tvOS",
        );
        check(
            "AppleCoreMedia/1.0.0.22G90 (Macintosh; U; Intel Mac OS X 13_5; en_us)",
            "AppleCoreMedia",
            Device::Desktop,
            "macOS",
        );
        check(
            "ExoPlayerDemo/2.19.1 (Linux;Android 13) ExoPlayerLib/2.19.1",
            "ExoPlayer",
            Device::Mobile,
            "Android",
        );
        check(
            "MyTV/4.2 (Linux; Android 12; SM-G991B Mobile) AndroidXMedia3/1.1.1",
            "ExoPlayer",
            Device::Mobile,
            "Android",
        );
        check(
            "GStreamer souphttpsrc 1.22.0 libsoup/3.2.2",
            "GStreamer",
            Device::Other,
            "Unknown",
        );
        check("libmpv", "mpv", Device::Other, "Unknown");
        check(
            "Kodi/20.2 (X11; Linux x86_64) Ubuntu/22.04 App_Bitness/64 Version/20.2-(20.2.0)",
            "Kodi",
            Device::Desktop,
            "Ubuntu",
        );
        check("Roku/DVP-12.0 (12.0.0.4182-88)", "Roku", Device::Tv, "Roku");
        check(
            "NSPlayer/12.00.19041.3636 WMFSDK/12.00.19041.3636",
            "Windows Media Player",
            Device::Desktop,
            "Windows",
        );
        check(
            "WinampMPEG/5.66, Ultravox/2.1",
            "Winamp",
            Device::Desktop,
            "Windows",
        );
        check("foobar2000/2.0", "foobar2000", Device::Desktop, "Windows");
        check(
            "iTunes/12.12.10 (Windows; Microsoft Windows 10 x64) AppleWebKit/7613.2007.1014.14",
            "iTunes",
            Device::Desktop,
            "Windows",
        );
        check("Icecast 2.4.4", "Icecast", Device::Other, "Unknown");
        check(
            "Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36",
            "Tizen TV",
            Device::Tv,
            "Tizen",
        );
        check(
            "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 Safari/537.36 WebAppManager",
            "webOS TV",
            Device::Tv,
            "webOS",
        );
    }

    #[test]
    fn browsers_and_tools() {
        check(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "Safari",
            Device::Mobile,
            "iOS",
        );
        check(
            "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "Safari",
            Device::Tablet,
            "iOS",
        );
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "Chrome",
            Device::Desktop,
            "Windows",
        );
        check(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
            "Safari",
            Device::Desktop,
            "macOS",
        );
        check(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36",
            "Chrome",
            Device::Mobile,
            "Android",
        );
        check(
            "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
            "Firefox",
            Device::Desktop,
            "Linux",
        );
        check(
            "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "Chrome",
            Device::Tablet,
            "Android",
        );
        check("curl/8.4.0", "curl", Device::Other, "Unknown");
        check(
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "bingbot",
            Device::Bot,
            "Unknown",
        );
        check(
            "Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7633) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Safari/537.36",
            "Chrome",
            Device::Tv,
            "Android",
        );
        check(
            "Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari/537.36 CrKey/1.56.500000 DeviceType/AndroidTV",
            "Chrome",
            Device::Tv,
            "Chromecast",
        );
        check(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Googlebot",
            Device::Bot,
            "Unknown",
        );
    }

    #[test]
    fn missing_empty_and_garbage() {
        assert_eq!(uas().classify(None), Player::unknown());
        assert_eq!(uas().classify(Some("")), Player::unknown());
        assert_eq!(uas().classify(Some("   ")), Player::unknown());
        assert_eq!(Player::unknown().device.as_str(), "other");

        let garbage: String = (0..10_240u32)
            .map(|i| char::from(b"aZ09 ;()/._-\xe9"[(i as usize * 7919) % 13]))
            .collect();
        let started = Instant::now();
        let p = uas().classify(Some(&garbage));
        assert!(
            started.elapsed().as_secs() < 2,
            "10 KB garbage took {:?}",
            started.elapsed()
        );
        assert!(p.family.len() <= MAX_NAME_LEN && p.os.len() <= MAX_NAME_LEN);

        let multibyte = "é".repeat(5_000);
        let p = uas().classify(Some(&multibyte));
        assert_eq!(p.family, "Unknown");
    }

    #[test]
    fn cache_stays_bounded() {
        let uas = UserAgents::new().unwrap();
        for i in 0..(CACHE_SHARDS * SHARD_CAPACITY * 2) {
            uas.classify(Some(&format!("Lavf/{i}")));
        }
        let total: usize = uas.shards.iter().map(|s| s.read().len()).sum();
        assert!(total <= CACHE_SHARDS * SHARD_CAPACITY, "{total}");
    }

    #[test]
    fn names_are_normalized() {
        assert_eq!(normalize_family("Mobile Safari"), "Safari");
        assert_eq!(normalize_family("Chrome Mobile"), "Chrome");
        assert_eq!(normalize_family("Firefox Mobile"), "Firefox");
        assert_eq!(normalize_family("Other"), "Unknown");
        assert_eq!(normalize_os("Mac OS X"), "macOS");
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(cap("x".repeat(100)).len(), MAX_NAME_LEN);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]
        #[test]
        fn arbitrary_user_agents_never_panic(ua in ".{0,600}") {
            let p = uas().classify(Some(&ua));
            proptest::prop_assert!(!p.family.is_empty() && !p.os.is_empty());
        }
    }

    /// CPU time of the calling thread (Linux), so a busy machine still gives per-core figures.
    fn thread_cpu_secs() -> f64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| {
                s.split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .map_or(0.0, |ns| ns as f64 / 1e9)
    }

    /// Construction time and classify/s; run with
    /// `cargo test --release --lib useragent::tests::bench_classify -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn bench_classify() {
        let (started, cpu) = (Instant::now(), thread_cpu_secs());
        let uas = UserAgents::new().unwrap();
        println!(
            "UserAgents::new: {:?} wall, {:.3} s CPU",
            started.elapsed(),
            thread_cpu_secs() - cpu
        );
        let samples = [
            "VLC/3.0.18 LibVLC/3.0.18",
            "Lavf/60.3.100",
            "AppleCoreMedia/1.0.0.20G75 (iPhone; U; CPU OS 16_6 like Mac OS X; en_us)",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36",
        ];
        let started = Instant::now();
        for s in &samples {
            uas.classify(Some(s));
        }
        println!(
            "{} cold classifications: {:?}",
            samples.len(),
            started.elapsed()
        );
        const N: usize = 1_000_000;
        let (started, cpu) = (Instant::now(), thread_cpu_secs());
        for i in 0..N {
            std::hint::black_box(uas.classify(Some(samples[i % samples.len()])));
        }
        println!(
            "cached: {:.0} classify/s wall, {:.0} per CPU-second",
            N as f64 / started.elapsed().as_secs_f64(),
            N as f64 / (thread_cpu_secs() - cpu)
        );
        let (started, cpu) = (Instant::now(), thread_cpu_secs());
        let misses = 2_000;
        for i in 0..misses {
            let ua =
                format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/{i}.0 Safari/537.36");
            std::hint::black_box(uas.classify(Some(&ua)));
        }
        println!(
            "uncached: {:.0} classify/s wall, {:.0} per CPU-second",
            misses as f64 / started.elapsed().as_secs_f64(),
            misses as f64 / (thread_cpu_secs() - cpu)
        );
    }
}
