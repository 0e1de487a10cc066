//! The activity log: who did what, when, from where. Append-only; entries keep the actor's
//! address truncated (IPv4 /24, IPv6 /48) and its country, never the full address
//! (privacy invariant 3).
//!
//! This module owns the entry type, the list of actions and address truncation; `store::meta`
//! keeps the entries (one tree keyed `account ‖ time ‖ nonce`), and `http::api::activity`
//! lists them. Recording never fails the action it records: a write error is logged.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::geoip::GeoIp;
use crate::model::account::Id;
use crate::store::MetaStore;

/// How long entries are kept before [`purge_expired`] deletes them.
pub const RETENTION_DAYS: i64 = 400;

/// One recorded action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix seconds.
    pub time: i64,
    /// E-mail of who acted (`cli` for the admin socket, the attempted address for failed logins).
    pub actor: String,
    /// One of [`Action::as_str`].
    pub action: String,
    /// What was acted on, e.g. `server 0123456789abcdef (edge-1)`.
    pub target: String,
    /// Actor's address, truncated: `203.0.113.0/24` or `2001:db8:1::/48`.
    pub ip: Option<String>,
    /// ISO country code of the actor's address, when GeoIP knows it.
    pub country: Option<String>,
}

/// Every kind of recorded action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Login,
    LoginFailed,
    Logout,
    PasswordChanged,
    PasswordReset,
    TotpEnabled,
    TotpDisabled,
    SessionRevoked,
    ServerAdded,
    ServerRemoved,
    TokenCreated,
    TokenRevoked,
    UserAdded,
    UserRemoved,
    UserRoleChanged,
    UserUpdated,
    InvitationCreated,
    InvitationAccepted,
    InvitationRevoked,
    AccountCreated,
    AccountUpdated,
    SettingsChanged,
    BrandingChanged,
    SliceCreated,
    SliceUpdated,
    SliceDeleted,
    Export,
    Deletion,
    RetentionChanged,
}

impl Action {
    /// Every action, for validating filters.
    pub const ALL: [Action; 29] = [
        Action::Login,
        Action::LoginFailed,
        Action::Logout,
        Action::PasswordChanged,
        Action::PasswordReset,
        Action::TotpEnabled,
        Action::TotpDisabled,
        Action::SessionRevoked,
        Action::ServerAdded,
        Action::ServerRemoved,
        Action::TokenCreated,
        Action::TokenRevoked,
        Action::UserAdded,
        Action::UserRemoved,
        Action::UserRoleChanged,
        Action::UserUpdated,
        Action::InvitationCreated,
        Action::InvitationAccepted,
        Action::InvitationRevoked,
        Action::AccountCreated,
        Action::AccountUpdated,
        Action::SettingsChanged,
        Action::BrandingChanged,
        Action::SliceCreated,
        Action::SliceUpdated,
        Action::SliceDeleted,
        Action::Export,
        Action::Deletion,
        Action::RetentionChanged,
    ];

    /// Stable snake-case name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::LoginFailed => "login_failed",
            Action::Logout => "logout",
            Action::PasswordChanged => "password_changed",
            Action::PasswordReset => "password_reset",
            Action::TotpEnabled => "totp_enabled",
            Action::TotpDisabled => "totp_disabled",
            Action::SessionRevoked => "session_revoked",
            Action::ServerAdded => "server_added",
            Action::ServerRemoved => "server_removed",
            Action::TokenCreated => "token_created",
            Action::TokenRevoked => "token_revoked",
            Action::UserAdded => "user_added",
            Action::UserRemoved => "user_removed",
            Action::UserRoleChanged => "user_role_changed",
            Action::UserUpdated => "user_updated",
            Action::InvitationCreated => "invitation_created",
            Action::InvitationAccepted => "invitation_accepted",
            Action::InvitationRevoked => "invitation_revoked",
            Action::AccountCreated => "account_created",
            Action::AccountUpdated => "account_updated",
            Action::SettingsChanged => "settings_changed",
            Action::BrandingChanged => "branding_changed",
            Action::SliceCreated => "slice_created",
            Action::SliceUpdated => "slice_updated",
            Action::SliceDeleted => "slice_deleted",
            Action::Export => "export",
            Action::Deletion => "deletion",
            Action::RetentionChanged => "retention_changed",
        }
    }

    /// Parses a stored or query-string name.
    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// Truncates an address for storage: IPv4 to its /24, IPv6 to its /48 (IPv4-mapped IPv6
/// addresses count as IPv4).
pub fn truncate_ip(ip: IpAddr) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let net = match ip {
        IpAddr::V4(_) => ipnet::IpNet::new(ip, 24),
        IpAddr::V6(_) => ipnet::IpNet::new(ip, 48),
    };
    net.map(|n| n.trunc().to_string()).unwrap_or_default()
}

/// What to record; the time, truncated address and country are filled in by [`record`].
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// The account the entry belongs to; `store::meta::INSTANCE` for instance-level events.
    pub account: Id,
    pub actor: &'a str,
    pub action: Action,
    pub target: String,
    /// The actor's full address: only its truncation and country are kept.
    pub ip: Option<IpAddr>,
}

/// Appends an entry at `now`. Never fails the caller: a storage error is logged instead.
pub fn record(meta: &MetaStore, geo: &GeoIp, now: i64, ev: Event<'_>) {
    let country = ev
        .ip
        .and_then(|ip| geo.lookup(ip).country)
        .map(|c| String::from_utf8_lossy(&c).into_owned());
    let entry = Entry {
        time: now,
        actor: ev.actor.chars().take(254).collect(),
        action: ev.action.as_str().to_string(),
        target: ev.target.chars().take(300).collect(),
        ip: ev.ip.map(truncate_ip),
        country,
    };
    if let Err(e) = meta.append_activity(ev.account, &entry) {
        tracing::error!(error = %e, action = entry.action, "could not record activity");
    }
}

/// Deletes entries older than [`RETENTION_DAYS`]; for the retention job.
pub fn purge_expired(meta: &MetaStore, now: i64) -> Result<usize, crate::store::StoreError> {
    meta.purge_activity_before(now - RETENTION_DAYS * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_truncated_to_24_and_48_bits() {
        assert_eq!(
            truncate_ip("203.0.113.77".parse().unwrap()),
            "203.0.113.0/24"
        );
        assert_eq!(
            truncate_ip("2001:db8:dead:beef::4242".parse().unwrap()),
            "2001:db8:dead::/48"
        );
        assert_eq!(
            truncate_ip("::ffff:198.51.100.9".parse().unwrap()),
            "198.51.100.0/24"
        );
    }

    #[test]
    fn action_names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        assert_eq!(Action::parse("nope"), None);
    }
}
