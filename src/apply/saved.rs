//! `apply --plan`: a saved plan and the limits it is applied under ([`Saved`]), the work it
//! gives ([`Work`]: its deletions, each re-read before it
//! is deleted, and its tag removals), held back where the policy, evaluated now, does not do the
//! same (`--plan --policy`: [`Work::recheck`]), then carried out ([`Work::run`]).

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};

use super::placeholders::{self, Sweep};
use super::targets;
use super::untag::{UntagReport, UntagTarget};
use super::{ApplyReport, Item, Target};
use crate::github::{GithubClient, PaceMemory, Scope};
use crate::inventory::Inventory;
use crate::outcome::Failure;
use crate::plan::Plan;
use crate::policy::Policy;

/// A saved plan and the limits it is applied under.
pub struct Saved {
    pub plan: Plan,
    /// `--max-deletions`, else the policy's value the plan recorded (and which one it is).
    pub max_deletions: Option<(u64, &'static str)>,
    /// `--max-untags`, else the policy's (with `--policy`), else [`targets::DEFAULT_MAX_UNTAGS`].
    pub max_untags: u64,
}

impl Saved {
    /// `plan` under `--max-deletions` (`max_deletions`, else the plan's own) and `max_untags`.
    pub fn new(plan: Plan, max_deletions: Option<u64>, max_untags: u64) -> Saved {
        let max_deletions = match (max_deletions, plan.max_deletions) {
            (Some(max), _) => Some((max, "--max-deletions")),
            (None, Some(max)) => Some((
                max,
                "the policy's safety.max_deletions, recorded in the plan",
            )),
            (None, None) => None,
        };
        Saved {
            plan,
            max_deletions,
            max_untags,
        }
    }

    /// Refuse a plan deleting more than allowed; warn when `--owner` (`owner`) is not the owner
    /// the plan was made for.
    pub fn check(&self, owner: Option<&str>) -> Result<(), Failure> {
        let plan = &self.plan;
        let count = plan.deletions().count() as u64;
        if let Some((max, source)) = self.max_deletions {
            if count > max {
                return Err(Failure::usage(format!(
                    "the plan deletes {}, more than {max} ({source}); nothing was deleted\n  help: check the plan; if it is right, pass --max-deletions {count}",
                    crate::plural::count(count, "version", "versions")
                )));
            }
        }
        if let Some(owner) = owner {
            if !owner.eq_ignore_ascii_case(&plan.owner) {
                crate::printer::warning(&format!("--owner {owner} is not the owner the plan was made for ({}): its version ids are looked up under {owner}", plan.owner));
            }
        }
        Ok(())
    }
}

/// What a saved plan deletes and untags.
pub struct Work {
    pub targets: Vec<Target>,
    pub untags: Vec<UntagTarget>,
}

impl Work {
    /// The deletions of `plan` (re-read first; each explained to the journal) and its tag
    /// removals, refused when they are more than `max_untags`.
    pub fn of_plan(plan: &Plan, at: &Sweep<'_>, max_untags: u64) -> Result<Work, Failure> {
        let targets = targets::targets(plan);
        targets::explain(at.journal, plan);
        let untags = targets::untag_targets(plan);
        targets::check_max_untags(untags.len() as u64, max_untags)?;
        Ok(Work { targets, untags })
    }

    /// `--plan --policy`: sweep the placeholders an earlier run left in `inventory`, evaluate
    /// `policy` on it as of `now`, and hold back what that evaluation does not delete or
    /// untag. Returns the placeholders that could not be swept.
    pub async fn recheck(
        &mut self,
        client: &GithubClient,
        scope: &Scope,
        at: &Sweep<'_>,
        policy: &Policy,
        now: DateTime<Utc>,
        inventory: &mut Inventory,
    ) -> Result<Vec<Item>, Failure> {
        let swept = placeholders::sweep(client, scope, at, policy, now, inventory).await?;
        let now_plan = placeholders::evaluate(policy, inventory, now, &swept.doubt)?;
        let recheck = crate::plan::recheck::Recheck::new(&now_plan);
        targets::hold_back(&mut self.targets, &mut self.untags, &recheck);
        Ok(swept.failed)
    }

    /// The ids that are to be deleted (not held back).
    pub fn deleting(&self) -> HashSet<u64> {
        let going = self.targets.iter().filter(|t| t.hold.is_none());
        going.map(|t| t.id).collect()
    }

    /// The container packages a deletion is in.
    pub fn images(&self) -> BTreeSet<String> {
        let images = self.targets.iter().filter(|t| t.package_type.is_image());
        images.map(|t| t.package.clone()).collect()
    }

    /// Delete, remember the pace GitHub allowed in `memory`, then remove the tags (none when
    /// the deletions stopped).
    pub async fn run(
        self,
        client: &GithubClient,
        scope: &Scope,
        at: &Sweep<'_>,
        memory: Option<&PaceMemory>,
    ) -> (ApplyReport, UntagReport) {
        crate::printer::status(&format!(
            "deleting {} versions of {scope}; journal: {}",
            self.targets.len(),
            at.journal.path().display()
        ));
        let journal = std::sync::Arc::clone(at.journal);
        let report = super::execute(client, scope, self.targets, journal).await;
        if let Some(m) = memory {
            m.save(&report.pace, Utc::now());
        }
        let untagged = targets::remove_tags(client, scope, at, &report, self.untags).await;
        (report, untagged)
    }
}
