//! Tenancy records: accounts, users, servers, API tokens, login sessions.

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

/// A browser login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginSession {
    pub user_id: Id,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Scope of an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
    Admin,
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
}
