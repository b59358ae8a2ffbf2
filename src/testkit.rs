//! Test-only builders of inventories with real manifests (digests computed from the bytes), for
//! the unit tests of `evaluate::in_use`, `init`, `verify` and `apply`: [`Pkg`] builds a package
//! image by image; [`version`] and [`package`] are the parts it is made of, for a test that lays
//! out its versions itself.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::inventory::{
    ContainerMetadata, Inventory, Metadata, Package, PackageEntry, PackageType, Version,
};

/// The fixed "now" of these tests.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A container package under construction.
#[derive(Clone, Debug)]
pub struct Pkg {
    pub name: String,
    pub versions: Vec<Version>,
    pub manifests: BTreeMap<String, String>,
}

impl Pkg {
    pub fn new(name: &str) -> Pkg {
        Pkg {
            name: name.into(),
            versions: Vec::new(),
            manifests: BTreeMap::new(),
        }
    }

    fn add(&mut self, id: u64, body: String, tags: &[&str], age_hours: i64) -> String {
        let d = crate::digest::of(body.as_bytes());
        self.manifests.insert(d.clone(), body);
        let t = now() - Duration::hours(age_hours);
        self.versions.push(version(id, &d, tags, t));
        d
    }

    /// A single-platform image; its digest.
    pub fn image(&mut self, id: u64, tags: &[&str], age_hours: i64) -> String {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"digest":"sha256:{id:064x}"}},"layers":[]}}"#
        );
        self.add(id, body, tags, age_hours)
    }

    /// An index listing `children` (platform manifests); its digest.
    pub fn index(&mut self, id: u64, tags: &[&str], children: &[&str], age_hours: i64) -> String {
        let entries: Vec<String> = children
            .iter()
            .map(|c| format!(r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{c}","size":1,"platform":{{"architecture":"amd64","os":"linux"}}}}"#))
            .collect();
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}],"annotations":{{"id":"{id}"}}}}"#,
            entries.join(",")
        );
        self.add(id, body, tags, age_hours)
    }

    pub fn entry(self) -> PackageEntry {
        package(&self.name, self.versions, self.manifests)
    }
}

/// A container version `id` of digest `name` with these tags, created and updated at `t`.
pub fn version(id: u64, name: &str, tags: &[&str], t: DateTime<Utc>) -> Version {
    Version {
        id,
        name: name.to_string(),
        created_at: t,
        updated_at: t,
        metadata: Some(Metadata {
            package_type: Some(PackageType::Container),
            container: Some(ContainerMetadata {
                tags: tags.iter().map(|s| s.to_string()).collect(),
            }),
            docker: None,
        }),
    }
}

/// Container package `name` (id 1) with these versions and the manifests the inventory holds.
pub fn package(
    name: &str,
    versions: Vec<Version>,
    manifests: BTreeMap<String, String>,
) -> PackageEntry {
    PackageEntry {
        package: Package {
            id: 1,
            name: name.into(),
            package_type: PackageType::Container,
            visibility: None,
        },
        versions,
        manifests,
        listing_gap: None,
    }
}

/// An inventory of `owner` with these packages.
pub fn inventory(owner: &str, packages: Vec<Pkg>) -> Inventory {
    Inventory {
        schema: crate::inventory::SCHEMA,
        owner: owner.into(),
        captured_at: now(),
        packages: packages.into_iter().map(Pkg::entry).collect(),
    }
}
