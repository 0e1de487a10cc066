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
        resident: proc_status_bytes("self", "VmRSS").unwrap_or(0),
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

/// A field of `/proc/<pid>/status` that is a size in kB (`VmRSS`, `VmHWM`), in bytes; `pid`
/// may be `self`. Linux only.
pub fn proc_status_bytes(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_resident_memory() {
        let s = super::stats();
        assert!(s.resident > 0);
        assert!(super::proc_status_bytes("self", "VmHWM").unwrap_or(0) >= s.resident / 2);
        assert_eq!(super::proc_status_bytes("self", "NoSuchField"), None);
        assert_eq!(super::proc_status_bytes("not-a-pid", "VmRSS"), None);
        #[cfg(feature = "jemalloc")]
        assert!(s.allocated.unwrap_or(0) > 0);
    }
}
