//! `retention`: apply a declarative retention policy to GitHub Packages.
//!
//! The modules follow the pipeline (README, "Layout"):
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
//! `actions` reports to a GitHub Actions runner (outputs, job summary, annotations).
//! `cli` parses the command line and `commands` wires the stages together; `main.rs` only calls
//! [`commands::main`].

pub mod actions;
pub mod apply;
pub mod backoff;
pub mod cli;
pub mod commands;
pub mod diff;
pub mod digest;
pub mod evaluate;
pub mod fill;
pub mod github;
pub mod graph;
pub mod inventory;
pub mod plan;
pub mod policy;
pub mod registry;
pub mod render;
pub mod secret;
pub mod space;
pub mod verify;
