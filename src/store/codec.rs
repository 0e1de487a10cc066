//! Value encoding: one version byte, then a postcard payload. Never JSON on disk.

use serde::{Serialize, de::DeserializeOwned};

use super::StoreError;

/// Version byte of every value written by this build.
pub const VALUE_VERSION: u8 = 1;

/// Encodes a value with its version byte.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![VALUE_VERSION];
    let body =
        postcard::to_stdvec(value).map_err(|e| StoreError::Corrupt(format!("encode: {e}")))?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes a value written by [`encode`], refusing unknown versions.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&VALUE_VERSION, body)) => postcard::from_bytes(body)
            .map_err(|e| StoreError::Corrupt(format!("undecodable value: {e}"))),
        Some((v, _)) => Err(StoreError::Corrupt(format!(
            "value version {v} is not supported"
        ))),
        None => Err(StoreError::Corrupt("empty value".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rollup::{DimKey, DimStat, Scalars};

    #[test]
    fn round_trips_and_refuses_other_versions() {
        let s = Scalars {
            views: 7,
            peak_viewers: 3,
            cpu_sum: 1.5,
            ..Default::default()
        };
        let bytes = encode(&s).unwrap();
        assert_eq!(decode::<Scalars>(&bytes).unwrap(), s);
        let mut bad = bytes.clone();
        bad[0] = 9;
        assert!(decode::<Scalars>(&bad).is_err());
        assert!(decode::<Scalars>(&[]).is_err());
        assert!(decode::<Scalars>(&bytes[..bytes.len() / 2]).is_err() || bytes.len() < 4);
        let dims = vec![(
            DimKey::Country(*b"GB"),
            DimStat {
                views: 1,
                ..Default::default()
            },
        )];
        assert_eq!(
            decode::<Vec<(DimKey, DimStat)>>(&encode(&dims).unwrap()).unwrap(),
            dims
        );
    }
}
