//! The privacy notice, generated from the live configuration (privacy invariant 7): what is
//! collected about viewers and about panel users, how long each class is kept, the one cookie,
//! the processors involved and whom to contact. A white-label account publishes it under its
//! own brand; the text is rendered here, from plain inputs, so it is tested without a server.

use std::fmt::Write;

use super::retention::{DataClass, Retention};

/// A third party that receives data, and what for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processor {
    pub name: String,
    pub purpose: String,
}

/// Everything the notice is generated from.
#[derive(Debug, Clone)]
pub struct NoticeInput {
    /// Product (brand) name.
    pub product: String,
    /// Who runs the panel (the account's name under its brand, else none).
    pub controller: Option<String>,
    /// Privacy contact from branding.
    pub contact: Option<String>,
    /// Retention in force.
    pub retention: Retention,
    /// City/region lookups are configured (else countries only).
    pub geoip_city: bool,
    /// Network (ASN) lookups are configured.
    pub geoip_asn: bool,
    /// HTTPS is on (the cookie is `Secure`).
    pub tls: bool,
    /// Processors configured (SMTP relay, webhooks…).
    pub processors: Vec<Processor>,
    /// Services contacted that receive no personal data (a certificate authority).
    pub other_services: Vec<Processor>,
    /// Extra text from branding, appended verbatim.
    pub custom_text: Option<String>,
}

fn days(n: u32) -> String {
    match n {
        1 => "1 day".into(),
        n if n % 365 == 0 => format!(
            "{n} days ({} year{})",
            n / 365,
            if n / 365 == 1 { "" } else { "s" }
        ),
        n => format!("{n} days"),
    }
}

/// Renders the notice as Markdown.
pub fn render(n: &NoticeInput) -> String {
    let mut md = String::new();
    let product = &n.product;
    let _ = writeln!(md, "# Privacy notice — {product}\n");
    match &n.controller {
        Some(c) => {
            let _ = writeln!(
                md,
                "{product} is an audience-analytics panel for streaming media, operated for {c}."
            );
        }
        None => {
            let _ = writeln!(
                md,
                "{product} is an audience-analytics panel for streaming media."
            );
        }
    }
    let _ = writeln!(
        md,
        "It measures how streams are watched so that their publishers can see audience sizes, \
         traffic and reach. It runs on its operator's own server; this notice is generated from \
         that server's current configuration.\n"
    );

    let _ = writeln!(md, "## What is collected about viewers\n");
    let geo = match (n.geoip_city, n.geoip_asn) {
        (true, true) => "country, region, city and network (autonomous system)",
        (true, false) => "country, region and city",
        (false, true) => "country and network (autonomous system)",
        (false, false) => "country",
    };
    let _ = writeln!(
        md,
        "- **IP address**: used only while a report (or a media server's notification that a \
         viewer started playing) is processed, to look up the {geo} in a local database, and to \
         compute a daily unique-viewer hash. The address is then discarded: it \
         is never written to disk or to logs.\n\
         - **User agent** (player or browser identification): reduced to a player family and a \
         device type.\n\
         - **Session times**: when a viewing session started and how long it lasted.\n\
         - **Traffic**: bytes delivered, protocol, and the stream watched.\n\
         - **Unique viewers**: counted with a keyed hash of IP address and user agent, salted with \
         a random value that changes every day and is destroyed when the day ends, so that \
         nobody — including the operator — can link a viewer across days or recover the address.\n\
         \n\
         Only aggregates are stored: per minute, five minutes, hour and day, per server, \
         application and stream. No record about an individual viewer is kept.\n"
    );

    let _ = writeln!(md, "## What is collected about panel users\n");
    let _ = writeln!(
        md,
        "- Account data: e-mail address, name, role, password (stored only as an Argon2id hash) \
         and, if enabled, a second-factor secret.\n\
         - Login sessions and API tokens (stored only as hashes), with the time created.\n\
         - An activity log of actions in the panel (logins, changes, exports, deletions) with \
         the time, the user's e-mail address, the target, and the client address truncated to \
         its network (IPv4 /24, IPv6 /48) with its country.\n"
    );

    let _ = writeln!(md, "## How long data is kept\n");
    let _ = writeln!(md, "| data | kept for |\n|---|---|");
    for c in DataClass::ALL {
        let label = match c {
            DataClass::Minute => "Per-minute statistics",
            DataClass::FiveMinute => "Five-minute statistics (bandwidth billing)",
            DataClass::Hour => "Hourly statistics",
            DataClass::Day => "Daily statistics",
            DataClass::UniqueViewers => "Daily unique-viewer sketches",
            DataClass::Activity => "Activity log",
            DataClass::AlertHistory => "Alert history",
        };
        let _ = writeln!(md, "| {label} | {} |", days(n.retention.get(c)));
    }
    let _ = writeln!(
        md,
        "| Unique-viewer daily salts | until the end of the day |\n\
         | Login sessions | 14 days, or until logout |\n\
         | Panel user accounts | until the user or the account is deleted |\n\n\
         Expired data is deleted by a scheduled job at least once a day, and the space it used \
         is reclaimed: it is removed from the data files, not only hidden.\n"
    );

    let _ = writeln!(md, "## Cookies\n");
    let _ = writeln!(
        md,
        "The panel sets a single cookie, `tally_session`, when a user logs in. It is needed for \
         the login, is HttpOnly, SameSite=Strict{}, and expires after 14 days or at logout. \
         There are no analytics, advertising or third-party cookies, and the panel loads nothing \
         from any other site.\n",
        if n.tls { ", Secure" } else { "" }
    );

    let _ = writeln!(md, "## Processors and third parties\n");
    if n.processors.is_empty() {
        let _ = writeln!(md, "None. No data is sent to any third party.");
    } else {
        let _ = writeln!(md, "Data is sent to these processors:\n");
        for p in &n.processors {
            let _ = writeln!(md, "- **{}**: {}", p.name, p.purpose);
        }
    }
    for s in &n.other_services {
        let _ = writeln!(
            md,
            "\nThe server also contacts **{}**: {}",
            s.name, s.purpose
        );
    }
    let _ = writeln!(md);

    let _ = writeln!(md, "## Your rights\n");
    let _ = writeln!(
        md,
        "Panel users can download everything stored about them, correct their profile, and \
         delete their user; account administrators can export the whole account, and the \
         operator can restrict processing for an account or erase it entirely, including from \
         the data files. Viewers are not identifiable in the stored data.\n"
    );

    let _ = writeln!(md, "## Contact\n");
    match &n.contact {
        Some(c) => {
            let _ = writeln!(md, "For privacy questions or requests, contact {c}.");
        }
        None => {
            let _ = writeln!(
                md,
                "For privacy questions or requests, contact the operator of this panel."
            );
        }
    }
    if let Some(text) = n
        .custom_text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let _ = writeln!(md, "\n{text}");
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> NoticeInput {
        NoticeInput {
            product: "Acme Stats".into(),
            controller: Some("Acme Radio".into()),
            contact: Some("privacy@acme.example".into()),
            retention: Retention::defaults(),
            geoip_city: false,
            geoip_asn: true,
            tls: true,
            processors: Vec::new(),
            other_services: Vec::new(),
            custom_text: None,
        }
    }

    #[test]
    fn lists_every_class_the_cookie_and_no_processors() {
        let md = render(&input());
        assert!(
            md.contains("Acme Stats")
                && md.contains("Acme Radio")
                && md.contains("privacy@acme.example")
        );
        assert!(md.contains("| Per-minute statistics | 14 days |"), "{md}");
        assert!(
            md.contains("| Daily statistics | 1825 days (5 years) |"),
            "{md}"
        );
        assert!(md.contains("| Activity log | 365 days (1 year) |"), "{md}");
        assert!(md.contains("Alert history"));
        assert!(md.contains("`tally_session`") && md.contains("Secure"));
        assert!(md.contains("None. No data is sent to any third party."));
        assert!(md.contains("country and network"));
    }

    #[test]
    fn configured_processors_are_named() {
        let mut i = input();
        i.processors.push(Processor {
            name: "smtp.example.net".into(),
            purpose: "delivers e-mail".into(),
        });
        i.tls = false;
        let md = render(&i);
        assert!(md.contains("**smtp.example.net**: delivers e-mail"));
        assert!(!md.contains("None. No data"));
        assert!(!md.contains(", Secure"));
    }
}
