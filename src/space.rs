//! Space freed: an estimate of the storage a plan's deletions give back, from the manifests
//! already in the inventory (no extra request).
//!
//! For one package: the sizes of the config and layer blobs that the deleted versions' manifests
//! reference and that no kept version's manifest of the same package references, each blob
//! counted once, plus the bytes of the deleted manifests themselves. It is an estimate: a blob
//! shared with another package (a common base layer) is counted in each package, and the
//! registry's own accounting may differ. Users prune to save storage, and GitHub bills it.
//!
//! Unknown (`None`) when a package that deletes something has a version whose manifest is not in
//! the inventory (a kept one may share blobs with a deleted one), or whose manifest cannot be read
//! for its blobs (a size that is negative, fractional or beyond u64, a descriptor without a
//! digest or size: a kept manifest read as referencing nothing would make its layers look freed),
//! when the sum would overflow u64 (checked, never wrapped), and for packages that are not
//! container images (their sizes are not read). A package that deletes nothing frees 0.

use std::collections::{HashMap, HashSet};

use crate::inventory::PackageEntry;
use crate::manifest::Manifest;
use crate::plan::{Action, PackagePlan};

/// Estimated bytes freed by `plan`'s deletions in the package `entry` (see the module doc).
pub fn package_bytes_freed(entry: &PackageEntry, plan: &PackagePlan) -> Option<u64> {
    if plan.deletions().next().is_none() {
        return Some(0);
    }
    if !entry.package.package_type.is_image() {
        return None;
    }
    let mut kept: HashSet<std::borrow::Cow<'_, str>> = HashSet::new();
    let mut deleted: HashMap<std::borrow::Cow<'_, str>, u64> = HashMap::new();
    let mut manifests = 0u64;
    for v in &plan.versions {
        let text = entry.manifests.get(&v.name)?;
        let refs = Manifest::new(text).blobs()?;
        match v.action {
            Action::Keep => kept.extend(refs.into_iter().map(|b| b.digest)),
            Action::Delete => {
                manifests = manifests.checked_add(text.len() as u64)?;
                for b in refs {
                    deleted.insert(b.digest, b.size);
                }
            }
        }
    }
    deleted
        .iter()
        .filter(|(d, _)| !kept.contains(*d))
        .try_fold(manifests, |sum, (_, size)| sum.checked_add(*size))
}

/// A byte count for people: `1.4 GiB`, `312 MiB`, `4.0 KiB`, `512 B`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_for_people() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1024), "1.0 KiB");
        assert_eq!(human(1536 * 1024 * 1024), "1.5 GiB");
        assert_eq!(human(312 * 1024 * 1024), "312 MiB");
    }

    fn digest_of(body: &str) -> String {
        use sha2::Digest as _;
        format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(body.as_bytes()))
        )
    }

    /// An image manifest referencing a config and layers given as (hex digit, size).
    fn image(config: (char, u64), layers: &[(char, u64)]) -> String {
        let sized: Vec<(char, String)> = layers.iter().map(|&(c, n)| (c, n.to_string())).collect();
        let sized: Vec<(char, &str)> = sized.iter().map(|(c, n)| (*c, n.as_str())).collect();
        image_sized((config.0, &config.1.to_string()), &sized)
    }

    /// [`image`] with each size written as given (`-1`, `1.5`, `18446744073709551616`).
    fn image_sized(config: (char, &str), layers: &[(char, &str)]) -> String {
        let blob = |(c, size): (char, &str)| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{}","size":{size}}}"#,
                c.to_string().repeat(64)
            )
        };
        let layers: Vec<String> = layers.iter().copied().map(blob).collect();
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[{}]}}"#,
            blob(config),
            layers.join(",")
        )
    }

    fn version(id: u64, digest: &str, tags: &[&str], day: u32) -> serde_json::Value {
        serde_json::json!({
            "id": id, "name": digest,
            "created_at": format!("2026-10-{day:02}T00:00:00Z"),
            "updated_at": format!("2026-10-{day:02}T00:00:00Z"),
            "metadata": {"package_type": "container", "container": {"tags": tags}}
        })
    }

    fn evaluate(
        manifests: &[(&str, &String)],
        versions: Vec<serde_json::Value>,
    ) -> crate::plan::Plan {
        plan_of(&inventory(manifests, versions))
    }

    fn inventory(
        manifests: &[(&str, &String)],
        versions: Vec<serde_json::Value>,
    ) -> crate::inventory::Inventory {
        let manifests: serde_json::Map<String, serde_json::Value> = manifests
            .iter()
            .map(|(d, t)| (d.to_string(), serde_json::Value::String(t.to_string())))
            .collect();
        let inventory = serde_json::json!({
            "schema": 1, "owner": "acme", "captured_at": "2026-11-20T00:00:00Z",
            "packages": [{
                "package": {"id": 1, "name": "app", "package_type": "container"},
                "versions": versions,
                "manifests": manifests,
            }]
        });
        crate::inventory::Inventory::from_slice(inventory.to_string().as_bytes(), "test")
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn plan_of(inventory: &crate::inventory::Inventory) -> crate::plan::Plan {
        let policy = crate::policy::parse_policy(
            "p.yml",
            b"version: 1\npackages: { type: container, names: [app] }\nrules:\n  - name: releases stay\n    keep: { tags: [\"v*\"] }\n  - name: pull requests go\n    delete: { tags: [\"pr-*\"] }\nsafety: { keep_newest: 0, min_age: 0s }\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|e| panic!("{e}"));
        crate::evaluate::evaluate(&policy, inventory, now).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_layer_a_kept_image_shares_is_not_freed() {
        // The kept v2 and the deleted pr-1 share the base layer 'a' (1000 bytes); pr-1 alone
        // has its config 'c' (10) and layer 'd' (500); pr-2 alone has config 'e' (20) and also
        // layer 'd' (counted once).
        let kept = image(('b', 100), &[('a', 1000), ('f', 50)]);
        let pr1 = image(('c', 10), &[('a', 1000), ('d', 500)]);
        let pr2 = image(('e', 20), &[('d', 500)]);
        let (dk, d1, d2) = (digest_of(&kept), digest_of(&pr1), digest_of(&pr2));
        let plan = evaluate(
            &[(&dk, &kept), (&d1, &pr1), (&d2, &pr2)],
            vec![
                version(3, &dk, &["v2"], 3),
                version(2, &d2, &["pr-2"], 2),
                version(1, &d1, &["pr-1"], 1),
            ],
        );
        let expected = (pr1.len() + pr2.len()) as u64 + 10 + 500 + 20;
        assert_eq!(plan.summary.delete, 2);
        assert_eq!(plan.packages[0].bytes_freed, Some(expected));
        assert_eq!(plan.summary.bytes_freed, Some(expected));
    }

    #[test]
    fn unknown_when_a_manifest_is_missing_and_zero_when_nothing_is_deleted() {
        let kept = image(('b', 100), &[('a', 1000)]);
        let pr1 = image(('c', 10), &[('a', 1000)]);
        let (dk, d1) = (digest_of(&kept), digest_of(&pr1));
        // The kept image's manifest is not in the inventory: what it shares is unknown. (The
        // evaluator itself then withholds pr-1, which the unread manifest may list: the plan is
        // made with the manifest, and the estimate asked without it.)
        let mut inv = inventory(
            &[(&d1, &pr1), (&dk, &kept)],
            vec![version(3, &dk, &["v2"], 3), version(1, &d1, &["pr-1"], 1)],
        );
        let plan = plan_of(&inv);
        assert_eq!(plan.summary.delete, 1);
        inv.packages[0].manifests.remove(&dk);
        assert_eq!(
            package_bytes_freed(&inv.packages[0], &plan.packages[0]),
            None
        );
        let plan = evaluate(&[(&dk, &kept)], vec![version(3, &dk, &["v2"], 3)]);
        assert_eq!(plan.packages[0].bytes_freed, Some(0));
    }

    #[test]
    fn huge_sizes_make_the_estimate_unknown_instead_of_wrapping() {
        // Two deleted layers of u64::MAX bytes: the sum does not fit, and a wrapped sum would
        // read as a few kilobytes.
        let max = u64::MAX;
        let kept = image(('b', 100), &[('a', 1000)]);
        let pr1 = image(('c', 10), &[('d', max)]);
        let pr2 = image(('e', 20), &[('f', max)]);
        let (dk, d1, d2) = (digest_of(&kept), digest_of(&pr1), digest_of(&pr2));
        let plan = evaluate(
            &[(&dk, &kept), (&d1, &pr1), (&d2, &pr2)],
            vec![
                version(3, &dk, &["v2"], 3),
                version(2, &d2, &["pr-2"], 2),
                version(1, &d1, &["pr-1"], 1),
            ],
        );
        assert_eq!(plan.summary.delete, 2);
        assert_eq!(plan.packages[0].bytes_freed, None);
        assert_eq!(plan.summary.bytes_freed, None);
    }

    #[test]
    fn a_malformed_size_in_a_kept_manifest_makes_the_estimate_unknown() {
        // The kept v2 shares the layer 'a' with pr-1, and one of its sizes is malformed: read
        // as referencing nothing, it would let the shared layer count as freed.
        let pr1 = image(('c', 10), &[('a', 1000)]);
        let d1 = digest_of(&pr1);
        for bad in ["-1", "1.5", "18446744073709551616", "\"7\""] {
            let kept = image_sized(('b', bad), &[('a', "1000")]);
            let dk = digest_of(&kept);
            let plan = evaluate(
                &[(&dk, &kept), (&d1, &pr1)],
                vec![version(3, &dk, &["v2"], 3), version(1, &d1, &["pr-1"], 1)],
            );
            assert_eq!(plan.summary.delete, 1, "size {bad}");
            assert_eq!(plan.packages[0].bytes_freed, None, "size {bad}");
        }
    }
}
