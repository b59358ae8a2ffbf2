//! Placeholders left by a killed tag removal, before a policy is evaluated (`plan`, `apply`).
//!
//! A placeholder ([`crate::apply::untag`]) is never an image, and must never count as one: a
//! leftover counted as the newest image would make `keep_newest` delete the real newest one.
//! So, before evaluating, the placeholders of the inventory are found
//! ([`crate::apply::leftovers::find_leftovers`]: by their annotation, or by the journal) and taken
//! out of it. `plan` only says so; `apply` sweeps them as the current policy says
//! ([`sweep`]): a tag the policy keeps goes back on its original image, any other tag's removal
//! is finished.
//!
//! A version with a single tag whose manifest cannot be read may be a placeholder: the decision
//! is made as if it were absent and as if it were there, and only what both delete (or untag) is
//! done ([`Doubt`], [`plan_package`]); the deletions that rest on it are withheld, with a warning.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::leftovers::{self, Leftover};
use super::Item;
use crate::evaluate::EvaluateError;
use crate::github::{GithubClient, Scope};
use crate::inventory::{Inventory, PackageEntry};
use crate::outcome::Failure;
use crate::plan::{Action, PackagePlan, Plan};
use crate::policy::Policy;
use crate::registry::{ManifestCache, RegistryClient};

/// Versions that may be placeholders (one tag, manifest unreadable): (package, id) -> label.
#[derive(Clone, Debug, Default)]
pub struct Doubt {
    versions: HashMap<(String, u64), String>,
}

impl Doubt {
    fn of(found: &leftovers::Found) -> Doubt {
        Doubt {
            versions: found
                .doubtful
                .iter()
                .map(|(package, id, digest, tag)| {
                    let short = digest.get(..19).unwrap_or(digest);
                    ((package.clone(), *id), format!("{short} ({tag}, id {id})"))
                })
                .collect(),
        }
    }

    fn in_package(&self, package: &str) -> Vec<(u64, &str)> {
        let mut ids: Vec<(u64, &str)> = self
            .versions
            .iter()
            .filter(|((p, _), _)| p == package)
            .map(|((_, id), label)| (*id, label.as_str()))
            .collect();
        ids.sort();
        ids
    }
}

/// Say what was found: one line per placeholder set aside.
fn say(found: &leftovers::Found, what_next: &str) {
    for l in &found.leftovers {
        crate::printer::status(&format!(
            "placeholder: {} {} ({}) is a placeholder left by a killed tag removal ({}): it is not an image; {what_next}",
            l.package,
            l.digest,
            l.tags.join(", "),
            l.note
        ));
    }
}

/// `plan`: take the placeholders out of `inventory` (reading manifests through `registry` and
/// `cache`, when given, else only the inventory's: an offline plan reads nothing), say so, and
/// return the doubtful versions. Only the packages where one of `policies` needs manifests are
/// looked at: elsewhere no image is deleted, so a placeholder changes no decision (and `plan`
/// reads no manifest it does not need).
pub async fn set_aside(
    registry: Option<(&RegistryClient, &ManifestCache)>,
    inventory: &mut Inventory,
    policies: &[&Policy],
    now: DateTime<Utc>,
) -> Doubt {
    let (registry, cache) = registry.unzip();
    let decides = |entry: &PackageEntry| {
        policies.iter().any(|p| {
            crate::evaluate::governs(p, entry) && crate::evaluate::needs_manifests(p, entry, now)
        })
    };
    let found =
        leftovers::find_leftovers(registry, cache, inventory, &HashMap::new(), &decides).await;
    say(
        &found,
        "`retention apply` finishes that removal, or puts the tag back when the policy keeps it",
    );
    leftovers::set_aside(inventory, &found.leftovers);
    Doubt::of(&found)
}

/// Where `apply` finds, journals and sweeps placeholders.
pub struct Sweep<'a> {
    pub registry: &'a RegistryClient,
    pub cache: &'a ManifestCache,
    pub journal: &'a std::sync::Arc<super::journal::Journal>,
    /// Placeholder digests the journal names: (tag, original image).
    pub known: HashMap<String, (String, String)>,
}

/// What [`sweep`] leaves for the report: placeholders that still hold their tag, and the
/// doubtful versions the decisions must not rest on.
#[derive(Default)]
pub struct Swept {
    pub failed: Vec<Item>,
    pub doubt: Doubt,
}

/// `apply`: find the placeholders of `inventory`, put back the tags `policy` keeps and finish the
/// other removals, and take them all out of `inventory`.
pub async fn sweep(
    client: &GithubClient,
    scope: &Scope,
    sweep: &Sweep<'_>,
    policy: &Policy,
    now: DateTime<Utc>,
    inventory: &mut Inventory,
) -> Result<Swept, Failure> {
    let found = leftovers::find_leftovers(
        Some(sweep.registry),
        Some(sweep.cache),
        inventory,
        &sweep.known,
        &|_| true,
    )
    .await;
    let doubt = Doubt::of(&found);
    if found.leftovers.is_empty() {
        return Ok(Swept {
            failed: Vec::new(),
            doubt,
        });
    }
    let put_back = tags_kept(policy, inventory, &found.leftovers, now);
    let swept = leftovers::sweep(
        client,
        scope,
        sweep.registry,
        sweep.cache,
        sweep.journal,
        inventory,
        &found.leftovers,
        &put_back,
    )
    .await
    .map_err(|e| {
        Failure::run(format!(
            "sweeping a placeholder left by an earlier run: {e}"
        ))
    })?;
    for (line, failed) in &swept.lines {
        // A failure is printed with --quiet too: the run's error points to it.
        let say = if *failed {
            crate::printer::detail
        } else {
            crate::printer::status
        };
        // An error's `help:` lines stay lines of their own.
        for (i, part) in line.split('\n').enumerate() {
            let part = crate::render::printable(part);
            if i == 0 {
                say(&format!("placeholder: {part}"));
            } else {
                say(&part);
            }
        }
    }
    // In the run's list of failures, the first line of each (its help is printed above).
    let failed = swept
        .failed
        .into_iter()
        .map(
            |Item {
                 package,
                 label,
                 why,
             }| {
                let why = why.lines().next().unwrap_or_default().to_string();
                Item {
                    package,
                    label,
                    why,
                }
            },
        )
        .collect();
    Ok(Swept { failed, doubt })
}

/// The leftovers (ids) whose tag `policy` keeps on the original image: the inventory is evaluated
/// with every leftover absent and each tag back on its image (when that image is listed); a tag
/// is put back when the policy keeps the image and does not remove that tag.
fn tags_kept(
    policy: &Policy,
    inventory: &Inventory,
    leftovers: &[Leftover],
    now: DateTime<Utc>,
) -> HashSet<u64> {
    let mut restored = inventory.clone();
    leftovers::set_aside(&mut restored, leftovers);
    // (package, original digest, tag, leftover id)
    let mut wanted: Vec<(String, String, String, u64)> = Vec::new();
    for l in leftovers {
        let (tag, original) = leftovers::note_of(l);
        let Some(entry) = restored
            .packages
            .iter_mut()
            .find(|p| p.package.name == l.package)
        else {
            continue;
        };
        // The tag must not be on another version now (pushed since): then it is not put back.
        if entry.versions.iter().any(|v| v.tags().contains(&tag)) {
            continue;
        }
        let Some(tags) = entry
            .versions
            .iter_mut()
            .find(|v| v.name == original)
            .and_then(|v| v.metadata.as_mut())
            .and_then(|m| m.container.as_mut())
        else {
            continue;
        };
        tags.tags.push(tag.clone());
        wanted.push((l.package.clone(), original, tag, l.id));
    }
    let mut keep = HashSet::new();
    let listed = crate::evaluate::listed_digests(&restored.packages);
    for entry in &restored.packages {
        if !wanted.iter().any(|(p, ..)| p == &entry.package.name) {
            continue;
        }
        let plan = crate::evaluate::plan_package_in(policy, entry, now, &|d| listed.contains(d));
        for (package, original, tag, id) in &wanted {
            if package != &entry.package.name {
                continue;
            }
            let kept = plan
                .versions
                .iter()
                .any(|v| &v.name == original && v.action == Action::Keep && !v.untag.contains(tag));
            if kept {
                keep.insert(*id);
            }
        }
    }
    keep
}

/// The plan of `entry`, deciding as if its doubtful versions were absent as well as present:
/// a deletion or tag removal made only when they count is withheld, with a warning.
pub fn plan_package(
    policy: &Policy,
    entry: &PackageEntry,
    now: DateTime<Utc>,
    doubt: &Doubt,
    elsewhere: &dyn Fn(&str) -> bool,
) -> PackagePlan {
    let mut plan = crate::evaluate::plan_package_in(policy, entry, now, elsewhere);
    let doubtful = doubt.in_package(&entry.package.name);
    if doubtful.is_empty() {
        return plan;
    }
    let ids: HashSet<u64> = doubtful.iter().map(|(id, _)| *id).collect();
    let mut absent_entry = entry.clone();
    absent_entry.versions.retain(|v| !ids.contains(&v.id));
    let absent = crate::evaluate::plan_package_in(policy, &absent_entry, now, elsewhere);
    let deleted: HashSet<u64> = absent
        .versions
        .iter()
        .filter(|v| v.action == Action::Delete)
        .map(|v| v.id)
        .collect();
    let untags: HashSet<(u64, &str)> = absent
        .versions
        .iter()
        .flat_map(|v| v.untag.iter().map(move |t| (v.id, t.as_str())))
        .collect();
    let labels: Vec<&str> = doubtful.iter().map(|(_, l)| *l).collect();
    let why = format!(
        "withheld: decided only if {} {} an image, and {} may be a placeholder left by a killed tag removal (its manifest could not be read)",
        labels.join(", "),
        crate::plural::word(labels.len(), "is", "are"),
        crate::plural::word(labels.len(), "it", "each"),
    );
    let mut withheld = 0usize;
    for v in &mut plan.versions {
        if v.action == Action::Delete && !deleted.contains(&v.id) {
            v.action = Action::Keep;
            v.withheld = true;
            v.after.clear();
            v.reasons = vec![why.clone()];
            withheld += 1;
        }
        let before = v.untag.len();
        v.untag.retain(|t| untags.contains(&(v.id, t.as_str())));
        withheld += before - v.untag.len();
    }
    if withheld > 0 {
        plan.bytes_freed = crate::space::package_bytes_freed(entry, &plan);
        plan.warnings.push(format!(
            "{} withheld: {} {} one tag and no readable manifest, so {} may be a placeholder left by a killed tag removal, which must not count as an image; run again when the registry answers",
            crate::plural::count(withheld, "deletion or tag removal", "deletions or tag removals"),
            labels.join(", "),
            crate::plural::word(labels.len(), "has", "have"),
            crate::plural::word(labels.len(), "it", "each"),
        ));
    }
    plan
}

/// [`crate::evaluate::evaluate_unchecked`] with the doubtful versions decided on both ways.
pub fn evaluate_unchecked(
    policy: &Policy,
    inventory: &Inventory,
    now: DateTime<Utc>,
    doubt: &Doubt,
) -> Plan {
    let listed = crate::evaluate::listed_digests(&inventory.packages);
    let packages: Vec<PackagePlan> = inventory
        .packages
        .iter()
        .filter(|p| crate::evaluate::governs(policy, p))
        .map(|p| plan_package(policy, p, now, doubt, &|d| listed.contains(d)))
        .collect();
    crate::evaluate::assemble(policy, &inventory.owner, now, packages)
}

/// An inventory and the versions a killed tag removal left in doubt ([`set_aside`]).
pub type Listed = (Inventory, Doubt);

/// The base policy's plan of `plan --base`, and what its own limits refuse.
pub type BasePlan = (Plan, Option<EvaluateError>);

/// The plan, and the base policy's with what its limits refuse (`plan --base`). With a base, both
/// policies are evaluated at once, each on its own thread (the same inventory, read once, unless
/// the base policy's own is given): `plan --base` must cost well under twice `plan`.
pub fn evaluate_both(
    policy: &Policy,
    base: Option<&Policy>,
    listed: &Listed,
    base_listed: Option<&Listed>,
    now: DateTime<Utc>,
) -> (Plan, Option<Result<BasePlan, Failure>>) {
    std::thread::scope(|scope| {
        let base_plan = base.map(|base| {
            let (inventory, doubt) = base_listed.unwrap_or(listed);
            scope.spawn(move || {
                let plan = evaluate_unchecked(base, inventory, now, doubt);
                let refused = crate::evaluate::check_limits(base, &plan).err();
                (plan, refused)
            })
        });
        let plan = evaluate_unchecked(policy, &listed.0, now, &listed.1);
        let base_plan = base_plan.map(|h| {
            h.join()
                .map_err(|_| Failure::run("the evaluation of the base policy panicked"))
        });
        (plan, base_plan)
    })
}

/// [`crate::evaluate::evaluate`] with the doubtful versions decided on both ways.
pub fn evaluate(
    policy: &Policy,
    inventory: &Inventory,
    now: DateTime<Utc>,
    doubt: &Doubt,
) -> Result<Plan, EvaluateError> {
    let plan = evaluate_unchecked(policy, inventory, now, doubt);
    crate::evaluate::check_limits(policy, &plan)?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeZone;

    use super::*;
    use crate::testkit;

    /// Three images, `day` days into 2026: a, b (also tagged pr-2) and c, their manifests known
    /// unless `unread`.
    fn inventory(unread: &[u64]) -> Inventory {
        let mut versions = Vec::new();
        let mut manifests = BTreeMap::new();
        for (id, tags, day) in [
            (1u64, &["a"][..], 1u32),
            (2, &["b", "pr-2"][..], 2),
            (3, &["c"][..], 3),
        ] {
            let body = format!(
                r#"{{"schemaVersion":2,"config":{{"digest":"sha256:{id:064x}"}},"layers":[]}}"#
            );
            let digest = crate::digest::of(body.as_bytes());
            if !unread.contains(&id) {
                manifests.insert(digest.clone(), body);
            }
            let t = Utc
                .with_ymd_and_hms(2026, 1, day, 0, 0, 0)
                .single()
                .unwrap_or_default();
            versions.push(testkit::version(id, &digest, tags, t));
        }
        Inventory {
            schema: 1,
            owner: "acme".into(),
            captured_at: Utc::now(),
            packages: vec![testkit::package("app", versions, manifests)],
        }
    }

    /// The newest image stays whole; every other image loses its `pr-` tags.
    fn policy() -> Policy {
        let yaml = "version: 1\npackages: { type: container, names: [\"*\"] }\nrules:\n  - name: the newest stays\n    keep: { newest: 1 }\n  - name: pull requests go\n    delete: { tags: [\"pr-*\"] }\nsafety: { keep_newest: 0, min_age: 0s }\n";
        match crate::policy::parse_policy("p.yml", yaml.as_bytes()) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    fn untags(plan: &PackagePlan) -> Vec<(u64, String)> {
        let mut out: Vec<(u64, String)> = plan
            .versions
            .iter()
            .flat_map(|v| v.untag.iter().map(move |t| (v.id, t.clone())))
            .collect();
        out.sort();
        out
    }

    /// (A deletion that rests on a doubtful version is withheld anyway: an unread manifest
    /// may be a kept index listing it, see evaluate's `ParentsUnknown`. What the doubt alone
    /// withholds is a tag removal.)
    #[test]
    fn what_rests_on_a_version_that_may_be_a_placeholder_is_withheld() {
        let now = Utc
            .with_ymd_and_hms(2026, 2, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let policy = policy();
        // c (3), the newest, cannot be read: it may be a placeholder.
        let inv = inventory(&[3]);
        let entry = &inv.packages[0];
        // Counted as an image, c takes the newest place and b loses pr-2.
        let plain = plan_package(&policy, entry, now, &Doubt::default(), &|_| false);
        assert_eq!(untags(&plain), [(2, "pr-2".to_string())]);
        let doubt = Doubt {
            versions: HashMap::from([(("app".to_string(), 3), "c".to_string())]),
        };
        let plan = plan_package(&policy, entry, now, &doubt, &|_| false);
        // Absent, b is the newest image and stays whole: pr-2 stays either way.
        assert!(untags(&plan).is_empty(), "{:?}", untags(&plan));
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.starts_with("1 deletion or tag removal withheld: c has one tag")),
            "{:?}",
            plan.warnings
        );
        // Nothing doubtful in another package changes nothing here.
        let elsewhere = Doubt {
            versions: HashMap::from([(("other".to_string(), 3), "c".to_string())]),
        };
        assert_eq!(
            untags(&plan_package(&policy, entry, now, &elsewhere, &|_| false)),
            [(2, "pr-2".to_string())]
        );
    }
}
