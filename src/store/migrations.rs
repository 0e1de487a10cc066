//! Schema versions of the data directory: numbered migrations run in order at start-up; a data
//! directory from a newer build is refused rather than misread.

use super::StoreError;

/// Schema version written by this build.
pub const CURRENT: u32 = 2;

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

fn apply(_meta: &sled::Db, version: u32) -> Result<(), StoreError> {
    match version {
        // 1: the initial layout; trees are created on first use.
        1 => Ok(()),
        // 2: minute rollups in six-hour partitions, five-minute rollups in daily ones. Nothing
        // is rewritten: partitions of the earlier layout are read and filled where they are.
        // The version keeps older builds, which would not see the new partitions, from
        // opening the directory.
        2 => Ok(()),
        _ => Err(StoreError::Corrupt(format!(
            "no migration to schema {version}"
        ))),
    }
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
}
