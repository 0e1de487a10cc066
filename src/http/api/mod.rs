//! JSON API handlers, one file per concept.

pub mod servers;
pub mod stats;
pub mod system;
