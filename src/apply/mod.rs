//! Carrying out deletions: the executor ([`execute`]), the journal ([`journal`]) and the progress
//! display ([`progress`]); removing tags from images that stay: [`untag`], the placeholders a killed
//! run left: [`leftovers`] (set aside before a policy is evaluated: [`placeholders`]), putting tags
//! back: [`retag`]. The two ways `apply` runs: a saved plan ([`saved`]) and the policy, package by
//! package ([`stream`]), both through what a plan comes to ([`targets`]) at a [`pace`], ending in
//! the counts and the exit code of the run ([`results`]).
//!
//! Outcomes of a DELETE: 204 deleted; 404 "Package version not found." already gone (deleted by
//! someone else meanwhile, or by an earlier run whose answer was lost), which counts as done
//! (ghcr.io does not remove an index's children itself: each is a target of its own, deleted
//! after its index); 400 refusals (the last tagged
//! version, over 5,000 downloads) are skipped with GitHub's message and the run goes on; 401 and
//! the 403/404 of a missing permission stop the run with an explanation; 5xx and network failures
//! are retried by the client and count as failed when they persist. Each version is read again
//! right before its DELETE, in every mode, and skipped when it is gone, its tags changed or it
//! was pushed again (`updated_at` changed), or its name (digest) is not the planned one: another
//! actor may tag an old build as a release while a run goes on (one more API request a
//! deletion).
//!
//! [`execute_stream`] takes more targets while it runs (a batch per package, as soon as its
//! decisions are known), so that deleting starts before every manifest is read.
//!
//! The primary rate limit is watched: when what is left would not cover the rest, the executor
//! lets the requests in flight finish and stops, saying what is left and when the budget resets.
//! The pace of the deletions is the client's ([`crate::github::pacer`]): one a second by default,
//! lowered to what GitHub accepts when it refuses; the run goes on at that pace, and says at the
//! end what GitHub allowed. `--max-duration` stops it cleanly ([`Stop::Deadline`]).

mod executor;
pub mod journal;
pub mod leftovers;
pub mod order;
pub mod pace;
pub mod placeholders;
pub mod progress;
pub mod restore;
pub mod results;
pub mod retag;
pub mod saved;
pub mod stream;
pub mod targets;
pub mod untag;

use chrono::{DateTime, Utc};

use crate::github::{ApiError, PaceSummary, RateBudget};
use crate::inventory::PackageType;
use journal::JournalError;

pub use crate::render::summary::Item;
pub use executor::{execute, execute_stream};

/// What stops a step of `apply` that is not the executor (which reports per target, [`Stop`]):
/// GitHub refused for good (a permission), or the journal failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Requests kept in reserve: the executor stops when the primary budget falls to this.
pub const BUDGET_RESERVE: u64 = 10;

/// A version to delete.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub package: String,
    pub package_type: PackageType,
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
    /// The `updated_at` the plan saw: the version is re-read right before its DELETE and
    /// skipped if it changed (with its tags and name).
    pub updated_at: DateTime<Utc>,
    /// Ids of targets this one depends on (its index, its subject): it is deleted only after
    /// they are, and not at all when one of them is not (refused, failed): deleting a platform
    /// manifest of an index that stays would break the image.
    pub after: Vec<u64>,
    /// Not to be deleted after all, and why (`apply --plan --policy`: the policy, evaluated
    /// now, keeps it). Reported as skipped; no request is sent.
    pub hold: Option<String>,
}

impl Target {
    /// How a person recognises the version: its tags, else its name.
    pub fn label(&self) -> String {
        if self.tags.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.tags.join(", "))
        }
    }
}

/// Why the executor stopped before the end.
#[derive(Clone, Debug)]
pub enum Stop {
    /// The primary rate limit would not cover the rest.
    Budget {
        remaining: Option<u64>,
        reset: Option<DateTime<Utc>>,
    },
    /// GitHub's secondary rate limit asked for a longer wait than a run makes.
    Secondary {
        until: Option<DateTime<Utc>>,
        message: String,
    },
    /// A permission or configuration problem: nothing more can succeed.
    Fatal(ApiError),
    /// The journal could not be written: deleting on would leave deletions unrecorded.
    Journal(JournalError),
    /// `--max-duration` passed (how long it was).
    Deadline(std::time::Duration),
}

/// What happened to each target.
#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    pub total: u64,
    pub deleted: u64,
    pub already_gone: u64,
    /// Skipped versions (why: GitHub's refusal, a recheck, a hold).
    pub skipped: Vec<Item>,
    /// Failed versions (why: the error).
    pub failed: Vec<Item>,
    /// Not attempted because the run stopped.
    pub left: u64,
    pub stop: Option<Stop>,
    pub requests: u64,
    pub secondary_limits: u64,
    pub budget: RateBudget,
    /// Packages where a DELETE was sent (deleted, already gone or failed): what verify lists.
    pub touched: std::collections::BTreeSet<String>,
    /// The pace of the deletions: configured, learned, refusals.
    pub pace: PaceSummary,
}

impl ApplyReport {
    /// Deletions done (deleted now, or found already gone).
    pub fn done(&self) -> u64 {
        self.deleted + self.already_gone
    }
}
