//! Tenancy records: accounts, users, servers, API tokens, login sessions, slices,
//! invitations and branding. Plain data: no I/O, no HTTP.
//!
//! These types are stored with postcard, which is not self-describing: fields are only ever
//! appended, and `store::meta` still reads the layouts written before an append.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Random 64-bit identifier, shown as 16 hex digits so ids cannot be guessed or enumerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Id(pub u64);

impl Id {
    /// A new random id from the OS RNG.
    pub fn random() -> Id {
        Id(rand::random::<u64>() | 1)
    }

    /// Parses the 16-hex-digit form; anything else is `None` (and so "not found").
    pub fn parse(text: &str) -> Option<Id> {
        if text.len() != 16 {
            return None;
        }
        u64::from_str_radix(text, 16).ok().map(Id)
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A customer of the instance operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: Id,
    pub name: String,
    pub created_at: i64,
    /// Custom domains that select this account's branding.
    pub domains: Vec<String>,
    /// New reports are refused (data kept) while set.
    pub processing_restricted: bool,
    /// IANA time zone used for day boundaries (salts, daily reports).
    pub timezone: String,
    /// Quotas set by the operator.
    pub limits: Limits,
}

/// Quotas of an account; `None` means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Most servers the account may register.
    pub max_servers: Option<u32>,
    /// Most users the account may have (pending invitations count).
    pub max_users: Option<u32>,
}

/// What a user may do within an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees traffic reports only.
    Billing,
    /// Reads everything, changes nothing.
    Viewer,
    /// Changes servers, tokens and settings.
    Admin,
    /// Admin plus users and deletion of the account's data.
    Owner,
}

impl Role {
    /// Parses `owner|admin|viewer|billing`.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            "billing" => Some(Role::Billing),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
            Role::Billing => "billing",
        }
    }

    /// May change servers, tokens and settings.
    pub fn can_write(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// A person who logs into the panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: Id,
    pub account_id: Id,
    /// Lower-cased e-mail address, unique over the instance.
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Instance operator: manages all accounts.
    pub operator: bool,
    /// argon2id PHC string.
    pub password_hash: String,
    pub created_at: i64,
    /// Second factor, when set up.
    pub totp: Option<TotpState>,
    /// Slices the user is limited to; empty means the whole account.
    pub slices: Vec<Id>,
}

/// A user's TOTP second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpState {
    /// Shared secret (160 bits).
    pub secret: Vec<u8>,
    /// False until the user proved possession with a code; login asks for codes only then.
    pub enabled: bool,
    /// Last accepted time step: a code is accepted once (RFC 6238 §5.2).
    pub last_step: u64,
}

impl User {
    /// True when login needs a TOTP code.
    pub fn totp_enabled(&self) -> bool {
        self.totp.as_ref().is_some_and(|t| t.enabled)
    }
}

/// A media server that pushes reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Server {
    pub id: Id,
    pub account_id: Id,
    pub name: String,
    pub created_at: i64,
    /// SHA-256 of the ingest token.
    pub token_hash: [u8; 32],
}

/// The secret path segment of a server's hook URLs (`/hooks/v1/{secret}/…`), by which media
/// servers that push notifications are recognised. Only its SHA-256 is stored, so it is shown
/// once, when it is created or rotated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookSecret {
    /// SHA-256 of the secret.
    pub hash: [u8; 32],
    pub created_at: i64,
}

/// A browser login (stored under the hash of its token; listed through a per-user index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginSession {
    pub user_id: Id,
    pub created_at: i64,
    pub expires_at: i64,
    /// Public id, for listing and revoking (the token itself is never shown again).
    pub id: Id,
    /// Client address truncated like the activity log's (`203.0.113.0/24`).
    pub ip: Option<String>,
    /// Browser's user agent, cut to 200 characters.
    pub user_agent: String,
}

/// Scope of an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Reads only.
    Read,
    /// Changes data and settings (servers, slices, branding).
    Write,
    /// Also manages credentials and people (users, invitations, tokens, accounts).
    Admin,
}

impl Scope {
    /// Parses `read|write|admin`.
    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

/// A personal API token (stored hashed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: Id,
    pub user_id: Id,
    pub name: String,
    pub scope: Scope,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    /// Client networks the token may be used from; empty means anywhere.
    pub allowed_ips: Vec<IpNet>,
}

/// A named subset of an account's servers, apps and streams, with its own time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    pub id: Id,
    pub account_id: Id,
    pub name: String,
    /// Servers in the slice; empty means every server of the account.
    pub servers: Vec<Id>,
    /// Apps whose name matches (unanchored regex); `None` means every app.
    pub app_regex: Option<String>,
    /// Streams whose name matches (unanchored regex); `None` means every stream.
    pub stream_regex: Option<String>,
    /// IANA time zone for the slice's daily reports.
    pub timezone: String,
    pub created_at: i64,
}

/// A pending invitation: whoever holds the link may create this user once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: Id,
    pub account_id: Id,
    /// Lower-cased e-mail address the user will log in with.
    pub email: String,
    pub role: Role,
    pub slices: Vec<Id>,
    /// E-mail of who invited, for the activity log and the accept page.
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Brand settings of the instance or of one account. `None` fields inherit: an account's
/// from the instance's, the instance's from the built-in defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    pub product_name: Option<String>,
    pub accent_color: Option<String>,
    pub background_color: Option<String>,
    pub surface_color: Option<String>,
    pub text_color: Option<String>,
    pub support_contact: Option<String>,
    pub privacy_contact: Option<String>,
    pub privacy_notice: Option<String>,
    /// Show "powered by Tally"; `None` inherits (default: shown).
    pub powered_by: Option<bool>,
    /// Short content hash of the uploaded logo (cache-busting query string), if any.
    pub logo_version: Option<String>,
    /// Short content hash of the uploaded favicon, if any.
    pub favicon_version: Option<String>,
}

/// An uploaded brand image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandAsset {
    /// `image/png`, `image/jpeg`, `image/webp` or `image/svg+xml`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}
