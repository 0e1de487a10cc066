//! Every key byte layout lives here. Integers are fixed-width big-endian so that byte order is
//! numeric order, and time-keyed ranges scan in time order.

use crate::model::account::Id;

/// Maps a signed time to an unsigned value with the same order.
fn time_bits(t: i64) -> u64 {
    (t as u64) ^ (1 << 63)
}

fn time_from_bits(b: u64) -> i64 {
    (b ^ (1 << 63)) as i64
}

/// Rollup key: `series ‖ bucket_start`.
pub fn rollup(series: u64, bucket: i64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&series.to_be_bytes());
    k[8..].copy_from_slice(&time_bits(bucket).to_be_bytes());
    k
}

/// Splits a rollup key; `None` for a key of another shape.
pub fn parse_rollup(key: &[u8]) -> Option<(u64, i64)> {
    let series = u64::from_be_bytes(key.get(..8)?.try_into().ok()?);
    let bits = u64::from_be_bytes(key.get(8..16)?.try_into().ok()?);
    Some((series, time_from_bits(bits)))
}

/// Series id as a key.
pub fn series(series: u64) -> [u8; 8] {
    series.to_be_bytes()
}

/// Record id as a key.
pub fn id(id: Id) -> [u8; 8] {
    id.0.to_be_bytes()
}

/// Parses an 8-byte id key.
pub fn parse_id(key: &[u8]) -> Option<Id> {
    Some(Id(u64::from_be_bytes(key.get(..8)?.try_into().ok()?)))
}

/// Per-owner index key: `owner ‖ id` (servers of an account, tokens of a user…).
pub fn owned(owner: Id, item: Id) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&owner.0.to_be_bytes());
    k[8..].copy_from_slice(&item.0.to_be_bytes());
    k
}

/// Report de-duplication key of schema 1 (one record per report): `server ‖ hash(report_id)`.
pub fn dedupe_v1(server: Id, report_hash: u64) -> [u8; 16] {
    owned(server, Id(report_hash))
}

/// Splits a schema-1 de-duplication key into `(server, hash)`.
pub fn parse_dedupe_v1(key: &[u8]) -> Option<(Id, u64)> {
    let server = parse_id(key)?;
    Some((server, u64::from_be_bytes(key.get(8..16)?.try_into().ok()?)))
}

/// Report id group key: `server ‖ top four bits of hash(report_id)` (16 groups per server).
pub fn report_group(server: Id, report_hash: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[..8].copy_from_slice(&server.0.to_be_bytes());
    k[8] = (report_hash >> 60) as u8;
    k
}

/// Dimension dictionary key.
pub fn dim(id: u32) -> [u8; 4] {
    id.to_be_bytes()
}

/// Activity log key: `account ‖ time ‖ random` (time order within an account).
pub fn activity(account: Id, time: i64, nonce: u32) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..8].copy_from_slice(&account.0.to_be_bytes());
    k[8..16].copy_from_slice(&time_bits(time).to_be_bytes());
    k[16..].copy_from_slice(&nonce.to_be_bytes());
    k
}

/// Splits an activity key into `(account, time, nonce)`.
pub fn parse_activity(key: &[u8]) -> Option<(Id, i64, u32)> {
    let account = parse_id(key)?;
    let bits = u64::from_be_bytes(key.get(8..16)?.try_into().ok()?);
    let nonce = u32::from_be_bytes(key.get(16..20)?.try_into().ok()?);
    Some((account, time_from_bits(bits), nonce))
}

/// Alert evaluation state key: `rule ‖ target` (the states of a rule are one prefix scan).
pub fn alert_state(rule: Id, target: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + target.len());
    k.extend_from_slice(&rule.0.to_be_bytes());
    k.extend_from_slice(target.as_bytes());
    k
}

/// Splits an alert state key into `(rule, target)`.
pub fn parse_alert_state(key: &[u8]) -> Option<(Id, String)> {
    let rule = parse_id(key)?;
    let target = std::str::from_utf8(key.get(8..)?).ok()?;
    Some((rule, target.to_string()))
}

/// Alert history key: `account ‖ time ‖ random`, the activity layout (time order per account).
pub fn alert_event(account: Id, time: i64, nonce: u32) -> [u8; 20] {
    activity(account, time, nonce)
}

/// Splits an alert history key into `(account, time, nonce)`.
pub fn parse_alert_event(key: &[u8]) -> Option<(Id, i64, u32)> {
    parse_activity(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollup_keys_sort_by_series_then_time() {
        let times = [-90_000i64, -1, 0, 59, 60, 1_795_608_000, i64::MAX];
        let keys: Vec<_> = times.iter().map(|t| rollup(7, *t)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert!(rollup(7, i64::MAX) < rollup(8, i64::MIN));
        for t in times {
            assert_eq!(parse_rollup(&rollup(7, t)), Some((7, t)));
        }
        assert_eq!(parse_rollup(&[1, 2]), None);
    }

    #[test]
    fn activity_keys_sort_by_time_within_account() {
        let a = Id(5);
        assert!(activity(a, 10, 9) < activity(a, 11, 0));
        assert!(activity(a, i64::MAX, 0) < activity(Id(6), i64::MIN, 0));
        assert_eq!(parse_activity(&activity(a, -3, 7)), Some((a, -3, 7)));
        assert_eq!(parse_activity(&[0; 8]), None);
    }

    #[test]
    fn alert_keys_round_trip() {
        let k = alert_state(Id(9), "s:00000000000000aa");
        assert_eq!(
            parse_alert_state(&k),
            Some((Id(9), "s:00000000000000aa".into()))
        );
        assert!(alert_state(Id(9), "zzz") < alert_state(Id(10), ""));
        assert_eq!(
            parse_alert_event(&alert_event(Id(2), 5, 1)),
            Some((Id(2), 5, 1))
        );
    }
}
