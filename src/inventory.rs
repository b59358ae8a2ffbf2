//! The inventory: every package and version of an owner, as GitHub's API returned them, plus the
//! container manifests read from the registry.
//!
//! This is the input of evaluation and the file format of `retention snapshot` / `--inventory`
//! (schema 1, described in docs/operations.md). Reading is typed and ignores fields GitHub may add; only what a
//! decision needs is kept in memory, so a 200,000-version inventory stays small.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The inventory schema number this build reads and writes.
pub const SCHEMA: u32 = 1;

/// Whether `s` is a path segment that a URL would normalise away (`.`, `..`, or their
/// percent-encoded forms, which the WHATWG URL parser treats the same): such an owner or package
/// name would send a request for another path (`names: [".."]` would `GET /orgs/acme/packages/`),
/// so the policy parser and the owner's lookup refuse it.
pub fn is_dot_segment(s: &str) -> bool {
    let lower = s.to_ascii_lowercase().replace("%2e", ".");
    lower == "." || lower == ".."
}

/// The kinds of package GitHub Packages hosts (`package_type` in the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageType {
    Container,
    Npm,
    Maven,
    Rubygems,
    Nuget,
    Docker,
}

impl PackageType {
    pub const ALL: [PackageType; 6] = [
        PackageType::Container,
        PackageType::Npm,
        PackageType::Maven,
        PackageType::Rubygems,
        PackageType::Nuget,
        PackageType::Docker,
    ];

    /// The name GitHub uses in paths and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageType::Container => "container",
            PackageType::Npm => "npm",
            PackageType::Maven => "maven",
            PackageType::Rubygems => "rubygems",
            PackageType::Nuget => "nuget",
            PackageType::Docker => "docker",
        }
    }

    pub fn parse(s: &str) -> Option<PackageType> {
        PackageType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether versions are image manifests named by digest, with tags.
    pub fn is_image(self) -> bool {
        matches!(self, PackageType::Container | PackageType::Docker)
    }
}

impl std::fmt::Display for PackageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A saved inventory (`schema: 1`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Inventory {
    pub schema: u32,
    pub owner: String,
    pub captured_at: DateTime<Utc>,
    pub packages: Vec<PackageEntry>,
}

/// One package with its versions and the manifests read for them (digest -> exact bytes).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PackageEntry {
    pub package: Package,
    pub versions: Vec<Version>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub manifests: BTreeMap<String, String>,
    /// Set when the listing did not add up, twice: the versions listed are not as many as the
    /// package's `version_count` (another actor deleted or pushed versions while the pages were
    /// read, so a version may be missing). Deletions that rest on a version's absence are then
    /// withheld ([`crate::github::fetch`] lists, the evaluator withholds). An extension of
    /// schema 1; absent when the listing added up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_gap: Option<ListingGap>,
}

/// A listing that did not add up: how many versions were listed and how many GitHub counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingGap {
    pub listed: u64,
    pub version_count: u64,
}

/// The fields of GitHub's `package` object that retention uses.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Package {
    pub id: u64,
    pub name: String,
    pub package_type: PackageType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
}

/// The fields of GitHub's `package-version` object that retention uses.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Version {
    pub id: u64,
    /// For containers the manifest digest (`sha256:…`); otherwise the version string.
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_type: Option<PackageType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerMetadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerMetadata>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ContainerMetadata {
    #[serde(default)]
    pub tags: Vec<String>,
}

/// GitHub's schema names this array `tag` (singular) for docker packages.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DockerMetadata {
    #[serde(default, alias = "tags")]
    pub tag: Vec<String>,
}

impl Version {
    /// The version's tags (container or docker metadata); empty when untagged or not an image.
    pub fn tags(&self) -> &[String] {
        match &self.metadata {
            Some(Metadata {
                container: Some(c), ..
            }) => &c.tags,
            Some(Metadata {
                docker: Some(d), ..
            }) => &d.tag,
            _ => &[],
        }
    }
}

/// Why an inventory could not be read: always names the file and, for content errors, the JSON path.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("cannot read inventory {path}: {source}\n  help: give the path of an inventory that `retention snapshot` wrote, or drop --inventory to list from the API")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a valid inventory: at `{json_path}`: {message}\n  help: an inventory is the JSON that `retention snapshot` writes (schema 1, described in docs/operations.md)")]
    Invalid {
        path: String,
        json_path: String,
        message: String,
    },
    #[error("{path}: inventory schema {found} is not supported (this build reads schema {SCHEMA})\n  help: write it again with `retention snapshot` from this version")]
    Schema { path: String, found: u64 },
}

impl Inventory {
    /// The packages (those `which` accepts) whose listing did not add up, each as
    /// `NAME (N listed, GitHub counts M)`, for the messages that say so.
    pub fn listing_gaps(&self, which: impl Fn(&PackageEntry) -> bool) -> Vec<String> {
        self.packages
            .iter()
            .filter(|p| which(p))
            .filter_map(|p| {
                let g = p.listing_gap?;
                Some(format!(
                    "{} ({} listed, GitHub counts {})",
                    p.package.name, g.listed, g.version_count
                ))
            })
            .collect()
    }

    /// Read and validate an inventory file.
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        let display = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| InventoryError::Io {
            path: display.clone(),
            source,
        })?;
        Inventory::from_slice(&bytes, &display)
    }

    /// Parse an inventory from bytes; `origin` names the source in errors.
    pub fn from_slice(bytes: &[u8], origin: &str) -> Result<Inventory, InventoryError> {
        // Check the schema first, so that a future schema gets a clear message rather than a
        // confusing field error.
        #[derive(Deserialize)]
        struct Head {
            schema: Option<serde_json::Value>,
        }
        match serde_json::from_slice::<Head>(bytes) {
            Ok(Head { schema: Some(v) }) => match v.as_u64() {
                Some(n) if n == u64::from(SCHEMA) => {}
                Some(n) => {
                    return Err(InventoryError::Schema {
                        path: origin.to_string(),
                        found: n,
                    })
                }
                None => {
                    return Err(InventoryError::Invalid {
                        path: origin.to_string(),
                        json_path: "schema".into(),
                        message: format!("expected the number {SCHEMA}, found {v}"),
                    })
                }
            },
            Ok(Head { schema: None }) => {
                return Err(InventoryError::Invalid {
                    path: origin.to_string(),
                    json_path: ".".into(),
                    message: "missing field `schema`".into(),
                })
            }
            Err(e) => {
                return Err(InventoryError::Invalid {
                    path: origin.to_string(),
                    json_path: ".".into(),
                    message: e.to_string(),
                })
            }
        }
        // The fast path; on failure parse again, tracking the path, to say where the error is.
        let mut inventory = match serde_json::from_slice::<Inventory>(bytes) {
            Ok(inv) => inv,
            Err(_) => {
                let de = &mut serde_json::Deserializer::from_slice(bytes);
                match serde_path_to_error::deserialize::<_, Inventory>(de) {
                    Ok(inv) => inv,
                    Err(e) => {
                        return Err(InventoryError::Invalid {
                            path: origin.to_string(),
                            json_path: e.path().to_string(),
                            message: e.inner().to_string(),
                        })
                    }
                }
            }
        };
        inventory.drop_repeated_ids();
        if let Some(shared) = inventory.shared_digests().into_iter().next() {
            return Err(InventoryError::Invalid {
                path: origin.to_string(),
                json_path: format!("packages[{}].versions", shared.package_index),
                message: shared.to_string(),
            });
        }
        Ok(inventory)
    }

    /// Keep one copy of a version listed twice (same id) in a package: an offset-paginated
    /// listing repeats a version that a push during the listing moved onto the next page. Two
    /// copies would both be decided, and the graph would see one of them as parentless. Returns
    /// how many copies were dropped.
    pub fn drop_repeated_ids(&mut self) -> usize {
        let mut dropped = 0;
        for p in &mut self.packages {
            let mut seen = std::collections::HashSet::new();
            let before = p.versions.len();
            p.versions.retain(|v| seen.insert(v.id));
            dropped += before - p.versions.len();
        }
        dropped
    }

    /// Add `other`'s packages (the listing of another policy's packages, for `plan --base`);
    /// for a package in both, add the manifests this one lacks.
    pub fn merge(&mut self, other: Inventory) {
        for entry in other.packages {
            let same = self.packages.iter_mut().find(|p| {
                p.package.name == entry.package.name
                    && p.package.package_type == entry.package.package_type
            });
            match same {
                Some(p) => {
                    for (digest, text) in entry.manifests {
                        p.manifests.entry(digest).or_insert(text);
                    }
                }
                None => self.packages.push(entry),
            }
        }
    }

    /// Digests that two or more versions (ids) of one image package share. GitHub gives a
    /// digest one version; an inventory where two have it is not one GitHub can have sent.
    pub fn shared_digests(&self) -> Vec<SharedDigest> {
        let mut out = Vec::new();
        for (package_index, p) in self.packages.iter().enumerate() {
            if !p.package.package_type.is_image() {
                continue;
            }
            let mut by_digest: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
            for v in &p.versions {
                by_digest.entry(v.name.as_str()).or_default().push(v.id);
            }
            for (digest, ids) in by_digest {
                if ids.len() > 1 {
                    out.push(SharedDigest {
                        package_index,
                        package: p.package.name.clone(),
                        digest: digest.to_string(),
                        ids,
                    });
                }
            }
        }
        out
    }
}

/// A digest that several versions of one package have (see [`Inventory::shared_digests`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedDigest {
    pub package_index: usize,
    pub package: String,
    pub digest: String,
    pub ids: Vec<u64>,
}

impl std::fmt::Display for SharedDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.ids.iter().map(u64::to_string).collect();
        write!(
            f,
            "versions {} of package {} have the same digest {}",
            ids.join(", "),
            self.package,
            self.digest
        )
    }
}

/// A saved inventory that cannot be read: a usage error (1).
impl From<InventoryError> for crate::outcome::Failure {
    fn from(e: InventoryError) -> crate::outcome::Failure {
        crate::outcome::Failure::usage(e.to_string()).caused_by(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        match Inventory::from_slice(s.as_bytes(), "inv.json") {
            Ok(_) => panic!("expected an error for {s}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn not_json_names_the_file() {
        let e = err("not json");
        assert!(e.starts_with("inv.json: not a valid inventory"), "{e}");
    }

    #[test]
    fn unknown_schema_is_named() {
        let e =
            err(r#"{"schema":7,"owner":"a","captured_at":"2026-01-01T00:00:00Z","packages":[]}"#);
        assert!(e.contains("inventory schema 7 is not supported"), "{e}");
    }

    #[test]
    fn version_without_id_gives_json_path() {
        let e = err(
            r#"{"schema":1,"owner":"a","captured_at":"2026-01-01T00:00:00Z","packages":[
            {"package":{"id":1,"name":"api","package_type":"container"},
             "versions":[{"id":2,"name":"sha256:aa","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"},
                         {"name":"sha256:bb","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}]}]}"#,
        );
        assert!(e.contains("at `packages[0].versions[1]`"), "{e}");
        assert!(e.contains("missing field `id`"), "{e}");
    }

    fn inv(versions: &str) -> String {
        format!(
            r#"{{"schema":1,"owner":"a","captured_at":"2026-01-01T00:00:00Z","packages":[
            {{"package":{{"id":1,"name":"api","package_type":"container"}},"versions":[{versions}]}}]}}"#
        )
    }
    const V2: &str = r#"{"id":2,"name":"sha256:aa","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;

    #[test]
    fn a_version_listed_twice_is_kept_once() {
        let i = Inventory::from_slice(inv(&format!("{V2},{V2}")).as_bytes(), "inv.json").unwrap();
        assert_eq!(i.packages[0].versions.len(), 1);
    }

    #[test]
    fn two_ids_with_one_digest_are_an_error() {
        let other = V2.replace("\"id\":2", "\"id\":3");
        let e = err(&inv(&format!("{V2},{other}")));
        assert_eq!(
            e,
            "inv.json: not a valid inventory: at `packages[0].versions`: versions 2, 3 of package api have the same digest sha256:aa\n  help: an inventory is the JSON that `retention snapshot` writes (schema 1, described in docs/operations.md)"
        );
    }

    #[test]
    fn openapi_examples_parse_and_unknown_fields_are_ignored() {
        let v: Version = serde_json::from_str(
            r#"{"id":245301,"name":"1.0.4","url":"https://x","package_html_url":"https://y",
                "created_at":"2019-11-05T22:49:04Z","updated_at":"2019-11-05T22:49:04Z",
                "html_url":"z","metadata":{"package_type":"npm"},"some_new_field":{"a":1}}"#,
        )
        .unwrap();
        assert_eq!(v.id, 245301);
        assert!(v.tags().is_empty());
        let c: Version = serde_json::from_str(
            r#"{"id":1,"name":"sha256:ab","created_at":"2019-11-05T22:49:04Z","updated_at":"2019-11-05T22:49:04Z",
                "metadata":{"package_type":"container","container":{"tags":["latest","v1"]}}}"#,
        )
        .unwrap();
        assert_eq!(c.tags(), ["latest", "v1"]);
    }
}

#[cfg(test)]
mod robustness {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_bytes_make_the_reader_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = Inventory::from_slice(&bytes, "inv.json");
        }

        #[test]
        fn no_mangled_inventory_makes_the_reader_panic(cut in 0usize..400, junk in "[\\[\\]{}\":,0-9a-z]{0,8}") {
            let good = r#"{"schema":1,"owner":"a","captured_at":"2026-01-01T00:00:00Z","packages":[{"package":{"id":1,"name":"api","package_type":"container"},"versions":[{"id":2,"name":"sha256:aa","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","metadata":{"package_type":"container","container":{"tags":["v1"]}}}],"manifests":{"sha256:aa":"{}"}}]}"#;
            let cut = cut.min(good.len());
            let mangled = format!("{}{}{}", &good[..cut], junk, &good[cut..]);
            if let Err(e) = Inventory::from_slice(mangled.as_bytes(), "inv.json") {
                prop_assert!(e.to_string().starts_with("inv.json"), "{}", e);
            }
        }
    }
}
