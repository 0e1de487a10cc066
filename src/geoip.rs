//! GeoIP: turns a viewer IP into country, region, city and AS number, behind one lookup.
//!
//! Owns the databases and nothing else: the embedded DB-IP Lite country database (used only
//! when no City file is configured), the operator's optional City and ASN files (MaxMind
//! GeoIP2/GeoLite2 schema or the flat DB-IP / ip-location-db schema, told apart per field by
//! the `record` module), their validation at open, and their reload when a file is replaced.
//!
//! It must not keep, log or return the IP it is given: callers drop the address right after
//! [`GeoIp::lookup`], which is the privacy boundary described in DESIGN.md.
//!
//! Files are read whole into memory (`unsafe_code` is forbidden, so no mmap) and every
//! record a lookup could reach is decoded once at open, so a file that is corrupt anywhere
//! a lookup would go fails at start (or at reload, keeping the previous reader) rather than
//! at some later lookup.

mod countries;
mod record;

use std::borrow::Cow;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use maxminddb::{MaxMindDbError, Reader, WithinOptions};
use parking_lot::Mutex;
use serde::Serialize;

pub use countries::country_name;
use record::{AsnRecord, LocationRecord};

/// The country database compiled into the binary: DB-IP Lite, flat `country_code` schema.
static EMBEDDED_COUNTRY: &[u8] = include_bytes!("../assets/geoip/dbip-country.mmdb");

/// Attribution that the DB-IP Lite licence (CC BY 4.0) requires wherever its data is shown.
pub const DBIP_ATTRIBUTION: &str = "IP geolocation by DB-IP (https://db-ip.com), CC BY 4.0";

const MAXMIND_GEOLITE_ATTRIBUTION: &str = "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com";
const MAXMIND_GEOIP_ATTRIBUTION: &str = "GeoIP2 data by MaxMind (https://www.maxmind.com)";

/// Where the optional operator-supplied databases live (`--geoip-city`, `--geoip-asn`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoIpConfig {
    /// City (or Country) database. When set it is also the source of the country.
    pub city: Option<PathBuf>,
    /// ASN database.
    pub asn: Option<PathBuf>,
}

/// What a database is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GeoIpKind {
    /// Country only (the embedded database).
    Country,
    /// Country, region and city (`--geoip-city`).
    City,
    /// Autonomous system number and organisation (`--geoip-asn`).
    Asn,
}

impl GeoIpKind {
    /// Lower-case name, as used in option names and in `/api/v1/about`.
    pub fn as_str(self) -> &'static str {
        match self {
            GeoIpKind::Country => "country",
            GeoIpKind::City => "city",
            GeoIpKind::Asn => "asn",
        }
    }

    fn option(self) -> &'static str {
        match self {
            GeoIpKind::Country | GeoIpKind::City => "--geoip-city",
            GeoIpKind::Asn => "--geoip-asn",
        }
    }
}

impl fmt::Display for GeoIpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A database that cannot be used. Every message names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum GeoIpError {
    /// The file is missing, unreadable or not a regular file.
    #[error(
        "cannot read the GeoIP {kind} database {}: {source}; check the path and its permissions, or remove {}",
        path.display(), kind.option()
    )]
    Read {
        /// Which option named the file.
        kind: GeoIpKind,
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: io::Error,
    },
    /// The file is not a valid MaxMind DB (`.mmdb`) file, or is corrupt or truncated.
    #[error(
        "the GeoIP {kind} database {} is not a valid or complete .mmdb file ({source}); download it again or point {} at another file",
        path.display(), kind.option()
    )]
    Invalid {
        /// Which option named the file.
        kind: GeoIpKind,
        /// The file.
        path: PathBuf,
        /// What the reader found wrong.
        #[source]
        source: MaxMindDbError,
    },
    /// The file is a valid database of another kind, e.g. an ASN file given as the City one.
    #[error(
        "the GeoIP database {} (database_type \"{database_type}\") holds no {kind} data; {} needs {}",
        path.display(), kind.option(), expected_kind(*kind)
    )]
    WrongKind {
        /// Which option named the file.
        kind: GeoIpKind,
        /// The file.
        path: PathBuf,
        /// The file's own `database_type`.
        database_type: String,
    },
    /// The file changed while it was being read (a copy in progress).
    #[error(
        "the GeoIP {kind} database {} changed while it was being read; replace it atomically (write a temporary file, then rename it over the old one) and try again",
        path.display()
    )]
    Changing {
        /// Which option named the file.
        kind: GeoIpKind,
        /// The file.
        path: PathBuf,
    },
}

fn expected_kind(kind: GeoIpKind) -> &'static str {
    match kind {
        GeoIpKind::Country | GeoIpKind::City => {
            "a City or Country database (GeoIP2/GeoLite2 City or Country, DB-IP city or country)"
        }
        GeoIpKind::Asn => "an ASN database (GeoLite2 ASN, DB-IP or ip-location-db ASN)",
    }
}

/// What one lookup found. Every field is `None` when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoInfo {
    /// ISO 3166-1 alpha-2 code, upper case (see [`country_name`]).
    pub country: Option<[u8; 2]>,
    /// The first (largest) subdivision.
    pub region: Option<Region>,
    /// The city.
    pub city: Option<City>,
    /// The autonomous system.
    pub asn: Option<Asn>,
}

impl GeoInfo {
    /// The country code as a `&str` (e.g. `"GB"`).
    pub fn country_code(&self) -> Option<&str> {
        self.country
            .as_ref()
            .and_then(|c| std::str::from_utf8(c).ok())
    }
}

/// A country's first-level subdivision (England, California, Stockholm County…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Stable key: country code, `-`, then the ISO 3166-2 subdivision code (`"GB-ENG"`).
    /// Flat-schema databases carry no subdivision codes; there the subdivision's name takes
    /// its place (`"GB-England"`).
    pub code: String,
    /// English name (`"England"`); the subdivision code when the database has no name.
    pub name: String,
}

/// A city.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct City {
    /// GeoNames id (`city.geoname_id`). Databases without one (flat schemas) get a stable
    /// FNV-1a hash of country, region name and city name with the top bit set, so it can
    /// never collide with a GeoNames id (those stay below 2^31).
    pub id: u32,
    /// English name.
    pub name: String,
}

/// An autonomous system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asn {
    /// AS number (`15169`).
    pub number: u32,
    /// Organisation name; empty when the database has none.
    pub org: String,
}

/// What `/api/v1/about` shows about the GeoIP sources, including their attribution.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GeoIpAbout {
    /// One entry per database in use: the country source first, then ASN.
    pub sources: Vec<GeoIpSourceAbout>,
}

/// One database in use.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GeoIpSourceAbout {
    /// What it is used for.
    pub kind: GeoIpKind,
    /// The file's path, or `"embedded DB-IP Lite"`.
    pub source: String,
    /// The database's own `database_type` metadata (e.g. `"GeoLite2-City"`).
    pub database_type: String,
    /// When the database was built, in Unix seconds.
    pub build_epoch: u64,
    /// The credit line its licence asks for.
    pub attribution: String,
    /// Why the last attempt to reload a replaced file failed; the previous data stays in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reload_error: Option<String>,
}

/// The database buffer: borrowed for the embedded file, owned for files read from disk.
type Db = Reader<Cow<'static, [u8]>>;

/// Identifies one version of a file: a rename changes the inode, a rewrite the mtime or size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    len: u64,
    modified: Option<SystemTime>,
    dev: u64,
    ino: u64,
}

impl FileIdentity {
    fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        FileIdentity {
            len: meta.len(),
            modified: meta.modified().ok(),
            dev,
            ino,
        }
    }
}

/// One opened database and what `about` says of it.
struct Loaded {
    reader: Db,
    identity: Option<FileIdentity>,
    about: GeoIpSourceAbout,
}

/// The last version of a file that failed to load, so an unchanged bad file is not re-read
/// (and re-reported) on every poll.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Missing,
    File(FileIdentity),
}

struct Failure {
    seen: Seen,
    message: String,
}

/// An operator-supplied file: the reader in use plus what reloading needs.
struct FileSlot {
    kind: GeoIpKind,
    path: PathBuf,
    current: ArcSwap<Loaded>,
    /// Serialises reloads (held while a file is read and scanned).
    reloading: Mutex<()>,
    /// The last bad version, if the file on disk is one (held only briefly, for `about`).
    failure: Mutex<Option<Failure>>,
}

/// City + ASN lookups behind one call; cheap to share (`Sync`), reloadable in place.
pub struct GeoIp {
    /// The embedded country database, present only when no City file is configured.
    embedded: Option<Loaded>,
    city: Option<FileSlot>,
    asn: Option<FileSlot>,
}

impl fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeoIp")
            .field("about", &self.about())
            .finish()
    }
}

impl GeoIp {
    /// Opens the configured files (and the embedded country database when no City file is
    /// given), reading and validating each one completely.
    ///
    /// A missing, unreadable, corrupt or wrong-kind file is an error naming the file; the
    /// caller should refuse to start.
    pub fn open(cfg: &GeoIpConfig) -> Result<GeoIp, GeoIpError> {
        let city = cfg
            .city
            .as_deref()
            .map(|p| FileSlot::open(GeoIpKind::City, p))
            .transpose()?;
        let asn = cfg
            .asn
            .as_deref()
            .map(|p| FileSlot::open(GeoIpKind::Asn, p))
            .transpose()?;
        let embedded = match city {
            Some(_) => None,
            None => Some(open_embedded()?),
        };
        Ok(GeoIp {
            embedded,
            city,
            asn,
        })
    }

    /// Looks `ip` up in every configured database. Never fails: anything unknown, any
    /// address family the database lacks and any unreadable record give `None` fields.
    ///
    /// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are looked up as the IPv4 address.
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo {
        let ip = ip.to_canonical();
        let mut info = GeoInfo::default();
        if let Some(slot) = &self.city {
            fill_location(&mut info, &slot.current.load().reader, ip);
        } else if let Some(embedded) = &self.embedded {
            fill_location(&mut info, &embedded.reader, ip);
        }
        if let Some(slot) = &self.asn {
            let loaded = slot.current.load();
            if let Some(rec) = decode::<AsnRecord>(&loaded.reader, ip) {
                info.asn = rec.number.map(|number| Asn {
                    number,
                    org: rec.org.map(str::to_owned).unwrap_or_default(),
                });
            }
        }
        info
    }

    /// Re-reads every configured file that was replaced (renamed over or rewritten: its inode,
    /// size or mtime changed) since it was loaded, and swaps it in once it validates.
    ///
    /// Returns whether any database was swapped. On a bad new file the previous data stays in
    /// use and the error is returned; that same bad version is not read or reported again
    /// (it shows in [`GeoIp::about`] as `reload_error`) until the file changes once more.
    /// A file that is still being written is left for the next call.
    pub fn reload_if_changed(&self) -> Result<bool, GeoIpError> {
        let mut swapped = false;
        let mut first_error = None;
        for slot in [&self.city, &self.asn].into_iter().flatten() {
            match slot.reload_if_changed() {
                Ok(s) => swapped |= s,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(swapped),
        }
    }

    /// The databases in use, with their build dates and the attribution each one requires.
    pub fn about(&self) -> GeoIpAbout {
        let mut sources = Vec::with_capacity(2);
        if let Some(embedded) = &self.embedded {
            sources.push(embedded.about.clone());
        }
        for slot in [&self.city, &self.asn].into_iter().flatten() {
            let mut about = slot.current.load().about.clone();
            about.reload_error = slot.failure.lock().as_ref().map(|f| f.message.clone());
            sources.push(about);
        }
        GeoIpAbout { sources }
    }
}

impl FileSlot {
    fn open(kind: GeoIpKind, path: &Path) -> Result<FileSlot, GeoIpError> {
        let loaded = load_file(kind, path)?;
        Ok(FileSlot {
            kind,
            path: path.to_owned(),
            current: ArcSwap::from_pointee(loaded),
            reloading: Mutex::new(()),
            failure: Mutex::new(None),
        })
    }

    fn reload_if_changed(&self) -> Result<bool, GeoIpError> {
        let _reloading = self.reloading.lock();
        let seen = match fs::metadata(&self.path) {
            Ok(meta) => Seen::File(FileIdentity::of(&meta)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Seen::Missing,
            Err(source) => {
                return Err(GeoIpError::Read {
                    kind: self.kind,
                    path: self.path.clone(),
                    source,
                });
            }
        };
        if let Seen::File(id) = &seen
            && self.current.load().identity.as_ref() == Some(id)
        {
            // Back to the version in use (e.g. a bad copy was undone): nothing to report.
            *self.failure.lock() = None;
            return Ok(false);
        }
        if self.failure.lock().as_ref().is_some_and(|f| f.seen == seen) {
            return Ok(false);
        }
        let result = match seen {
            // A missing file is most often a replacement in progress (delete, then copy);
            // keep serving the old data and report it once.
            Seen::Missing => Err(GeoIpError::Read {
                kind: self.kind,
                path: self.path.clone(),
                source: io::Error::from(io::ErrorKind::NotFound),
            }),
            Seen::File(_) => load_file(self.kind, &self.path),
        };
        match result {
            Ok(loaded) => {
                self.current.store(Arc::new(loaded));
                *self.failure.lock() = None;
                Ok(true)
            }
            // Still being written: look again next time.
            Err(GeoIpError::Changing { .. }) => Ok(false),
            Err(e) => {
                *self.failure.lock() = Some(Failure {
                    seen,
                    message: e.to_string(),
                });
                Err(e)
            }
        }
    }
}

fn open_embedded() -> Result<Loaded, GeoIpError> {
    let invalid = |source| GeoIpError::Invalid {
        kind: GeoIpKind::Country,
        path: PathBuf::from("<embedded DB-IP Lite>"),
        source,
    };
    // Trusted and validated by a unit test, so no full scan here: start-up stays instant.
    let reader = Reader::from_source(Cow::Borrowed(EMBEDDED_COUNTRY)).map_err(invalid)?;
    let meta = reader.metadata();
    let about = GeoIpSourceAbout {
        kind: GeoIpKind::Country,
        source: "embedded DB-IP Lite".to_owned(),
        database_type: meta.database_type.clone(),
        build_epoch: meta.build_epoch,
        attribution: DBIP_ATTRIBUTION.to_owned(),
        reload_error: None,
    };
    Ok(Loaded {
        reader,
        identity: None,
        about,
    })
}

/// Reads `path` whole, checks it is a complete database of the right kind, and decodes every
/// record reachable from its search tree once.
fn load_file(kind: GeoIpKind, path: &Path) -> Result<Loaded, GeoIpError> {
    let read_err = |source| GeoIpError::Read {
        kind,
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(read_err)?;
    let before = file.metadata().map_err(read_err)?;
    if !before.is_file() {
        return Err(read_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let capacity = usize::try_from(before.len()).unwrap_or(0);
    let mut buf = Vec::with_capacity(capacity);
    file.read_to_end(&mut buf).map_err(read_err)?;
    let identity = FileIdentity::of(&before);
    let after = file.metadata().map_err(read_err)?;
    if FileIdentity::of(&after) != identity || buf.len() as u64 != identity.len {
        return Err(GeoIpError::Changing {
            kind,
            path: path.to_owned(),
        });
    }

    let invalid = |source| GeoIpError::Invalid {
        kind,
        path: path.to_owned(),
        source,
    };
    let reader = Reader::from_source(Cow::Owned(buf)).map_err(invalid)?;
    let useful = scan(&reader, kind).map_err(invalid)?;
    let meta = reader.metadata();
    if !useful {
        return Err(GeoIpError::WrongKind {
            kind,
            path: path.to_owned(),
            database_type: meta.database_type.clone(),
        });
    }
    let about = GeoIpSourceAbout {
        kind,
        source: path.display().to_string(),
        database_type: meta.database_type.clone(),
        build_epoch: meta.build_epoch,
        attribution: attribution_for(path, &meta.database_type, &meta.description),
        reload_error: None,
    };
    Ok(Loaded {
        reader,
        identity: Some(identity),
        about,
    })
}

/// Walks the whole search tree and decodes each distinct record once, as `kind` lookups will.
///
/// This is what makes "corrupt file" an error at open instead of a surprise at lookup time: a
/// broken tree pointer fails the walk and a broken record fails its decode. Only the fields a
/// lookup reads are followed, exactly like a lookup. Returns whether any record holds data of
/// the expected kind (false for, say, an ASN file given as the City database).
fn scan(reader: &Db, kind: GeoIpKind) -> Result<bool, MaxMindDbError> {
    let mut seen = OffsetSet::default();
    let mut useful = false;
    for item in reader.networks(WithinOptions::default())? {
        let result = item?;
        let Some(offset) = result.offset() else {
            continue;
        };
        if !seen.insert(offset) {
            continue;
        }
        useful |= match kind {
            GeoIpKind::Country | GeoIpKind::City => result
                .decode::<LocationRecord>()?
                .is_some_and(|r| r.has_location()),
            GeoIpKind::Asn => result
                .decode::<AsnRecord>()?
                .is_some_and(|r| r.number.is_some()),
        };
    }
    Ok(useful)
}

/// A growable bitmap of data-section offsets already decoded during [`scan`]: one bit per byte
/// of data section, far smaller than a hash set of millions of offsets.
#[derive(Default)]
struct OffsetSet {
    words: Vec<u64>,
}

impl OffsetSet {
    /// Adds `offset`; returns whether it was new.
    fn insert(&mut self, offset: usize) -> bool {
        let (word, bit) = (offset / 64, offset % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let mask = 1u64 << bit;
        let new = self.words[word] & mask == 0;
        self.words[word] |= mask;
        new
    }
}

/// Decodes the record for `ip`, or `None` on a miss, an address family the database lacks,
/// or a record that cannot be read.
fn decode<'a, T: serde::Deserialize<'a>>(reader: &'a Db, ip: IpAddr) -> Option<T> {
    reader.lookup(ip).ok()?.decode::<T>().ok().flatten()
}

fn fill_location(info: &mut GeoInfo, reader: &Db, ip: IpAddr) {
    let Some(rec) = decode::<LocationRecord>(reader, ip) else {
        return;
    };
    let Some(country) = rec
        .country
        .or(rec.registered_country)
        .and_then(parse_country)
    else {
        // A region or city without its country cannot be keyed; report nothing.
        return;
    };
    info.country = Some(country);
    let cc = country_str(&country);
    if let Some(label) = rec.region_name.or(rec.region_code) {
        let suffix = rec.region_code.unwrap_or(label);
        let mut code = String::with_capacity(3 + suffix.len());
        code.push_str(cc);
        code.push('-');
        code.push_str(suffix);
        info.region = Some(Region {
            code,
            name: label.to_owned(),
        });
    }
    if let Some(name) = rec.city_name {
        let id = rec
            .city_id
            .unwrap_or_else(|| flat_city_id(cc, rec.region_name, name));
        info.city = Some(City {
            id,
            name: name.to_owned(),
        });
    }
}

/// Two ASCII letters, upper-cased; `ZZ` (DB-IP's "unknown") and anything else give `None`.
fn parse_country(code: &str) -> Option<[u8; 2]> {
    match code.as_bytes() {
        &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            let cc = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
            (cc != *b"ZZ").then_some(cc)
        }
        _ => None,
    }
}

fn country_str(cc: &[u8; 2]) -> &str {
    // Always ASCII letters (checked by `parse_country`).
    std::str::from_utf8(cc).unwrap_or("")
}

/// FNV-1a (32-bit) of `country \0 region \0 city`, top bit set. Stable across releases and
/// platforms, unlike `std`'s hashers, because stored rollups key cities by this id.
fn flat_city_id(country: &str, region: Option<&str>, city: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let parts = [
        country.as_bytes(),
        b"\0",
        region.unwrap_or("").as_bytes(),
        b"\0",
        city.as_bytes(),
    ];
    for byte in parts.into_iter().flatten() {
        h ^= u32::from(*byte);
        h = h.wrapping_mul(0x0100_0193);
    }
    h | 0x8000_0000
}

/// The credit line for a user-supplied file, from its metadata or, for the flat
/// ip-location-db files whose metadata names no vendor, from its file name.
fn attribution_for(
    path: &Path,
    database_type: &str,
    description: &std::collections::BTreeMap<String, String>,
) -> String {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let description_en = description.get("en").map(String::as_str).unwrap_or("");
    let mentions = |needle: &str| {
        database_type.to_ascii_lowercase().contains(needle)
            || file_name.contains(needle)
            || description_en.to_ascii_lowercase().contains(needle)
    };
    if database_type.starts_with("GeoLite2") || mentions("geolite") {
        MAXMIND_GEOLITE_ATTRIBUTION.to_owned()
    } else if database_type.starts_with("GeoIP2") {
        MAXMIND_GEOIP_ATTRIBUTION.to_owned()
    } else if mentions("dbip") || mentions("db-ip") {
        DBIP_ATTRIBUTION.to_owned()
    } else if !description_en.is_empty() {
        description_en.to_owned()
    } else {
        format!("IP data from {}", path.display())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
