//! Value encoding: one version byte, then a postcard payload. Never JSON on disk.

use serde::{Serialize, de::DeserializeOwned};

use super::StoreError;

/// Version byte of every value written by this build.
pub const VALUE_VERSION: u8 = 1;

/// Encodes a value with its version byte.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    encode_into(value, Vec::with_capacity(64))
}

/// [`encode`] into `buf`, replacing its contents and keeping its allocation. For large values
/// written again and again (the writer's state snapshot, tens of megabytes): a buffer grown by
/// doubling holds up to three times the final size while it is copied, and a new one each time
/// makes the allocator map and unmap that much memory.
pub fn encode_into<T: Serialize>(value: &T, mut buf: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    buf.clear();
    buf.push(VALUE_VERSION);
    postcard::to_extend(value, buf).map_err(|e| StoreError::Corrupt(format!("encode: {e}")))
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
        assert_eq!(encode_into(&s, Vec::new()).unwrap(), bytes);
        let reused = encode_into(&s, vec![7; 1 << 10]).unwrap();
        assert_eq!(
            (reused.as_slice(), reused.capacity()),
            (&bytes[..], 1 << 10)
        );
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
