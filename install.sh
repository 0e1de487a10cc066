#!/bin/sh
# Installs Tally as a systemd service: the binary, a `tally` system user, the data directory,
# a commented configuration file and a hardened unit. Running it again upgrades the binary and
# the unit and keeps the configuration and all data. Needs no network: the binary and the
# GeoIP files come from local paths.
set -eu

usage() {
	cat <<'USAGE'
Usage: ./install.sh [--binary PATH] [--root DIR] [--domain NAME]... [--acme-email EMAIL]
                    [--geoip-city FILE] [--geoip-asn FILE]
       ./install.sh --uninstall [--purge] [--root DIR]

  --binary PATH       the tally binary to install (default: ./tally next to this script,
                      or the musl release build of a source checkout)
  --root DIR          install into DIR as if it were / ; creates no user, starts nothing
  --domain NAME       public domain: HTTPS with automatic certificates (repeatable)
  --acme-email EMAIL  contact address for the certificate authority
  --geoip-city FILE   MaxMind/DB-IP City database (.mmdb), copied to /var/lib/tally/geoip
  --geoip-asn FILE    MaxMind/DB-IP ASN database (.mmdb), copied to /var/lib/tally/geoip
  --uninstall         stop and remove the service and the binary; keep configuration and data
  --purge             with --uninstall: also delete /etc/tally, /var/lib/tally and the user

Installs /usr/local/bin/tally, /etc/tally/tally.toml (never overwritten once present),
/var/lib/tally (mode 0750) and /etc/systemd/system/tally.service, then enables and
(re)starts the service when systemd is running.
USAGE
}

say() { printf '%s\n' "$*"; }
die() {
	printf 'install.sh: %s\n' "$*" >&2
	exit 1
}

BINARY=
ROOT=
DOMAINS=
ACME_EMAIL=
GEOIP_CITY=
GEOIP_ASN=
UNINSTALL=0
PURGE=0

need_value() {
	[ "$#" -ge 2 ] || die "$1 needs a value (see --help)"
}

while [ "$#" -gt 0 ]; do
	case $1 in
	--binary) need_value "$@"; BINARY=$2; shift 2 ;;
	--root) need_value "$@"; ROOT=$2; shift 2 ;;
	--domain)
		need_value "$@"
		case $2 in
		'' | .* | *..* | *[!A-Za-z0-9.-]*) die "--domain $2 is not a domain name" ;;
		esac
		DOMAINS="$DOMAINS $2"
		shift 2
		;;
	--acme-email)
		need_value "$@"
		case $2 in
		*@*@* | *[!A-Za-z0-9._%+@-]* | @* | *@) die "--acme-email $2 is not an e-mail address" ;;
		*@*) ACME_EMAIL=$2 ;;
		*) die "--acme-email $2 is not an e-mail address" ;;
		esac
		shift 2
		;;
	--geoip-city) need_value "$@"; GEOIP_CITY=$2; shift 2 ;;
	--geoip-asn) need_value "$@"; GEOIP_ASN=$2; shift 2 ;;
	--uninstall) UNINSTALL=1; shift ;;
	--purge) PURGE=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done

[ "$PURGE" -eq 0 ] || [ "$UNINSTALL" -eq 1 ] || die "--purge only goes with --uninstall"
if [ -n "$ROOT" ]; then
	mkdir -p "$ROOT" || die "cannot create $ROOT"
	ROOT=$(cd "$ROOT" && pwd)
	[ "$ROOT" != / ] || ROOT=
fi
AS_ROOT=0
[ "$(id -u)" -ne 0 ] || AS_ROOT=1
if [ -z "$ROOT" ] && [ "$AS_ROOT" -eq 0 ]; then
	die "run as root (sudo ./install.sh …), or pass --root DIR to install into a directory"
fi

# Where things go; the real paths (without ROOT) are what the config and unit refer to.
BIN=$ROOT/usr/local/bin/tally
CONF_DIR=$ROOT/etc/tally
CONF=$CONF_DIR/tally.toml
DATA=$ROOT/var/lib/tally
GEO_DIR=$DATA/geoip
UNIT=$ROOT/etc/systemd/system/tally.service
SERVICE_USER=tally

# True when this run manages the live system (not --root) and systemd runs it.
systemd_live() {
	[ -z "$ROOT" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

user_exists() {
	id "$SERVICE_USER" >/dev/null 2>&1
}

# Sets owner and mode, the owner only when we are root and the user exists.
own() {
	mode=$1 owner=$2
	shift 2
	chmod "$mode" "$@"
	if [ "$AS_ROOT" -eq 1 ] && user_exists; then
		chown "$owner" "$@"
	fi
}

# Copies a file into place atomically (a running server never sees half a file).
put_file() {
	src=$1 dest=$2 mode=$3 owner=$4
	cp "$src" "$dest.new"
	own "$mode" "$owner" "$dest.new"
	mv -f "$dest.new" "$dest"
}

# TOML string values: plain characters only, so nothing needs escaping.
toml_safe() {
	case $1 in
	*[\"\\]* | *'
'*) die "$1: quotes, backslashes and newlines are not supported in paths" ;;
	esac
}

uninstall() {
	if systemd_live; then
		systemctl disable --now tally.service >/dev/null 2>&1 || true
	fi
	rm -f "$UNIT" "$BIN"
	if systemd_live; then
		systemctl daemon-reload
	fi
	say "removed $BIN and $UNIT"
	if [ "$PURGE" -eq 1 ]; then
		rm -rf "$CONF_DIR" "$DATA"
		say "purged $CONF_DIR and $DATA"
		if [ -z "$ROOT" ] && user_exists; then
			userdel "$SERVICE_USER" 2>/dev/null || deluser "$SERVICE_USER" 2>/dev/null || true
			say "removed user $SERVICE_USER"
		fi
	else
		say "kept $CONF_DIR and $DATA (./install.sh --uninstall --purge deletes them)"
	fi
}

if [ "$UNINSTALL" -eq 1 ]; then
	uninstall
	exit 0
fi

# --- The binary ----------------------------------------------------------------------------

if [ -z "$BINARY" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	for candidate in "$here/tally" "$here/target/x86_64-unknown-linux-musl/release/tally" \
		"$here/target/release/tally"; do
		if [ -f "$candidate" ] && [ -x "$candidate" ]; then
			BINARY=$candidate
			break
		fi
	done
	[ -n "$BINARY" ] || die "no tally binary found next to install.sh; pass --binary PATH"
fi
[ -f "$BINARY" ] || die "--binary $BINARY: no such file"
NEW_VERSION=$("$BINARY" --version 2>/dev/null) ||
	die "$BINARY does not run on this machine (wrong architecture or not a tally binary?)"
case $NEW_VERSION in
tally\ *) ;;
*) die "$BINARY is not a tally binary (--version says: $NEW_VERSION)" ;;
esac
for f in "$GEOIP_CITY" "$GEOIP_ASN"; do
	[ -z "$f" ] || [ -r "$f" ] || die "cannot read GeoIP file $f"
	[ -z "$f" ] || toml_safe "$(basename "$f")"
done

# --- User and directories ------------------------------------------------------------------

if [ -z "$ROOT" ] && ! user_exists; then
	if command -v useradd >/dev/null 2>&1; then
		useradd --system --user-group --home-dir /var/lib/tally --no-create-home \
			--shell /usr/sbin/nologin --comment "Tally panel" "$SERVICE_USER"
	else
		addgroup -S "$SERVICE_USER" && adduser -S -D -H -h /var/lib/tally \
			-s /sbin/nologin -G "$SERVICE_USER" "$SERVICE_USER"
	fi
	say "created system user $SERVICE_USER"
fi

mkdir -p "$(dirname "$BIN")" "$CONF_DIR" "$DATA" "$(dirname "$UNIT")"
own 0750 "$SERVICE_USER:$SERVICE_USER" "$DATA"
own 0750 "root:$SERVICE_USER" "$CONF_DIR"

OLD_VERSION=
[ ! -x "$BIN" ] || OLD_VERSION=$("$BIN" --version 2>/dev/null || true)
if [ -f "$BIN" ] && cmp -s "$BINARY" "$BIN"; then
	say "binary $BIN is already $NEW_VERSION"
else
	put_file "$BINARY" "$BIN" 0755 root:root
	if [ -n "$OLD_VERSION" ]; then
		say "upgraded $BIN: $OLD_VERSION -> $NEW_VERSION"
	else
		say "installed $BIN ($NEW_VERSION)"
	fi
fi

GEOIP_CITY_PATH=
GEOIP_ASN_PATH=
if [ -n "$GEOIP_CITY$GEOIP_ASN" ]; then
	mkdir -p "$GEO_DIR"
	own 0750 "$SERVICE_USER:$SERVICE_USER" "$GEO_DIR"
fi
if [ -n "$GEOIP_CITY" ]; then
	GEOIP_CITY_PATH=/var/lib/tally/geoip/$(basename "$GEOIP_CITY")
	put_file "$GEOIP_CITY" "$ROOT$GEOIP_CITY_PATH" 0640 "$SERVICE_USER:$SERVICE_USER"
	say "installed GeoIP City database $GEOIP_CITY_PATH"
fi
if [ -n "$GEOIP_ASN" ]; then
	GEOIP_ASN_PATH=/var/lib/tally/geoip/$(basename "$GEOIP_ASN")
	put_file "$GEOIP_ASN" "$ROOT$GEOIP_ASN_PATH" 0640 "$SERVICE_USER:$SERVICE_USER"
	say "installed GeoIP ASN database $GEOIP_ASN_PATH"
fi

# --- Configuration -------------------------------------------------------------------------

# The commented configuration; the same text as assets/tally.toml (a test keeps them equal),
# with the lines for the options given here filled in.
write_config() {
	domain_line='# domain = ["panel.example.com"]'
	if [ -n "$DOMAINS" ]; then
		list=
		for d in $DOMAINS; do
			list="$list${list:+, }\"$d\""
		done
		domain_line="domain = [$list]"
	fi
	email_line='# acme_email = "ops@example.com"'
	[ -z "$ACME_EMAIL" ] || email_line="acme_email = \"$ACME_EMAIL\""
	city_line='# geoip_city = "/var/lib/tally/geoip/GeoLite2-City.mmdb"'
	[ -z "$GEOIP_CITY_PATH" ] || city_line="geoip_city = \"$GEOIP_CITY_PATH\""
	asn_line='# geoip_asn = "/var/lib/tally/geoip/GeoLite2-ASN.mmdb"'
	[ -z "$GEOIP_ASN_PATH" ] || asn_line="geoip_asn = \"$GEOIP_ASN_PATH\""
	cat <<EOF
# Tally configuration.
#
# Every key is also a command-line flag (data_dir: --data-dir) and an environment variable
# (TALLY_DATA_DIR). Precedence: built-in defaults < this file < TALLY_* environment < flags.
# A commented line shows the default. Check the file with
#   sudo -u tally tally check --config /etc/tally/tally.toml
# and apply changes with \`systemctl restart tally\`.

# --- Storage ------------------------------------------------------------------------------

# Directory for all data: databases, ingest journal, ACME account and certificates.
data_dir = "/var/lib/tally"

# Storage page cache per database, in MiB.
# cache_mb = 16

# When retention deletes expired data: six-field cron, seconds first (UTC).
# retention_cron = "0 17 * * * *"

# --- Network and TLS ----------------------------------------------------------------------

# Public domain name(s) of the panel. Turns on HTTPS with certificates obtained and renewed
# automatically (ACME), and makes \`listen\` default to "[::]:80", where plain HTTP answers
# HTTP-01 challenges and redirects everything else to HTTPS.
$domain_line

# Contact address for the ACME account (the CA writes to it about expiring certificates).
$email_line

# ACME directory URL: an internal ACME CA when air-gapped.
# acme_directory = "https://acme-v02.api.letsencrypt.org/directory"

# Use Let's Encrypt's staging CA instead (untrusted certificates; for trying things out).
# acme_staging = false

# Extra PEM root to trust for the ACME server's own HTTPS API (private CA).
# acme_ca_root = "/etc/tally/acme-ca.pem"

# Manual TLS instead of ACME: certificate chain and private key (PEM). Both files are
# re-read when they change, so a renewal tool only has to replace them.
# tls_cert = "/etc/tally/tls/fullchain.pem"
# tls_key = "/etc/tally/tls/privkey.pem"

# HTTPS listen address (used when TLS is on).
# tls_listen = "[::]:443"

# Plain-HTTP listen address. Default "127.0.0.1:8080", or "[::]:80" when \`domain\` is set.
# listen = "127.0.0.1:8080"

# Public base URL of the panel, used in links it prints. Default: derived from the above.
# public_url = "https://panel.example.com"

# Reverse proxies whose X-Forwarded-For header is trusted (CIDR).
# trusted_proxy = ["127.0.0.1/32"]

# --- GeoIP --------------------------------------------------------------------------------

# MaxMind or DB-IP databases (.mmdb). Replacing a file is picked up while running.
$city_line
$asn_line

# --- Ingest -------------------------------------------------------------------------------

# Largest accepted report body after decompression, in MiB.
# max_body_mb = 16

# Viewer records that may wait for the writer before ingest answers 429.
# queue_viewers = 400000

# --- Alert e-mail -------------------------------------------------------------------------

# SMTP relay for e-mail alerts: smtps://host:465 (TLS), smtp://host:587?tls=required
# (STARTTLS), smtp://host:25 (plain, local relays only); credentials as user:pass@host.
# smtp_url = "smtps://alerts:secret@mail.example.com:465"

# Sender address of alert e-mails.
# smtp_from = "Tally <alerts@example.com>"

# --- Logging ------------------------------------------------------------------------------

# Log output: "text" or "json".
# log_format = "text"

# Log filter, e.g. "info" or "info,tally=debug".
# log_level = "info"

# --- Agent --------------------------------------------------------------------------------

# Options of \`tally agent\` when it runs with this file (see \`tally agent --help\`).
# [agent]
EOF
}

if [ -e "$CONF" ]; then
	say "kept existing configuration $CONF"
	if [ -n "$DOMAINS$ACME_EMAIL$GEOIP_CITY_PATH$GEOIP_ASN_PATH" ]; then
		say "  note: --domain/--acme-email/--geoip-* were not written into it; edit it if needed"
	fi
else
	write_config >"$CONF.new"
	own 0640 "root:$SERVICE_USER" "$CONF.new"
	mv -f "$CONF.new" "$CONF"
	say "wrote configuration $CONF"
fi

# --- systemd unit --------------------------------------------------------------------------

# The same text as assets/systemd/tally.service (a test keeps them equal).
write_unit() {
	cat <<'EOF'
# Tally panel. Installed by install.sh; local changes belong in a drop-in
# (systemctl edit tally), since reinstalling replaces this file.
[Unit]
Description=Tally audience analytics panel
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=tally
Group=tally
ExecStart=/usr/local/bin/tally serve --config /etc/tally/tally.toml
# SIGTERM finishes running requests and writes a last checkpoint before exiting.
KillSignal=SIGTERM
TimeoutStopSec=60
Restart=on-failure
RestartSec=5s
LimitNOFILE=65536
UMask=0077

# Files: read-only system, writable data directory only.
StateDirectory=tally
StateDirectoryMode=0750
ReadWritePaths=/var/lib/tally
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
DevicePolicy=closed

# Privileges: ports 80 and 443 without root, nothing else.
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
RestrictSUIDSGID=yes
RemoveIPC=yes

# Kernel and process isolation.
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictNamespaces=yes
RestrictRealtime=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
EOF
}

write_unit >"$UNIT.new"
chmod 0644 "$UNIT.new"
mv -f "$UNIT.new" "$UNIT"
say "wrote unit $UNIT"

# --- Start and say how to get in -------------------------------------------------------------

configured_domain=$(sed -n 's/^domain *= *\[ *"\([^"]*\)".*/\1/p' "$CONF" | head -n 1)
if [ -n "$configured_domain" ]; then
	URL="https://$configured_domain"
else
	URL="http://127.0.0.1:8080 (local only: set domain in $CONF to serve HTTPS publicly)"
fi

say ""
if systemd_live; then
	since=$(date '+%Y-%m-%d %H:%M:%S')
	systemctl daemon-reload
	systemctl enable tally.service >/dev/null 2>&1
	systemctl restart tally.service
	say "tally is running (systemctl status tally; logs: journalctl -u tally)"
	say "panel: $URL"
	link=
	i=0
	while [ "$i" -lt 15 ] && [ -z "$link" ]; do
		sleep 1
		i=$((i + 1))
		link=$(journalctl -u tally.service --since "$since" -o cat 2>/dev/null |
			grep -o 'http[^ ]*/setup?token=[^ ]*' | tail -n 1) || true
	done
	if [ -n "$link" ]; then
		say "first login: open $link"
		say "  (one-time link; it creates the first admin account)"
	else
		say "log in with an existing account, or find the one-time setup link of a new"
		say "  installation with: journalctl -u tally | grep setup?token="
	fi
else
	if [ -n "$ROOT" ]; then
		say "installed into $ROOT; nothing was started (--root)"
	else
		say "systemd is not running here; start the panel with:"
		say "  sudo -u $SERVICE_USER /usr/local/bin/tally serve --config /etc/tally/tally.toml"
	fi
	say "panel: $URL"
	say "first login: the first start logs a one-time setup link (…/setup?token=…);"
	say "  or set TALLY_ADMIN_EMAIL and TALLY_ADMIN_PASSWORD for the first start"
fi
