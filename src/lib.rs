//! `retention`: apply a declarative retention policy to GitHub Packages.
//!
//! The modules follow the pipeline (ARCHITECTURE.md, "Layout"):
//!
//! ```text
//! policy.yml --parse-->  policy::Policy
//! GitHub API --list-->   inventory::Inventory        (github/)
//! registry   --read-->   manifests in the inventory  (registry/)
//! manifests  --parse-->  graph::ImageGraph
//! (Policy, Inventory, now) --evaluate--> plan::Plan   (pure: no I/O, no clock)
//! Plan --render--> text | markdown | json             (render/)
//! Plan --apply-->  deletions, journal                 (apply/)
//! ```
//!
//! ARCHITECTURE.md has the module map (no cycle, no upward arrow: `scripts/module_map.py`).
//! Modules are `pub(crate)` unless the integration tests (tests/it) use them, so that the
//! dead-code lint sees what nothing calls.
//!
//! `actions` reports to a GitHub Actions runner (outputs, job summary, annotations).
//! `cli` parses the command line and `commands` wires the stages together; `main.rs` only calls
//! [`commands::main`].

pub(crate) mod actions;
pub(crate) mod apply;
pub(crate) mod backoff;
pub(crate) mod cli;
pub mod commands;
pub(crate) mod diff;
pub(crate) mod digest;
pub mod env;
pub mod evaluate;
pub mod fill;
pub(crate) mod github;
pub(crate) mod graph;
pub mod init;
pub mod inuse;
pub mod inventory;
pub(crate) mod manifest;
pub mod outcome;
pub mod plan;
pub(crate) mod plural;
pub mod policy;
pub(crate) mod printer;
pub mod registry;
pub mod render;
pub(crate) mod response;
pub(crate) mod secret;
pub(crate) mod space;
pub(crate) mod sync;
#[cfg(test)]
pub(crate) mod testkit;
pub(crate) mod verify;
