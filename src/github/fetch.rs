//! Building an inventory from the API: the packages a policy governs and all their versions.
//!
//! The objects are kept exactly as GitHub sent them ([`RawInventory`], what `snapshot` writes), and
//! read into the typed [`Inventory`] for evaluation. When the policy names its packages exactly
//! they are fetched one by one (`GET …/packages/{type}/{name}`) and never listed, which is what a
//! workflow token allows.
//!
//! A listing is proved complete before anything is decided on it: listing is offset-paginated,
//! so when another actor deletes a version of an earlier page while a later one is read, the
//! first version of that later page is never seen, and a kept index missing from the listing
//! makes its platform manifests look like parentless leftovers. So the versions listed (each
//! once) are compared with the package's `version_count`; on a mismatch the package is got again
//! and listed once more. Two listings that agree version for version saw nothing move (a version
//! skipped by the second would have been deleted while it ran, so missing from it and not from
//! the first): the listing is complete and the count is what is off. When the second listing
//! differs from the first and does not add up either, the package carries a
//! [`ListingGap`]: the evaluator then withholds every deletion that rests on a version's absence
//! and the run exits 3.

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
/// a version on two pages, and each version must be decided once.
fn once_each(versions: &mut Vec<Value>, package_type: &str, name: &str) {
    let mut seen = std::collections::HashSet::new();
    let listed = versions.len();
    versions.retain(|v| {
        v.get("id")
            .and_then(Value::as_u64)
            .is_none_or(|id| seen.insert(id))
    });
    if versions.len() < listed {
        tracing::info!(
            "{package_type} package {name}: {} listed twice (a push during the listing), kept once",
            crate::plural::count(listed - versions.len(), "version", "versions")
        );
    }
}

/// The ids of the versions listed, to compare two listings.
fn ids(versions: &[Value]) -> std::collections::BTreeSet<u64> {
    versions
        .iter()
        .filter_map(|v| v.get("id").and_then(Value::as_u64))
        .collect()
}

/// Whether the versions listed (each once) are not as many as the package's `version_count`;
/// `None` when they are, or when the package object has no count to compare with.
fn gap(package: &Value, versions: &[Value]) -> Option<ListingGap> {
    let version_count = package.get("version_count").and_then(Value::as_u64)?;
    let listed = versions.len() as u64;
    (listed != version_count).then_some(ListingGap {
        listed,
        version_count,
    })
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
    for mut package in packages {
        let Some(name) = package_name(&package).map(str::to_string) else {
            return Err(decode("a package without a name".to_string()));
        };
        let mut versions = list_versions_paged(client, scope, package_type, &name, &mut |v, at| {
            on_page(&package, v, at)
        })
        .await?;
        once_each(&mut versions, package_type, &name);
        let mut listing_gap = gap(&package, &versions);
        if let Some(first) = listing_gap {
            // Versions deleted or pushed while the pages were read: get the package (its count
            // now) and list once more.
            eprintln!(
                "warning: {package_type} package {name}: {} listed, GitHub counts {}: listing it again",
                crate::plural::count(first.listed, "version", "versions"),
                first.version_count
            );
            let first_ids = ids(&versions);
            package = get_package(client, scope, package_type, &name).await?;
            versions =
                list_versions_paged(client, scope, package_type, &name, &mut |_, _| {}).await?;
            once_each(&mut versions, package_type, &name);
            listing_gap = gap(&package, &versions);
            if let Some(second) = listing_gap.filter(|_| ids(&versions) == first_ids) {
                // Two listings that agree, version for version, saw nothing move: a version
                // skipped by the second would have been deleted while it ran, so it would be
                // missing from the second and not from the first. The listing is complete and
                // the count is what is off (how GitHub counts is not documented).
                eprintln!(
                    "warning: {package_type} package {name}: GitHub counts {} but two listings agree on the same {}: the listing is taken as complete",
                    second.version_count,
                    crate::plural::count(second.listed, "version", "versions"),
                );
                listing_gap = None;
            }
        }
        tracing::info!(
            "{package_type} package {name}: {}",
            crate::plural::count(versions.len(), "version", "versions")
        );
        entries.push(RawPackage {
            package,
            versions,
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
