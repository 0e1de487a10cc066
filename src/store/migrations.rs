//! Schema versions of the data directory: numbered migrations run in order at start-up; a data
//! directory from a newer build is refused rather than misread.

use super::StoreError;

/// Schema version written by this build.
pub const CURRENT: u32 = 3;

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
        // report ids for de-duplication grouped 256 per server instead of one record each.
        2 => group_report_ids(meta),
        // 3: minute rollups in one-hour partitions (nothing is rewritten; as for 2, earlier
        // partitions are read and filled where they are, and older builds are kept out).
        3 => Ok(()),
        _ => Err(StoreError::Corrupt(format!(
            "no migration to schema {version}"
        ))),
    }
}

/// Moves the one-record-per-report ids of schema 1 into groups (before anything else has the
/// database open). Re-running it after a crash merges the same ids again, which changes nothing.
fn group_report_ids(meta: &sled::Db) -> Result<(), StoreError> {
    const OLD: &str = "dedupe";
    if !meta
        .tree_names()
        .iter()
        .any(|n| n.as_ref() == OLD.as_bytes())
    {
        return Ok(());
    }
    let old = meta.open_tree(OLD)?;
    let new = meta.open_tree(super::meta::REPORT_IDS)?;
    const CHUNK: usize = 10_000;
    let mut chunk = Vec::with_capacity(CHUNK);
    for item in old.iter() {
        let (k, v) = item?;
        let (Some((server, hash)), Ok(t)) = (
            super::keys::parse_dedupe_v1(&k),
            <[u8; 8]>::try_from(v.as_ref()),
        ) else {
            continue;
        };
        chunk.push((server, hash, i64::from_be_bytes(t)));
        if chunk.len() == CHUNK {
            super::meta::remember_report_ids(&new, &chunk)?;
            chunk.clear();
        }
    }
    super::meta::remember_report_ids(&new, &chunk)?;
    meta.flush()?;
    meta.drop_tree(OLD)?;
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

    #[test]
    fn schema_1_report_ids_are_grouped() {
        use crate::model::account::Id;
        let db = sled::Config::new().temporary(true).open().unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert(KEY, &1u32.to_be_bytes())
            .unwrap();
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
}
