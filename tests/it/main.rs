//! Integration tests: the real `tally` binary over HTTP.

mod support;

mod accounts;
mod core;
mod isolation;
