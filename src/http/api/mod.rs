//! JSON API handlers, one file per concept.

pub mod backup;
pub mod export;
pub mod privacy;
pub mod retention;
pub mod servers;
pub mod stats;
pub mod system;
