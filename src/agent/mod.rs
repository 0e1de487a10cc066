//! `tally agent` (stub, being written).
