//! Verify that every kept image is whole: after `apply`, and on demand (`retention verify`).
//!
//! The evaluator keeps every part of a kept image (its platform manifests, attestations,
//! signatures, referrers), and the registry is expected to remove only what is deleted and the
//! children no other index lists. Both rest on evidence, not on a guarantee, and a user who trusts
//! this tool with the registry must learn at once when a kept image lost a part. So:
//!
//! - **after apply**, each touched container package (one where a DELETE was sent) is listed once
//!   more, and every kept version's parts as the manifests already read named them (the image
//!   graph's edges: children, attestations, signatures, referrers) must still be listed. No
//!   manifest is read again: the extra cost is one listing per touched package
//!   (⌈versions/100⌉ requests).
//! - **`retention verify`** lists and reads manifests as `snapshot` does (every governed container
//!   package, through the cache), evaluates the policy, and checks that every digest a kept
//!   index lists is in the package: the same check, with the manifests as the record of what
//!   an image needs.
//!
//! The check itself ([`check`]) is pure: the inventory before, which versions are kept, and the
//! digests listed now.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use crate::github::packages::list_versions;
use crate::github::{ApiError, GithubClient, Scope};
use crate::graph::{Edge, ImageGraph, ManifestState};
use crate::inventory::Inventory;
use crate::manifest::Manifest;
use crate::plural;

pub mod verdict;

/// What to compare the listing with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// After apply: the parts a kept image had before (versions of the package then) must still
    /// be there, and so must the kept image itself.
    AfterApply,
    /// Now: every digest a kept manifest lists must be a version of the package.
    Listed,
}

/// A part of an image that is not in the package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingPart {
    pub digest: String,
    /// What it is: "child manifest", "signature", … (the graph's edge labels).
    pub what: &'static str,
    /// Its version id, when it was a version of the package before.
    pub id: Option<u64>,
}

/// A kept image that is not whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub package: String,
    pub id: u64,
    pub digest: String,
    pub tags: Vec<String>,
    /// The kept image itself is no longer listed.
    pub gone: bool,
    pub missing: Vec<MissingPart>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tags = if self.tags.is_empty() {
            "untagged".to_string()
        } else {
            self.tags.join(", ")
        };
        let short = self.digest.get(..19).unwrap_or(&self.digest);
        write!(
            f,
            "{}: kept image {short} ({tags}, id {})",
            self.package, self.id
        )?;
        if self.gone {
            return write!(f, " is gone");
        }
        let lost = plural::count(self.missing.len(), "part", "parts");
        write!(f, " lost {lost}: ")?;
        for (i, part) in self.missing.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            let short = part.digest.get(..19).unwrap_or(&part.digest);
            match part.id {
                Some(id) => write!(f, "{short} ({}, id {id})", part.what)?,
                None => write!(f, "{short} ({}, never in the package)", part.what)?,
            }
        }
        Ok(())
    }
}

/// The outcome of a verification.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Packages checked.
    pub packages: usize,
    /// Kept versions checked.
    pub images: usize,
    pub findings: Vec<Finding>,
    /// API requests the listing took.
    pub requests: u64,
    /// Kept versions whose manifest was not known: their children could not be checked.
    pub unknown_manifests: usize,
    /// Of those, the kept images no known manifest lists (not a platform manifest of a kept
    /// index, which the index's check covers): nothing about them could be checked. One label
    /// each: `package digest (tags, id N)`.
    pub unchecked: Vec<String>,
}

/// Check the kept versions of the packages in `present` (package name -> digests listed now).
/// `kept(package, id)` says whether the run meant to keep a version.
pub fn check(
    before: &Inventory,
    kept: impl Fn(&str, u64) -> bool,
    present: &HashMap<String, HashSet<String>>,
    mode: Mode,
) -> Report {
    let mut report = Report::default();
    for entry in &before.packages {
        let name = &entry.package.name;
        let Some(now) = present.get(name) else {
            continue;
        };
        if !entry.package.package_type.is_image() {
            continue;
        }
        report.packages += 1;
        let versions = &entry.versions;
        let graph = ImageGraph::build(versions, &entry.manifests);
        let in_package: HashSet<&str> = versions.iter().map(|v| v.name.as_str()).collect();
        let is_kept: Vec<bool> = versions.iter().map(|v| kept(name, v.id)).collect();
        for (i, v) in versions.iter().enumerate() {
            if !is_kept[i] {
                continue;
            }
            report.images += 1;
            if graph.manifest[i] != ManifestState::Known {
                report.unknown_manifests += 1;
                if !graph.parents[i].iter().any(|&(p, _)| is_kept[p]) {
                    let tags = if v.tags().is_empty() {
                        "untagged".to_string()
                    } else {
                        v.tags().join(", ")
                    };
                    let short = v.name.get(..19).unwrap_or(&v.name);
                    report
                        .unchecked
                        .push(format!("{name} {short} ({tags}, id {})", v.id));
                }
            }
            let mut missing = Vec::new();
            let mut gone = false;
            if mode == Mode::AfterApply {
                if !now.contains(&v.name) {
                    // A kept part of a kept image is reported under that image.
                    if !graph.parents[i].iter().any(|&(p, _)| is_kept[p]) {
                        gone = true;
                    }
                } else {
                    for &(c, edge) in &graph.dependants[i] {
                        if !now.contains(&versions[c].name) {
                            missing.push(MissingPart {
                                digest: versions[c].name.clone(),
                                what: edge.label(),
                                id: Some(versions[c].id),
                            });
                        }
                    }
                }
            }
            if mode == Mode::Listed && graph.manifest[i] == ManifestState::Known {
                if let Some(text) = entry.manifests.get(&v.name) {
                    missing.extend(not_in_package(text, &in_package));
                }
            }
            if gone || !missing.is_empty() {
                report.findings.push(Finding {
                    package: name.clone(),
                    id: v.id,
                    digest: v.name.clone(),
                    tags: v.tags().to_vec(),
                    gone,
                    missing,
                });
            }
        }
    }
    report
}

/// The entries of a manifest (an index's platform manifests and attestations) that are not
/// versions of the package.
fn not_in_package(text: &str, in_package: &HashSet<&str>) -> Vec<MissingPart> {
    // The graph read it already ("Known"): an error here leaves nothing to check.
    let references = Manifest::new(text).references().unwrap_or_default();
    references
        .manifests
        .into_iter()
        .flatten()
        .filter(|d| !in_package.contains(&*d.digest))
        .map(|d| {
            let edge = if d.is_attestation() {
                Edge::Attestation
            } else {
                Edge::Child
            };
            MissingPart {
                digest: d.digest.into_owned(),
                what: edge.label(),
                id: None,
            }
        })
        .collect()
}

/// The digests listed now in each of `packages` (container packages of the inventory), one
/// listing each.
pub async fn list_present(
    client: &GithubClient,
    scope: &Scope,
    before: &Inventory,
    packages: &BTreeSet<String>,
) -> Result<HashMap<String, HashSet<String>>, ApiError> {
    let mut present = HashMap::new();
    for entry in &before.packages {
        let p = &entry.package;
        if !p.package_type.is_image() || !packages.contains(&p.name) {
            continue;
        }
        let versions = list_versions(client, scope, p.package_type.as_str(), &p.name).await?;
        let names: HashSet<String> = versions
            .iter()
            .filter_map(|v| v.get("name").and_then(|n| n.as_str()).map(String::from))
            .collect();
        present.insert(p.name.clone(), names);
    }
    Ok(present)
}

/// After apply: list the touched packages once more and check that every kept version and every
/// part of a kept image is still there.
pub async fn after_apply(
    client: &GithubClient,
    scope: &Scope,
    before: &Inventory,
    kept: impl Fn(&str, u64) -> bool,
    touched: &BTreeSet<String>,
) -> Result<Report, ApiError> {
    let requests = client.requests();
    let present = list_present(client, scope, before, touched).await?;
    let mut report = check(before, kept, &present, Mode::AfterApply);
    report.requests = client.requests() - requests;
    Ok(report)
}

/// Now: every kept index of the inventory lists only versions of its package.
pub fn listed(before: &Inventory, kept: impl Fn(&str, u64) -> bool) -> Report {
    let present: HashMap<String, HashSet<String>> = before
        .packages
        .iter()
        .map(|e| {
            (
                e.package.name.clone(),
                e.versions.iter().map(|v| v.name.clone()).collect(),
            )
        })
        .collect();
    check(before, kept, &present, Mode::Listed)
}

#[cfg(test)]
mod tests;
