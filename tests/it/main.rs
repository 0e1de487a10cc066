//! Integration tests: the real `tally` binary over HTTP.

mod support;

mod agent;
mod core;
