//! The test doubles every integration test shares, compiled once: a local server that behaves
//! like the GitHub API and ghcr.io ([`github_server`], [`ghcr_face`](github_server)), a real
//! `docker-registry` process ([`registry`]) with real images ([`image_fixture`]), and a proxy in
//! front of it that injects faults ([`registry_proxy`]); and [`snap`], which turns one run of the
//! binary into one snapshot text.

pub mod github_server;
pub mod image_fixture;
pub mod registry;
pub mod registry_proxy;
pub mod snap;
