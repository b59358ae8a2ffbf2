//! The plan: what evaluation decided for every version, and why.
//!
//! Schema 1 (described in docs/operations.md, "Files") is the contract between `plan` and `apply --plan`, and the source of every
//! report. Versions appear newest first within a package; packages in name order, so the same
//! input always gives byte-identical JSON.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::inventory::PackageType;

pub mod recheck;

/// The plan schema number this build reads and writes.
pub const SCHEMA: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub schema: u32,
    pub owner: String,
    pub generated_at: DateTime<Utc>,
    pub policy_sha256: String,
    /// The policy's `safety.max_deletions` (or `--max-deletions`) when the plan was made:
    /// `apply --plan` refuses a plan deleting more (`--max-deletions` overrides). An extension of
    /// schema 1; absent in plans of earlier builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_deletions: Option<u64>,
    pub summary: Summary,
    pub packages: Vec<PackagePlan>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub packages: u64,
    pub versions: u64,
    pub delete: u64,
    pub keep: u64,
    /// Tags the plan removes from images that stay (`untag` of the versions). An extension of
    /// schema 1; absent when zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub untag: u64,
    /// Broken images found (ghost or partial indexes, orphaned artifacts). An extension of
    /// schema 1; absent when zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub broken: u64,
    /// Estimated bytes freed by the deletions (blobs and manifests no kept image of the same
    /// package references). An extension of schema 1; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_freed: Option<u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PackagePlan {
    pub name: String,
    #[serde(rename = "type")]
    pub package_type: PackageType,
    /// Things the user should know about this package's decisions (missing or corrupt
    /// manifests, withheld deletions). An extension of schema 1; absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Images of this package that cannot be pulled as they stand (ghost or partial indexes,
    /// orphaned artifacts), whatever the plan does with them. An extension of schema 1; absent
    /// when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub broken: Vec<BrokenImage>,
    /// Estimated bytes this package's deletions free. An extension of schema 1; absent when
    /// unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_freed: Option<u64>,
    pub versions: Vec<VersionPlan>,
}

/// How an image is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokenKind {
    /// An index none of whose platform manifests is present in the package.
    Ghost,
    /// An index some but not all of whose platform manifests are present.
    Partial,
    /// A cosign artifact, OCI referrer or referrers index whose subject is not in the package.
    Orphaned,
}

/// A broken image found in a package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenImage {
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
    pub kind: BrokenKind,
    /// The digests it lists (or its subject) that are not in the package.
    pub missing: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Delete,
    Keep,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionPlan {
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub action: Action,
    /// The rules and guards that decided, and for graph decisions the image that decided it.
    pub reasons: Vec<String>,
    /// Kept although a delete rule selected it, and no keep rule: a safety guard or the image
    /// graph withheld the deletion (reported so that a reviewer sees it). An extension of
    /// schema 1; absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
    /// For a deletion: the ids of deleted versions it is part of (its index, its subject). It is
    /// deleted only after them, and not at all if one of them cannot be deleted. An extension
    /// of schema 1; absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<u64>,
    /// For a version that stays: tags a delete rule selected that are removed from it (the
    /// image stays under its other tags). An extension of schema 1; absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untag: Vec<String>,
    /// For a part of an image (platform manifest, attestation, signature, referrer): the
    /// top-level image it belongs to and what it is, so that reports can count parts under their
    /// image. An extension of schema 1; absent for top-level images and unrelated versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<PartOf>,
    /// Where a reference found by the policy's `in_use` sources names it (`file:line`, in the
    /// order found). An extension of schema 1; absent when it is not in use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_use: Vec<String>,
}

/// The image a version is part of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartOf {
    /// Id of the top-level image (the top of the chain of indexes and subjects).
    pub image: u64,
    pub kind: PartKind,
}

/// What a part of an image is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    /// A manifest listed in an index (a platform image, or a nested index).
    PlatformManifest,
    /// A buildx attestation manifest in an index.
    Attestation,
    /// A cosign signature (`sha256-<hex>.sig`).
    Signature,
    /// A cosign attestation (`sha256-<hex>.att`).
    CosignAttestation,
    /// A cosign SBOM (`sha256-<hex>.sbom`).
    Sbom,
    /// An OCI 1.1 referrer (a manifest with a `subject`).
    Referrer,
    /// An index tagged `sha256-<hex>` listing the referrers of that digest.
    ReferrersIndex,
}

impl PackagePlan {
    /// The versions of this package the plan deletes.
    pub fn deletions(&self) -> impl Iterator<Item = &VersionPlan> {
        self.versions.iter().filter(|v| v.action == Action::Delete)
    }
}

impl Plan {
    /// The versions the plan deletes, with their package.
    pub fn deletions(&self) -> impl Iterator<Item = (&PackagePlan, &VersionPlan)> {
        self.packages
            .iter()
            .flat_map(|p| p.deletions().map(move |v| (p, v)))
    }

    /// Read a plan written by `retention plan --format json`.
    pub fn load(path: &Path) -> Result<Plan, LoadError> {
        let bytes = std::fs::read(path).map_err(|error| LoadError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let plan: Plan = serde_path_to_error::deserialize(de).map_err(|e| LoadError::Invalid {
            path: path.to_path_buf(),
            at: e.path().to_string(),
            error: e.into_inner(),
        })?;
        if plan.schema != SCHEMA {
            return Err(LoadError::Schema {
                path: path.to_path_buf(),
                found: plan.schema,
            });
        }
        Ok(plan)
    }
}

/// Why [`Plan::load`] refused a file. The message names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read plan {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{}: not a valid plan: at `{at}`: {error}\n  help: a plan is what `retention plan --format json` writes",
        path.display()
    )]
    Invalid {
        path: PathBuf,
        at: String,
        error: serde_json::Error,
    },
    #[error(
        "{}: plan schema {found} is not supported (this build reads schema {SCHEMA})",
        path.display()
    )]
    Schema { path: PathBuf, found: u32 },
}

/// A saved plan that cannot be read: a usage error (1).
impl From<LoadError> for crate::outcome::Failure {
    fn from(e: LoadError) -> crate::outcome::Failure {
        crate::outcome::Failure::usage(e.to_string()).caused_by(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_plan(schema: u32) -> Plan {
        Plan {
            schema,
            owner: "acme".into(),
            generated_at: DateTime::UNIX_EPOCH,
            policy_sha256: String::new(),
            max_deletions: None,
            summary: Summary::default(),
            packages: vec![],
        }
    }

    fn load_text(text: &str) -> (tempfile::TempDir, PathBuf, Result<Plan, LoadError>) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("plan.json");
        std::fs::write(&path, text).expect("the plan is written");
        let loaded = Plan::load(&path);
        (dir, path, loaded)
    }

    #[test]
    fn load_reads_what_plan_writes() {
        let plan = empty_plan(SCHEMA);
        let json = serde_json::to_string(&plan).expect("a plan serializes");
        let (_dir, _path, loaded) = load_text(&json);
        assert_eq!(loaded.expect("a valid plan"), plan);
    }

    #[test]
    fn load_names_a_missing_file() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("absent.json");
        let err = Plan::load(&path).expect_err("no such file").to_string();
        let expected = format!("cannot read plan {}: ", path.display());
        assert!(err.starts_with(&expected), "{err}");
        assert!(err.len() > expected.len(), "the OS error follows: {err}");
    }

    #[test]
    fn load_says_where_a_plan_is_invalid() {
        let (_dir, path, loaded) = load_text(r#"{"schema": 1, "owner": 5}"#);
        let err = loaded.expect_err("owner is not a string").to_string();
        assert!(
            err.starts_with(&format!(
                "{}: not a valid plan: at `owner`: ",
                path.display()
            )),
            "{err}"
        );
        assert!(
            err.ends_with("\n  help: a plan is what `retention plan --format json` writes"),
            "{err}"
        );
    }

    #[test]
    fn load_refuses_another_schema() {
        let json = serde_json::to_string(&empty_plan(SCHEMA + 1)).expect("a plan serializes");
        let (_dir, path, loaded) = load_text(&json);
        assert_eq!(
            loaded.expect_err("schema 2").to_string(),
            format!(
                "{}: plan schema {} is not supported (this build reads schema {SCHEMA})",
                path.display(),
                SCHEMA + 1
            )
        );
    }
}
