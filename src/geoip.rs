//! GeoIP: City + ASN readers behind one lookup function (interface stub; full reader merged
//! from the enrichment work).

use std::net::IpAddr;
use std::path::PathBuf;

/// Configured database files.
#[derive(Debug, Clone, Default)]
pub struct GeoIpConfig {
    pub city: Option<PathBuf>,
    pub asn: Option<PathBuf>,
}

/// Region (first subdivision).
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub code: String,
    pub name: String,
}

/// City.
#[derive(Debug, Clone, PartialEq)]
pub struct City {
    pub id: u32,
    pub name: String,
}

/// Autonomous system.
#[derive(Debug, Clone, PartialEq)]
pub struct Asn {
    pub number: u32,
    pub org: String,
}

/// What one lookup found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeoInfo {
    pub country: Option<[u8; 2]>,
    pub region: Option<Region>,
    pub city: Option<City>,
    pub asn: Option<Asn>,
}

/// GeoIP error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GeoIpError(pub String);

/// The readers.
pub struct GeoIp {}

impl GeoIp {
    /// Opens the configured databases.
    pub fn open(_cfg: &GeoIpConfig) -> Result<GeoIp, GeoIpError> {
        Ok(GeoIp {})
    }
    /// Looks up one address.
    pub fn lookup(&self, _ip: IpAddr) -> GeoInfo {
        GeoInfo::default()
    }
    /// Re-reads replaced files.
    pub fn reload_if_changed(&self) -> Result<bool, GeoIpError> {
        Ok(false)
    }
    /// Sources and attribution.
    pub fn about(&self) -> serde_json::Value {
        serde_json::json!([])
    }
}

/// English country name.
pub fn country_name(_code: &str) -> Option<&'static str> {
    None
}
