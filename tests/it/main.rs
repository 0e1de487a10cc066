//! Integration tests: the real `tally` binary over HTTP.

// Tests unwrap: a panic is a failed test with its message (STYLE.md, "Tooling").
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod accounts;
mod agent;
mod alerts;
mod core;
mod faults;
mod fuzz;
mod hooks;
mod install;
mod isolation;
mod lifecycle;
mod security;
mod tls;
mod upgrade;
