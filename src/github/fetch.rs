//! Building an inventory from the API: the packages a policy governs and all their versions.
//!
//! The objects are kept exactly as GitHub sent them ([`RawInventory`], what `snapshot` writes), and
//! read into the typed [`Inventory`] for evaluation. When the policy names its packages exactly
//! they are fetched one by one (`GET …/packages/{type}/{name}`) and never listed, which is what a
//! workflow token allows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::GithubClient;
use super::error::{ApiError, ApiErrorKind};
use super::packages::{get_package, list_packages, list_versions_paged};
use super::scope::Scope;
use crate::inventory::{Inventory, SCHEMA};
use crate::policy::Policy;

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
}

impl RawInventory {
    /// The typed inventory (what evaluation reads).
    pub fn typed(&self) -> Result<Inventory, ApiError> {
        let value = serde_json::to_value(self).map_err(|e| decode(format!("{e}")))?;
        serde_path_to_error::deserialize::<_, Inventory>(value).map_err(|e| {
            decode(format!(
                "an object GitHub returned does not have the documented fields: at `{}`: {}",
                e.path(),
                e.inner()
            ))
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

/// List (or get, for exact names) the packages `policy` governs and all their versions.
pub async fn fetch_inventory(
    client: &GithubClient,
    scope: &Scope,
    policy: &Policy,
    captured_at: DateTime<Utc>,
) -> Result<RawInventory, ApiError> {
    fetch_inventory_paged(client, scope, policy, captured_at, &mut |_, _, _| {}).await
}

/// [`fetch_inventory`], calling `on_page(package, versions listed so far, where the new page
/// starts)` after each page of versions (GitHub's objects as they came, not yet de-duplicated).
pub async fn fetch_inventory_paged(
    client: &GithubClient,
    scope: &Scope,
    policy: &Policy,
    captured_at: DateTime<Utc>,
    on_page: &mut (dyn FnMut(&Value, &[Value], usize) + Send),
) -> Result<RawInventory, ApiError> {
    let package_type = policy.packages.package_type.as_str();
    let packages: Vec<Value> = match policy.packages.names.exact_names() {
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
                .filter(|p| package_name(p).is_some_and(|n| policy.packages.names.is_match(n)))
                .collect()
        }
    };
    let mut entries = Vec::new();
    for package in packages {
        let Some(name) = package_name(&package).map(str::to_string) else {
            return Err(decode("a package without a name".to_string()));
        };
        let mut versions = list_versions_paged(client, scope, package_type, &name, &mut |v, at| {
            on_page(&package, v, at)
        })
        .await?;
        // A push during the listing (offset pages, newest first) lists a version on two pages:
        // keep one copy, so that each version is decided once.
        let mut seen = std::collections::HashSet::new();
        let listed = versions.len();
        versions.retain(|v| {
            v.get("id")
                .and_then(Value::as_u64)
                .is_none_or(|id| seen.insert(id))
        });
        if versions.len() < listed {
            tracing::info!(
                "{package_type} package {name}: {} versions listed twice (a push during the listing), kept once",
                listed - versions.len()
            );
        }
        tracing::info!("{package_type} package {name}: {} versions", versions.len());
        entries.push(RawPackage {
            package,
            versions,
            manifests: BTreeMap::new(),
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
