//! The integration tests: one binary (one copy of the support code), one module per area. They
//! run the real `retention` binary against local servers (ARCHITECTURE.md, "Tests").
//!
//! Tests that need `docker-registry` are `#[ignore = "needs docker-registry"]`: a plain
//! `cargo test` lists them as ignored; `scripts/test.sh` runs them with `--include-ignored`
//! (and `CI=true`, where a missing registry fails them instead of skipping).

mod support;

mod action_runner;
mod cli_offline;
mod e2e_images;
mod examples;
mod github_bench;
mod github_e2e;
mod init;
mod inuse;
mod journal;
mod listing;
mod policy_diff;
mod registry;
mod schemas;
mod untag_api;
mod untag_e2e;
mod untag_last;
mod verify_e2e;
