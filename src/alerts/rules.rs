//! Alert rules, their per-target evaluation state and the history records: plain data that
//! `store::meta` persists (postcard, fields only ever appended) and the API maps to JSON.
//! No I/O here.

use serde::{Deserialize, Serialize};

use crate::model::account::Id;

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// No report from a server for `after_s`.
    ServerOffline,
    /// A stream that was seen publishing is gone (or stopped publishing).
    StreamDown,
    /// A stream is publishing (again).
    StreamUp,
    /// Host CPU %, per server.
    Cpu,
    /// Host RAM used %, per server.
    Ram,
    /// Concurrent viewers, per server (or per stream when the scope names an app or stream).
    Viewers,
    /// Outgoing bandwidth in bits per second, per server (or per stream, as for viewers).
    Bandwidth,
}

impl Kind {
    /// Every kind with its wire name.
    pub const ALL: [(Kind, &'static str); 7] = [
        (Kind::ServerOffline, "server_offline"),
        (Kind::StreamDown, "stream_down"),
        (Kind::StreamUp, "stream_up"),
        (Kind::Cpu, "cpu"),
        (Kind::Ram, "ram"),
        (Kind::Viewers, "viewers"),
        (Kind::Bandwidth, "bandwidth"),
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        Kind::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("unknown", |(_, n)| n)
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.iter().find(|(_, n)| *n == text).map(|(k, _)| *k)
    }

    /// Whether the rule compares a number with a threshold.
    pub fn is_threshold(self) -> bool {
        matches!(
            self,
            Kind::Cpu | Kind::Ram | Kind::Viewers | Kind::Bandwidth
        )
    }
}

/// Which side of the threshold is trouble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Fires when the value is above the threshold.
    Above,
    /// Fires when the value is below the threshold.
    Below,
}

/// What a rule covers inside its account; an empty scope is the whole account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// One server, or every server of the account.
    pub server: Option<Id>,
    /// An application name, or any.
    pub app: Option<String>,
    /// A stream name, or any.
    pub stream: Option<String>,
}

impl Scope {
    /// Whether a stream of `server` is inside the scope.
    pub fn covers_stream(&self, server: Id, app: &str, stream: &str) -> bool {
        self.server.is_none_or(|s| s == server)
            && self.app.as_deref().is_none_or(|a| a == app)
            && self.stream.as_deref().is_none_or(|s| s == stream)
    }

    /// Whether the scope narrows below whole servers.
    pub fn names_streams(&self) -> bool {
        self.app.is_some() || self.stream.is_some()
    }
}

/// How a notification leaves the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelType {
    /// Generic JSON webhook, signed with HMAC-SHA256.
    Webhook,
    /// Slack-compatible incoming webhook (`{"text"}`).
    Slack,
    /// Discord-compatible incoming webhook (`{"content"}`).
    Discord,
    /// E-mail through the operator's SMTP relay (not available in this build).
    Email,
}

impl ChannelType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Webhook => "webhook",
            ChannelType::Slack => "slack",
            ChannelType::Discord => "discord",
            ChannelType::Email => "email",
        }
    }
}

/// A notification channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// The channel type.
    pub kind: ChannelType,
    /// Webhook URL (webhook, Slack, Discord).
    pub url: Option<String>,
    /// HMAC secret for the webhook signature; never shown again after it is set.
    pub secret: Option<String>,
    /// E-mail recipient.
    pub to: Option<String>,
}

/// An alert rule of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Rule id.
    pub id: Id,
    /// Owning account.
    pub account: Id,
    /// Display name, carried in notifications as `alert`.
    pub name: String,
    /// What is watched.
    pub kind: Kind,
    /// Where.
    pub scope: Scope,
    /// `server_offline`: seconds without a report; `stream_down`: seconds gone.
    pub after_s: u32,
    /// Threshold for the numeric kinds (percent, viewers, bits per second).
    pub threshold: Option<f64>,
    /// Side of the threshold that is trouble.
    pub direction: Direction,
    /// How long the condition must hold before the alert fires.
    pub for_s: u32,
    /// No new firing notice within this many seconds of the previous one.
    pub cooldown_s: u32,
    /// Re-send while still firing every this many seconds; 0 = never.
    pub repeat_s: u32,
    /// Evaluated, but nothing is sent.
    pub muted: bool,
    /// Where notifications go.
    pub channel: Channel,
    /// Creation time.
    pub created_at: i64,
}

/// Evaluation state of one rule for one target (a server or a stream), persisted so that a
/// restart neither forgets a firing alert nor fires it again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetState {
    /// Since when the condition has held without interruption.
    pub since: Option<i64>,
    /// The alert is active.
    pub firing: bool,
    /// A firing notice was sent for the current activation (so a recovery is owed).
    pub notified: bool,
    /// When the last firing notice (first or repeat) was sent.
    pub last_sent: i64,
    /// When the alert last started firing with a notice (for the cool-down).
    pub last_fired: i64,
}

/// Firing or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    /// The condition holds.
    Firing,
    /// The condition cleared.
    Resolved,
}

impl NoticeState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeState::Firing => "firing",
            NoticeState::Resolved => "resolved",
        }
    }
}

/// Where a notice applies, by name (never a viewer address).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeScope {
    /// Server id (hex).
    pub server: Option<String>,
    /// Server name.
    pub server_name: Option<String>,
    /// Application.
    pub app: Option<String>,
    /// Stream.
    pub stream: Option<String>,
}

/// One alert inside a notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// The rule.
    pub rule: Id,
    /// The rule's name.
    pub alert: String,
    /// The rule's kind.
    pub kind: Kind,
    /// Firing or resolved.
    pub state: NoticeState,
    /// The target.
    pub scope: NoticeScope,
    /// Evaluation time.
    pub time: i64,
    /// Human-readable text with names and numbers.
    pub message: String,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// When it was made.
    pub time: i64,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The receiver answered 2xx.
    pub ok: bool,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// What went wrong.
    pub error: Option<String>,
}

/// One notification (several grouped alerts to one channel) and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Owning account.
    pub account: Id,
    /// When it was produced.
    pub time: i64,
    /// Channel type it went to.
    pub channel: ChannelType,
    /// A "send test notification" request.
    pub test: bool,
    /// The alerts it carried.
    pub alerts: Vec<Notice>,
    /// The attempts so far.
    pub deliveries: Vec<Delivery>,
}
