//! The allocator and what it reports about memory.
//!
//! jemalloc replaces the C library's allocator (feature `jemalloc`, on by default): HTTP workers,
//! the writer and the checkpoint thread allocate and free large transient buffers (request
//! bodies, checkpoint folds), and jemalloc hands that memory back instead of keeping it
//! fragmented in per-thread arenas; in the static musl build it also replaces musl's allocator,
//! which serialises every allocation. Build with `--no-default-features` for heap profilers that
//! hook `malloc` (heaptrack, valgrind).

#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Memory figures for `/metrics`, in bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct MemoryStats {
    /// Resident set size of the process.
    pub resident: u64,
    /// Bytes the program holds in live allocations (jemalloc builds only).
    pub allocated: Option<u64>,
    /// Bytes of physical memory the allocator holds, live or cached (jemalloc builds only).
    pub allocator_resident: Option<u64>,
}

/// Reads the current figures.
pub fn stats() -> MemoryStats {
    MemoryStats {
        resident: resident_bytes().unwrap_or(0),
        ..allocator_stats()
    }
}

#[cfg(feature = "jemalloc")]
fn allocator_stats() -> MemoryStats {
    use tikv_jemalloc_ctl::{epoch, stats};
    // jemalloc caches its statistics; advancing the epoch refreshes them.
    let _ = epoch::advance();
    MemoryStats {
        resident: 0,
        allocated: stats::allocated::read().ok().map(|v| v as u64),
        allocator_resident: stats::resident::read().ok().map(|v| v as u64),
    }
}

#[cfg(not(feature = "jemalloc"))]
fn allocator_stats() -> MemoryStats {
    MemoryStats::default()
}

/// Resident set size from `/proc/self/statm` (Linux), in bytes.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_resident_memory() {
        let s = super::stats();
        assert!(s.resident > 0);
        #[cfg(feature = "jemalloc")]
        assert!(s.allocated.unwrap_or(0) > 0);
    }
}
