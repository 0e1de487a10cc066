//! Integration tests: the real `tally` binary over HTTP.

mod support;

mod core;
mod lifecycle;
