//! Building an inventory from the API: the packages a policy governs and all their versions.
//!
//! The objects are kept exactly as GitHub sent them ([`RawInventory`], what `snapshot` writes), and
//! read into the typed [`Inventory`] for evaluation. When the policy names its packages exactly
//! they are fetched one by one (`GET …/packages/{type}/{name}`) and never listed, which is what a
//! workflow token allows.
//!
//! A listing is checked for consistency before anything is decided on it: listing is
//! offset-paginated, so when another actor deletes a version of an earlier page while a later
//! one is read, the first version of that later page is never seen, and a kept index missing
//! from the listing makes its platform manifests look like parentless leftovers. So each package
//! is got (its `version_count`) right before and right after its versions are listed, and the
//! listing is taken as it is only when the versions listed (each once) are as many as both counts
//! and no id was listed twice (a duplicate means a push shifted the pages: a deletion in the same
//! listing would not change the total). Otherwise the package is listed once more, checked the
//! same way. Two listings that agree version for version saw nothing move (a version skipped by
//! either needs a version of an earlier page deleted while it ran, which the other listing, run
//! before or after that deletion, lists or does not: they would differ): the listing is complete
//! and the count is what is off. When the second listing fails the check and differs from the
//! first, the package carries a [`ListingGap`]: the evaluator then withholds every deletion that
//! rests on a version's absence and the run exits 3.
//!
//! This is a consistency check, not a proof: a push landing between the count read before the
//! listing and its first page, with a deletion during the listing, leaves the counts equal and
//! the total right while a version is skipped; and how promptly GitHub's count follows a push or
//! a deletion is not documented. The window is the time of one request, not of the whole run.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::GithubClient;
use super::error::{ApiError, ApiErrorKind};
use super::packages::{get_package, list_packages, list_versions_paged};
use super::scope::Scope;
use crate::inventory::{Inventory, ListingGap, PackageEntry, SCHEMA};

/// The packages a run governs, as the listing needs them: their type and their names, either
/// exact (each package is got by name, which a workflow token can do) or a test each listed
/// name must pass. The commands make it from the policy's `packages`.
pub struct Governed<'a> {
    /// GitHub's package type (`container`, `npm`, …).
    pub package_type: &'a str,
    /// The names, when every pattern is a plain name.
    pub exact_names: Option<&'a [String]>,
    /// Whether a listed package is governed (used when `exact_names` is `None`).
    pub is_match: Box<dyn Fn(&str) -> bool + Send + Sync + 'a>,
}

/// An inventory with GitHub's objects unchanged (schema 1).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RawInventory {
    pub schema: u32,
    pub owner: String,
    pub captured_at: DateTime<Utc>,
    pub packages: Vec<RawPackage>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RawPackage {
    pub package: Value,
    pub versions: Vec<Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub manifests: BTreeMap<String, String>,
    /// The listing did not add up, twice (see the module doc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_gap: Option<ListingGap>,
}

impl RawInventory {
    /// The typed inventory (what evaluation reads), read object by object from GitHub's (no
    /// copy of the whole inventory on the way).
    pub fn typed(&self) -> Result<Inventory, ApiError> {
        let packages = self
            .packages
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut entry = typed_page(&p.package, &p.versions, i)?;
                entry.manifests = p.manifests.clone();
                entry.listing_gap = p.listing_gap;
                Ok(entry)
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(Inventory {
            schema: self.schema,
            owner: self.owner.clone(),
            captured_at: self.captured_at,
            packages,
        })
    }

    /// Copy the manifests of a (filled) typed inventory into this one.
    pub fn take_manifests(&mut self, typed: &Inventory) {
        for (raw, entry) in self.packages.iter_mut().zip(&typed.packages) {
            raw.manifests = entry.manifests.clone();
        }
    }

    /// The JSON `snapshot` writes.
    pub fn to_json(&self) -> Result<String, ApiError> {
        serde_json::to_string_pretty(self)
            .map(|mut s| {
                s.push('\n');
                s
            })
            .map_err(|e| decode(format!("{e}")))
    }
}

/// A package object and (some of) its version objects, typed, without manifests; `index`: the
/// package's place in the inventory, named in errors (`packages[2].versions[7].created_at`).
pub fn typed_page(
    package: &Value,
    versions: &[Value],
    index: usize,
) -> Result<PackageEntry, ApiError> {
    Ok(PackageEntry {
        package: read(package, || format!("packages[{index}].package"))?,
        versions: versions
            .iter()
            .enumerate()
            .map(|(j, v)| read(v, || format!("packages[{index}].versions[{j}]")))
            .collect::<Result<Vec<_>, ApiError>>()?,
        manifests: BTreeMap::new(),
        listing_gap: None,
    })
}

/// One of GitHub's objects read into its type; `at` names where it is, for the error.
fn read<T: serde::de::DeserializeOwned>(
    value: &Value,
    at: impl Fn() -> String,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = if inner == "." {
            at()
        } else {
            format!("{}.{inner}", at())
        };
        decode(format!(
            "an object GitHub returned does not have the documented fields: at `{path}`: {}",
            e.inner()
        ))
    })
}

fn decode(message: String) -> ApiError {
    ApiError::new(
        ApiErrorKind::Decode,
        "reading GitHub's answers into an inventory",
        message,
    )
}

/// The name of a package object.
fn package_name(p: &Value) -> Option<&str> {
    p.get("name").and_then(|n| n.as_str())
}

/// Keep one copy of each version: a push during the listing (offset pages, newest first) lists
/// a version on two pages, and each version must be decided once. Returns how many were listed
/// twice.
fn once_each(versions: &mut Vec<Value>, package_type: &str, name: &str) -> usize {
    let mut seen = std::collections::HashSet::new();
    let listed = versions.len();
    versions.retain(|v| {
        v.get("id")
            .and_then(Value::as_u64)
            .is_none_or(|id| seen.insert(id))
    });
    let twice = listed - versions.len();
    if twice > 0 {
        tracing::info!(
            "{package_type} package {name}: {} listed twice (a push during the listing), kept once",
            crate::plural::count(twice, "version", "versions")
        );
    }
    twice
}

/// The ids of the versions listed, to compare two listings.
fn ids(versions: &[Value]) -> std::collections::BTreeSet<u64> {
    versions
        .iter()
        .filter_map(|v| v.get("id").and_then(Value::as_u64))
        .collect()
}

/// A package's `version_count`, when its object has one.
fn version_count(package: &Value) -> Option<u64> {
    package.get("version_count").and_then(Value::as_u64)
}

/// One listing of a package's versions, with the package got right before and right after it.
struct Listing {
    /// The package object got right after the listing.
    package: Value,
    /// The versions listed, each once.
    versions: Vec<Value>,
    /// Ids listed twice (a push shifted the pages while it was listed).
    twice: usize,
    /// `version_count` right before and right after.
    before: Option<u64>,
    after: Option<u64>,
}

impl Listing {
    /// Get the package, list its versions, get the package again.
    async fn take(
        client: &GithubClient,
        scope: &Scope,
        package_type: &str,
        name: &str,
        on_page: &mut (dyn FnMut(&Value, &[Value], usize) + Send),
    ) -> Result<Listing, ApiError> {
        let before = get_package(client, scope, package_type, name).await?;
        let mut versions = list_versions_paged(client, scope, package_type, name, &mut |v, at| {
            on_page(&before, v, at)
        })
        .await?;
        let twice = once_each(&mut versions, package_type, name);
        let package = get_package(client, scope, package_type, name).await?;
        Ok(Listing {
            before: version_count(&before),
            after: version_count(&package),
            package,
            versions,
            twice,
        })
    }

    /// Why the listing may have missed a version: `None` when nothing moved that the counts can
    /// see (as many versions as both counts, none listed twice), or when the package object
    /// has no count to compare with (then it is not checked).
    fn moved(&self) -> Option<String> {
        let (Some(before), Some(after)) = (self.before, self.after) else {
            return None;
        };
        let listed = self.versions.len() as u64;
        let count = crate::plural::count(listed, "version", "versions");
        if before != after {
            Some(format!(
                "{count} listed, GitHub counts {before} before the listing and {after} after"
            ))
        } else if listed != after {
            Some(format!("{count} listed, GitHub counts {after}"))
        } else if self.twice > 0 {
            Some(format!(
                "{} listed twice (a push while it was listed)",
                crate::plural::count(self.twice, "version", "versions")
            ))
        } else {
            None
        }
    }

    /// The gap this listing leaves: its versions against the count that disagrees with them
    /// (the one before the listing, else the one after; the number listed when only a version
    /// listed twice made it doubtful).
    fn gap(&self) -> ListingGap {
        let listed = self.versions.len() as u64;
        let version_count = [self.before, self.after]
            .into_iter()
            .flatten()
            .find(|&c| c != listed)
            .unwrap_or(listed);
        ListingGap {
            listed,
            version_count,
        }
    }
}

/// List (or get, for exact names) the `governed` packages and all their versions.
pub async fn fetch_inventory(
    client: &GithubClient,
    scope: &Scope,
    governed: &Governed<'_>,
    captured_at: DateTime<Utc>,
) -> Result<RawInventory, ApiError> {
    fetch_inventory_paged(client, scope, governed, captured_at, &mut |_, _, _| {}).await
}

/// [`fetch_inventory`], calling `on_page(package, versions listed so far, where the new page
/// starts)` after each page of versions (GitHub's objects as they came, not yet de-duplicated).
pub async fn fetch_inventory_paged(
    client: &GithubClient,
    scope: &Scope,
    governed: &Governed<'_>,
    captured_at: DateTime<Utc>,
    on_page: &mut (dyn FnMut(&Value, &[Value], usize) + Send),
) -> Result<RawInventory, ApiError> {
    let package_type = governed.package_type;
    let packages: Vec<Value> = match governed.exact_names {
        Some(names) => {
            let mut out = Vec::new();
            for name in names {
                out.push(get_package(client, scope, package_type, name).await?);
            }
            out
        }
        None => {
            let all = list_packages(client, scope, package_type).await?;
            all.into_iter()
                .filter(|p| package_name(p).is_some_and(|n| (governed.is_match)(n)))
                .collect()
        }
    };
    let mut entries = Vec::new();
    for package in packages {
        let Some(name) = package_name(&package).map(str::to_string) else {
            return Err(decode("a package without a name".to_string()));
        };
        let first = Listing::take(client, scope, package_type, &name, on_page).await?;
        let mut listing_gap = None;
        let listing = match first.moved() {
            None => first,
            Some(why) => {
                // Versions deleted or pushed while the pages were read: list once more.
                crate::printer::warning(&format!(
                    "{package_type} package {name}: {why}: listing it again"
                ));
                let second =
                    Listing::take(client, scope, package_type, &name, &mut |_, _, _| {}).await?;
                if let Some(why) = second.moved() {
                    if ids(&second.versions) == ids(&first.versions) {
                        // Two listings that agree, version for version, saw nothing move: a
                        // version skipped by either would have been deleted while it ran, so
                        // it would be missing from one and not from the other. The listing is
                        // complete and the count is what is off (how GitHub counts is not
                        // documented).
                        crate::printer::warning(&format!(
                            "{package_type} package {name}: {why}, but two listings agree on the same {}: the listing is taken as complete",
                            crate::plural::count(second.versions.len(), "version", "versions"),
                        ));
                    } else {
                        listing_gap = Some(second.gap());
                    }
                }
                second
            }
        };
        tracing::info!(
            "{package_type} package {name}: {}",
            crate::plural::count(listing.versions.len(), "version", "versions")
        );
        entries.push(RawPackage {
            package: listing.package,
            versions: listing.versions,
            manifests: BTreeMap::new(),
            listing_gap,
        });
    }
    entries.sort_by(|a, b| package_name(&a.package).cmp(&package_name(&b.package)));
    Ok(RawInventory {
        schema: SCHEMA,
        owner: scope.owner().to_string(),
        captured_at,
        packages: entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> RawInventory {
        let text = include_str!("../../examples/inventory.json");
        serde_json::from_str(text).unwrap_or_else(|e| panic!("examples/inventory.json: {e}"))
    }

    #[test]
    fn typed_object_by_object_is_the_inventory_serde_reads_whole() {
        let raw = example();
        let typed = raw.typed().unwrap_or_else(|e| panic!("{e}"));
        let whole: Inventory = serde_json::from_str(include_str!("../../examples/inventory.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        let as_json = |i: &Inventory| serde_json::to_value(i).unwrap_or_default();
        assert_eq!(as_json(&typed), as_json(&whole));
        assert!(typed.packages.iter().any(|p| !p.manifests.is_empty()));
    }

    #[test]
    fn an_object_without_a_documented_field_is_named_by_its_place() {
        let mut raw = example();
        let Some(Value::Object(v)) = raw.packages.get_mut(1).and_then(|p| p.versions.get_mut(2))
        else {
            panic!("the example has a second package with three versions");
        };
        v.insert("created_at".into(), Value::String("yesterday".into()));
        let e = raw.typed().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("at `packages[1].versions[2].created_at`"), "{e}");
        let mut raw = example();
        if let Some(Value::Object(p)) = raw.packages.first_mut().map(|p| &mut p.package) {
            p.remove("id");
        }
        let e = raw.typed().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("at `packages[0].package`: missing field `id`"),
            "{e}"
        );
    }
}
