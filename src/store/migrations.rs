//! Schema versions of the data directory: numbered migrations run in order at start-up; a data
//! directory from a newer build is refused rather than misread.

use super::StoreError;
use crate::model::account::Id;

/// Schema version written by this build.
pub const CURRENT: u32 = 4;

const KEY: &[u8] = b"schema_version";

/// Brings `meta` up to [`CURRENT`], or refuses a newer schema. Returns the version found.
pub fn migrate(meta: &sled::Db) -> Result<u32, StoreError> {
    let tree = meta.open_tree("meta")?;
    let found = match tree.get(KEY)? {
        Some(v) => u32::from_be_bytes(
            v.as_ref()
                .try_into()
                .map_err(|_| StoreError::Corrupt("schema_version".into()))?,
        ),
        None => 0,
    };
    if found > CURRENT {
        return Err(StoreError::TooNew {
            found,
            known: CURRENT,
        });
    }
    for version in found + 1..=CURRENT {
        apply(meta, version)?;
        tree.insert(KEY, &version.to_be_bytes())?;
        tracing::info!(version, "storage schema migrated");
    }
    meta.flush()?;
    Ok(found)
}

/// Reads the schema version without changing anything.
pub fn version(meta: &sled::Db) -> Result<u32, StoreError> {
    let tree = meta.open_tree("meta")?;
    Ok(match tree.get(KEY)? {
        Some(v) => u32::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 4])),
        None => 0,
    })
}

fn apply(meta: &sled::Db, version: u32) -> Result<(), StoreError> {
    match version {
        // 1: the initial layout; trees are created on first use.
        1 => Ok(()),
        // 2: minute rollups in six-hour partitions, five-minute rollups in daily ones (nothing
        // is rewritten: partitions of the earlier layout are read and filled where they are;
        // the version keeps older builds, which would not see the new partitions, out), and
        // report ids for de-duplication grouped per server instead of one record each (into
        // the layout of 4 directly).
        2 => group_report_ids(meta),
        // 3: minute rollups in one-hour partitions (nothing is rewritten; as for 2, earlier
        // partitions are read and filled where they are, and older builds are kept out).
        3 => Ok(()),
        // 4: report ids in 16 groups per server holding its latest ~1,024, instead of 256
        // groups holding 14 days' worth.
        4 => regroup_report_ids(meta),
        _ => Err(StoreError::Corrupt(format!(
            "no migration to schema {version}"
        ))),
    }
}

/// Moves the one-record-per-report ids of schema 1 into groups (before anything else has the
/// database open). Re-running it after a crash merges the same ids again, which changes nothing.
fn group_report_ids(meta: &sled::Db) -> Result<(), StoreError> {
    move_report_ids(meta, "dedupe", |k, v| {
        let (server, hash) = super::keys::parse_dedupe_v1(k)?;
        let t = <[u8; 8]>::try_from(v).ok()?;
        Some(vec![(server, hash, i64::from_be_bytes(t))])
    })
}

/// Moves the report id groups of schemas 2 and 3 (256 per server, key `server ‖ top byte`) into
/// the current groups, which keep each server's latest ids.
fn regroup_report_ids(meta: &sled::Db) -> Result<(), StoreError> {
    move_report_ids(meta, "report_ids", |k, v| {
        let server = super::keys::parse_id(k)?;
        let ids = super::meta::ReportGroup::decode(v).ok()?;
        Some(ids.0.into_iter().map(|(h, t)| (server, h, t)).collect())
    })
}

/// Merges the report ids of tree `old` into the current tree, then drops `old`; records
/// `parse` cannot read are skipped. Safe to re-run after a crash: merging an id again changes
/// nothing.
fn move_report_ids(
    meta: &sled::Db,
    old: &str,
    parse: impl Fn(&[u8], &[u8]) -> Option<Vec<(Id, u64, i64)>>,
) -> Result<(), StoreError> {
    if !meta
        .tree_names()
        .iter()
        .any(|n| n.as_ref() == old.as_bytes())
    {
        return Ok(());
    }
    let from = meta.open_tree(old)?;
    let to = meta.open_tree(super::meta::REPORT_IDS)?;
    const CHUNK: usize = 10_000;
    let mut chunk = Vec::with_capacity(CHUNK);
    for item in from.iter() {
        let (k, v) = item?;
        chunk.extend(parse(&k, &v).unwrap_or_default());
        if chunk.len() >= CHUNK {
            super::meta::remember_report_ids(&to, &chunk)?;
            chunk.clear();
        }
    }
    super::meta::remember_report_ids(&to, &chunk)?;
    meta.flush()?;
    meta.drop_tree(old)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_fresh_and_refuses_newer() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        assert_eq!(migrate(&db).unwrap(), 0);
        assert_eq!(version(&db).unwrap(), CURRENT);
        assert_eq!(migrate(&db).unwrap(), CURRENT);
        db.open_tree("meta")
            .unwrap()
            .insert(KEY, &(CURRENT + 1).to_be_bytes())
            .unwrap();
        assert!(matches!(migrate(&db), Err(StoreError::TooNew { .. })));
    }

    /// A temporary meta database marked with schema `version`.
    fn db_at_schema(version: u32) -> sled::Db {
        let db = sled::Config::new().temporary(true).open().unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert(KEY, &version.to_be_bytes())
            .unwrap();
        db
    }

    #[test]
    fn schema_1_report_ids_are_grouped() {
        let db = db_at_schema(1);
        let old = db.open_tree("dedupe").unwrap();
        let ids: Vec<(Id, u64)> = (0..600u64)
            .map(|i| (Id(1 + i % 3), i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        for (server, hash) in &ids {
            old.insert(
                super::super::keys::dedupe_v1(*server, *hash),
                &100i64.to_be_bytes(),
            )
            .unwrap();
        }
        old.insert(b"odd", b"x").unwrap();
        assert_eq!(migrate(&db).unwrap(), 1);
        assert!(!db.tree_names().iter().any(|n| n.as_ref() == b"dedupe"));
        let meta = super::super::meta::MetaDb::open_migrated(db).unwrap();
        for (server, hash) in &ids {
            assert!(meta.seen_report(*server, *hash).unwrap());
        }
        assert!(!meta.seen_report(Id(1), 12345).unwrap());
        assert_eq!(meta.forget_reports_before(101).unwrap(), 600);
        assert!(!meta.seen_report(ids[0].0, ids[0].1).unwrap());
    }

    #[test]
    fn schema_3_report_ids_keep_the_latest_of_each_server() {
        use super::super::meta::ReportGroup;
        let db = db_at_schema(3);
        // Schema 3's layout: 256 groups per server keyed by the top byte of the hash; the
        // values are encoded as today's groups.
        let old = db.open_tree("report_ids").unwrap();
        let hash = |i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut groups = std::collections::BTreeMap::<[u8; 9], Vec<(u64, i64)>>::new();
        for i in 0..3_000u64 {
            let server = Id(1 + i % 2);
            let mut k = [0u8; 9];
            k[..8].copy_from_slice(&server.0.to_be_bytes());
            k[8] = (hash(i) >> 56) as u8;
            groups.entry(k).or_default().push((hash(i), i as i64));
        }
        for (k, mut ids) in groups {
            ids.sort_unstable();
            old.insert(k, ReportGroup(ids).encode()).unwrap();
        }
        // Records it cannot read are skipped: a key too short, a damaged value.
        old.insert(b"odd", b"x").unwrap();
        let mut damaged = [0u8; 9];
        damaged[..8].copy_from_slice(&9u64.to_be_bytes());
        old.insert(damaged, &[9u8, 1, 2][..]).unwrap();
        assert_eq!(migrate(&db).unwrap(), 3);
        assert!(!db.tree_names().iter().any(|n| n.as_ref() == b"report_ids"));
        let meta = super::super::meta::MetaDb::open_migrated(db).unwrap();
        // 1,500 ids per server: the latest are kept, and no more than the window.
        for i in 2_800..3_000u64 {
            assert!(meta.seen_report(Id(1 + i % 2), hash(i)).unwrap(), "{i}");
        }
        let kept = (0..3_000u64)
            .filter(|&i| meta.seen_report(Id(1 + i % 2), hash(i)).unwrap())
            .count();
        assert!(kept <= 2 * super::super::meta::REPORTS_KEPT, "{kept}");
        assert!(kept > 2 * 900, "{kept}");
    }
}
