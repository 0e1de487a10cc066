//! HyperLogLog sketch for unique viewers (precision 12: 4,096 registers, ~1.6 % standard error).
//!
//! Kept in-crate rather than taken from a sketch crate because its register layout is part of
//! the storage format: a dependency upgrade must never change how stored sketches decode. The
//! items inserted are already keyed 64-bit hashes (salted per day), so no hashing happens here.

use serde::{Deserialize, Serialize};

const P: u32 = 12;
const M: usize = 1 << P;

/// A mergeable distinct-count sketch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hll {
    registers: Box<[u8; M]>,
}

impl Default for Hll {
    fn default() -> Self {
        Hll {
            registers: Box::new([0u8; M]),
        }
    }
}

impl Hll {
    /// Adds one already-hashed item.
    pub fn insert_hash(&mut self, hash: u64) {
        let idx = (hash >> (64 - P)) as usize;
        let rest = (hash << P) | (1 << (P - 1));
        let rho = rest.leading_zeros() as u8 + 1;
        if self.registers[idx] < rho {
            self.registers[idx] = rho;
        }
    }

    /// Folds another sketch into this one (union).
    pub fn merge(&mut self, other: &Hll) {
        for (a, b) in self.registers.iter_mut().zip(other.registers.iter()) {
            *a = (*a).max(*b);
        }
    }

    /// True when nothing was inserted.
    pub fn is_empty(&self) -> bool {
        self.registers.iter().all(|r| *r == 0)
    }

    /// Estimated number of distinct items.
    pub fn count(&self) -> u64 {
        let m = M as f64;
        let mut sum = 0.0;
        let mut zeros = 0usize;
        for &r in self.registers.iter() {
            sum += 1.0 / (1u64 << r) as f64;
            if r == 0 {
                zeros += 1;
            }
        }
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let est = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        est.round() as u64
    }

    /// Compact form for storage: sparse `(index, rank)` pairs while few registers are set.
    pub fn to_stored(&self) -> StoredHll {
        let set: Vec<(u16, u8)> = self
            .registers
            .iter()
            .enumerate()
            .filter(|(_, r)| **r != 0)
            .map(|(i, r)| (i as u16, *r))
            .collect();
        if set.len() * 3 < M {
            StoredHll::Sparse(set)
        } else {
            StoredHll::Dense(self.registers.to_vec())
        }
    }

    /// Rebuilds a sketch from its stored form; out-of-range entries are ignored.
    pub fn from_stored(stored: &StoredHll) -> Hll {
        let mut h = Hll::default();
        match stored {
            StoredHll::Sparse(pairs) => {
                for &(i, r) in pairs {
                    if let Some(slot) = h.registers.get_mut(i as usize) {
                        *slot = r.min(64 - P as u8 + 1);
                    }
                }
            }
            StoredHll::Dense(regs) => {
                for (slot, r) in h.registers.iter_mut().zip(regs.iter()) {
                    *slot = (*r).min(64 - P as u8 + 1);
                }
            }
        }
        h
    }
}

/// Serialized sketch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredHll {
    Sparse(Vec<(u16, u8)>),
    Dense(Vec<u8>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hasher;

    /// Deterministic 64-bit hash of a test item.
    fn h(i: u64) -> u64 {
        let mut s = std::collections::hash_map::DefaultHasher::new();
        s.write_u64(i);
        s.finish()
    }

    #[test]
    fn estimates_within_a_few_percent() {
        for n in [0u64, 1, 10, 1000, 50_000, 1_000_000] {
            let mut hll = Hll::default();
            for i in 0..n {
                hll.insert_hash(h(i));
            }
            let c = hll.count() as f64;
            let err = if n == 0 {
                c
            } else {
                (c - n as f64).abs() / n as f64
            };
            assert!(err < 0.05, "n={n} estimate={c}");
        }
    }

    #[test]
    fn merge_is_union_and_storage_round_trips() {
        let (mut a, mut b) = (Hll::default(), Hll::default());
        for i in 0..3000 {
            a.insert_hash(h(i));
            b.insert_hash(h(i + 1500));
        }
        for hll in [&a, &Hll::default()] {
            assert_eq!(&Hll::from_stored(&hll.to_stored()), hll);
        }
        a.merge(&b);
        let c = a.count() as f64;
        assert!((c - 4500.0).abs() / 4500.0 < 0.05, "{c}");
        assert_eq!(Hll::from_stored(&a.to_stored()), a);
    }
}
