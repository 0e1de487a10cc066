//! User agent → player/device family (interface stub).

/// Device class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Desktop,
    Mobile,
    Tablet,
    Tv,
    Bot,
    Other,
}

impl Device {
    /// Lower-case name.
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

/// Classification result.
#[derive(Debug, Clone)]
pub struct Player {
    pub family: String,
    pub device: Device,
    pub os: String,
}

/// Error building the parser.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UaError(pub String);

/// The parser.
pub struct UserAgents {}

impl UserAgents {
    /// Builds the parser.
    pub fn new() -> Result<Self, UaError> {
        Ok(UserAgents {})
    }
    /// Classifies a user agent.
    pub fn classify(&self, ua: Option<&str>) -> Player {
        let family = ua.and_then(|u| u.split('/').next()).unwrap_or("Unknown").to_string();
        Player { family, device: Device::Other, os: String::new() }
    }
}
