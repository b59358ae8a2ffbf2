//! The image graph of a container package: which versions are parts of which image.
//!
//! On ghcr.io a multi-platform image is an index whose platform manifests are separate, untagged
//! package versions; buildx attestations are manifests inside the index; cosign signatures,
//! attestations and SBOMs are tagged `sha256-<hex>.sig|.att|.sbom`; OCI referrers carry a
//! `subject`, and registries without a referrers API list them in an index tagged
//! `sha256-<hex>`. Deleting "untagged" versions without knowing this breaks images, so the
//! evaluator asks this graph what each version belongs to.
//!
//! The graph also finds broken images: an index none of whose platform manifests is in the
//! package (ghost), some but not all (partial), and an artifact whose subject is not in the
//! package (orphaned). Such a part stands on its own: it is a top-level image.
//!
//! An artifact's subject may live in another package: cosign's `COSIGN_REPOSITORY` keeps the
//! signatures of `app` in a package of their own. So a subject not in the package is looked up
//! in every package listed in the run ([`ImageGraph::build_in`]'s `elsewhere`), and an artifact
//! is orphaned only when its subject is in none of them and its package holds images of its own
//! (a tag that is not an artifact tag): in a package of artifacts only, the subject's package
//! may not have been listed, so nothing there is called orphaned (a warning counts them).
//!
//! The graph is built from the manifests stored in the inventory (exact bytes, checked against
//! their digest). It is pure: no network, no clock.

use std::collections::{BTreeMap, HashMap};

use crate::inventory::Version;
use crate::manifest::Manifest;
use crate::plan::{BrokenKind, PartKind};

/// How a version depends on another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Edge {
    /// A manifest listed in an index or manifest list (a platform image, or a nested index).
    Child,
    /// A buildx attestation manifest listed in an index (`unknown/unknown`).
    Attestation,
    /// A cosign signature (`sha256-<hex>.sig`).
    Signature,
    /// A cosign attestation (`sha256-<hex>.att`).
    CosignAttestation,
    /// A cosign SBOM (`sha256-<hex>.sbom`).
    Sbom,
    /// An OCI 1.1 referrer (a manifest with a `subject`).
    Referrer,
    /// An index tagged `sha256-<hex>` that lists the referrers of that digest.
    ReferrersIndex,
}

impl Edge {
    /// What the dependant is, in a reason: "platform manifest of kept image …".
    pub fn label(self) -> &'static str {
        match self {
            Edge::Child => "child manifest",
            Edge::Attestation => "build attestation",
            Edge::Signature => "signature",
            Edge::CosignAttestation => "cosign attestation",
            Edge::Sbom => "SBOM",
            Edge::Referrer => "referrer",
            Edge::ReferrersIndex => "referrers index",
        }
    }

    /// The plan's name for what the dependant is.
    pub fn part_kind(self) -> PartKind {
        match self {
            Edge::Child => PartKind::PlatformManifest,
            Edge::Attestation => PartKind::Attestation,
            Edge::Signature => PartKind::Signature,
            Edge::CosignAttestation => PartKind::CosignAttestation,
            Edge::Sbom => PartKind::Sbom,
            Edge::Referrer => PartKind::Referrer,
            Edge::ReferrersIndex => PartKind::ReferrersIndex,
        }
    }
}

/// What is known of a version's own manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestState {
    /// Read, verified and parsed.
    Known,
    /// Not in the inventory.
    Missing,
    /// Present but unusable: digest mismatch, unknown digest algorithm, or not a manifest.
    Corrupt(String),
}

/// The graph of one package. Indices are positions in the package's `versions`.
#[derive(Clone, Debug)]
pub struct ImageGraph {
    /// `dependants[i]`: versions that depend on version `i`, and how.
    pub dependants: Vec<Vec<(usize, Edge)>>,
    /// `listed[i]`: the versions listed in version `i`'s manifest (when it is an index). ghcr.io
    /// removes a deleted index's untagged children that no other index lists.
    pub listed: Vec<Vec<usize>>,
    /// `parents[i]`: versions that version `i` depends on (its index or subject).
    pub parents: Vec<Vec<(usize, Edge)>>,
    /// Whether version `i` is a referrer (signature, attestation, subject-bearing manifest,
    /// referrers index) even when its subject is not in the package.
    pub is_referrer: Vec<bool>,
    pub manifest: Vec<ManifestState>,
    /// Untagged versions whose parents cannot all be known because some manifest of the package
    /// is missing or unusable.
    pub parents_unknown: Vec<bool>,
    /// `broken[i]`: how version `i` cannot be pulled whole as it stands, and the digests it
    /// lists (or its subject) that are not in the package. Only versions whose manifest is known
    /// (and, for `orphaned`, artifacts named by tag) are judged.
    pub broken: Vec<Option<(BrokenKind, Vec<String>)>>,
    /// Problems worth telling the user (corrupt manifests), in version order.
    pub warnings: Vec<String>,
}

/// The subject digest named by a cosign tag (`sha256-<hex>.sig|.att|.sbom`) or a referrers tag
/// (`sha256-<hex>`), with the kind of edge it makes.
pub fn tag_subject(tag: &str) -> Option<(String, Edge)> {
    let rest = tag.strip_prefix("sha256-")?;
    let (hex, edge) = match rest.split_once('.') {
        Some((hex, "sig")) => (hex, Edge::Signature),
        Some((hex, "att")) => (hex, Edge::CosignAttestation),
        Some((hex, "sbom")) => (hex, Edge::Sbom),
        Some(_) => return None,
        None => (rest, Edge::ReferrersIndex),
    };
    crate::digest::is_sha256_hex(hex).then(|| (format!("sha256:{hex}"), edge))
}

impl ImageGraph {
    /// Build the graph of one container package from its versions and stored manifests, with
    /// no other package listed.
    pub fn build(versions: &[Version], manifests: &BTreeMap<String, String>) -> ImageGraph {
        ImageGraph::build_in(versions, manifests, &|_| false)
    }

    /// [`build`](Self::build), where `elsewhere(digest)` says whether another package listed in
    /// the run has a version of that digest (an artifact's subject found there is no orphan).
    pub fn build_in(
        versions: &[Version],
        manifests: &BTreeMap<String, String>,
        elsewhere: &dyn Fn(&str) -> bool,
    ) -> ImageGraph {
        let n = versions.len();
        // Artifacts whose subject is not in the package: (version, subject), judged at the end.
        let mut unlinked: Vec<(usize, String)> = Vec::new();
        // Nothing is known until the manifests are read.
        let mut g = ImageGraph::isolated(n);
        g.manifest = vec![ManifestState::Missing; n];
        let by_digest: HashMap<&str, usize> = versions
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.as_str(), i))
            .collect();

        for (i, v) in versions.iter().enumerate() {
            // Tags that name a subject.
            for tag in v.tags() {
                if let Some((subject, edge)) = tag_subject(tag) {
                    g.is_referrer[i] = true;
                    match by_digest.get(subject.as_str()) {
                        Some(&s) => g.link(s, i, edge),
                        None => unlinked.push((i, subject)),
                    }
                }
            }
            // The manifest itself.
            if let Some(text) = manifests.get(&v.name) {
                g.read_manifest(i, v, text, &by_digest, &mut unlinked);
            }
        }
        g.judge_unlinked(versions, unlinked, elsewhere);

        // Where any manifest is unknown, an untagged version may be a child of it: its parents
        // are unknown, and nothing the graph could protect may be deleted.
        if g.manifest.iter().any(|m| *m != ManifestState::Known) {
            for (i, v) in versions.iter().enumerate() {
                // Even with a known parent: an unknown manifest may need it too.
                g.parents_unknown[i] = v.tags().is_empty();
            }
        }
        g
    }

    /// `child` depends on `parent` by `edge` (once; a version never depends on itself).
    fn link(&mut self, parent: usize, child: usize, edge: Edge) {
        if parent != child && !self.dependants[parent].iter().any(|&(c, _)| c == child) {
            self.dependants[parent].push((child, edge));
            self.parents[child].push((parent, edge));
        }
    }

    /// Read version `i`'s manifest `text`: check it against its digest, link what it lists and
    /// its subject (one not in the package goes to `unlinked`), and judge an index whose
    /// platform manifests are not all in the package (unless it is itself an unlinked artifact).
    fn read_manifest(
        &mut self,
        i: usize,
        v: &Version,
        text: &str,
        by_digest: &HashMap<&str, usize>,
        unlinked: &mut Vec<(usize, String)>,
    ) {
        if let Err(e) = crate::digest::verify(&v.name, text.as_bytes()) {
            self.warnings.push(format!("{e}; the version is kept"));
            self.manifest[i] = ManifestState::Corrupt(e.to_string());
            return;
        }
        let raw = match Manifest::new(text).references() {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("manifest of {} is not a valid manifest: {e}", v.name);
                self.warnings.push(format!("{msg}; the version is kept"));
                self.manifest[i] = ManifestState::Corrupt(msg);
                return;
            }
        };
        self.manifest[i] = ManifestState::Known;
        let referrers_index = v
            .tags()
            .iter()
            .any(|t| matches!(tag_subject(t), Some((_, Edge::ReferrersIndex))));
        // Platform manifests listed and missing (attestations do not count).
        let (mut platforms, mut missing) = (0usize, Vec::new());
        for d in raw.manifests.iter().flatten() {
            let attestation = d.is_attestation();
            if !attestation && !referrers_index {
                platforms += 1;
                if !by_digest.contains_key(&*d.digest) {
                    missing.push(d.digest.to_string());
                }
            }
            let Some(&c) = by_digest.get(&*d.digest) else {
                continue;
            };
            let edge = if referrers_index {
                Edge::Referrer
            } else if attestation {
                Edge::Attestation
            } else {
                Edge::Child
            };
            self.link(i, c, edge);
            if c != i && !self.listed[i].contains(&c) {
                self.listed[i].push(c);
            }
        }
        if let Some(subject) = &raw.subject {
            self.is_referrer[i] = true;
            match by_digest.get(&*subject.digest) {
                Some(&s) => self.link(s, i, Edge::Referrer),
                None => unlinked.push((i, subject.digest.to_string())),
            }
        }
        if unlinked.last().is_none_or(|(j, _)| *j != i) && !missing.is_empty() {
            let kind = if missing.len() == platforms {
                BrokenKind::Ghost
            } else {
                BrokenKind::Partial
            };
            self.broken[i] = Some((kind, missing));
        }
    }

    /// An artifact whose subject is nowhere listed is orphaned, in a package of images; in a
    /// package of artifacts only, a warning counts them instead.
    fn judge_unlinked(
        &mut self,
        versions: &[Version],
        unlinked: Vec<(usize, String)>,
        elsewhere: &dyn Fn(&str) -> bool,
    ) {
        let holds_images = versions
            .iter()
            .any(|v| v.tags().iter().any(|t| tag_subject(t).is_none()));
        let mut unknown_subjects = 0usize;
        for (i, subject) in unlinked {
            if elsewhere(&subject) {
                continue;
            }
            if holds_images {
                orphan(&mut self.broken[i], subject);
            } else if self.broken[i].is_none() {
                unknown_subjects += 1;
            }
        }
        if unknown_subjects > 0 {
            self.warnings.push(format!(
                "{} of this package {} no subject in any package listed; this package holds artifacts only (cosign's COSIGN_REPOSITORY), so {} subject may be in a package not listed: not called orphaned",
                crate::plural::count(unknown_subjects, "artifact", "artifacts"),
                crate::plural::word(unknown_subjects, "has", "have"),
                crate::plural::word(unknown_subjects, "its", "their"),
            ));
        }
    }

    /// The graph of a package whose versions do not depend on each other (npm, maven, …).
    pub fn isolated(n: usize) -> ImageGraph {
        ImageGraph {
            dependants: vec![Vec::new(); n],
            listed: vec![Vec::new(); n],
            parents: vec![Vec::new(); n],
            is_referrer: vec![false; n],
            manifest: vec![ManifestState::Known; n],
            parents_unknown: vec![false; n],
            broken: vec![None; n],
            warnings: Vec::new(),
        }
    }

    /// An image that stands on its own: not part of, nor a referrer of, another version in the
    /// package, and not an untagged version whose parents are unknown. A signature or referrer
    /// whose subject is absent, or a manifest whose index is absent, stands on its own (it is
    /// orphaned). `newest`, `group_by` and `keep_newest` count these.
    pub fn is_top_level(&self, i: usize) -> bool {
        self.parents[i].is_empty() && !self.parents_unknown[i]
    }

    /// The top-level image that version `i` is part of, and how `i` hangs on its parent; `None`
    /// for a version with no parent in the package. Where a version has several parents, the one
    /// with the lowest `key` (the version id: the same answer whatever the listing order) is
    /// followed; a cycle, which only corrupt manifests can make, stops the walk.
    pub fn part_of(&self, i: usize, key: impl Fn(usize) -> u64) -> Option<(usize, Edge)> {
        let first = |j: usize| self.parents[j].iter().copied().min_by_key(|&(p, _)| key(p));
        let (mut top, edge) = first(i)?;
        let mut seen = vec![i];
        while let Some((p, _)) = first(top) {
            if seen.contains(&p) {
                break;
            }
            seen.push(top);
            top = p;
        }
        Some((top, edge))
    }

    /// [`part_of`](Self::part_of) for every version at once, in linear time: each chain of
    /// first parents is walked once and its top remembered, so that a deep chain of nested
    /// indexes costs O(n), not O(n²) walks (or O(n³) with the walk's cycle check).
    pub fn parts_of(&self, key: impl Fn(usize) -> u64) -> Vec<Option<(usize, Edge)>> {
        let n = self.parents.len();
        let first: Vec<Option<(usize, Edge)>> = (0..n)
            .map(|j| self.parents[j].iter().copied().min_by_key(|&(p, _)| key(p)))
            .collect();
        // The top reached from each version by first parents; `None` while unknown, and for a
        // version on or above a cycle (only corrupt manifests make one), which is walked apart.
        const UNSEEN: u8 = 0;
        const ON_PATH: u8 = 1;
        const DONE: u8 = 2;
        const CYCLE: u8 = 3;
        let mut state = vec![UNSEEN; n];
        let mut root = vec![0usize; n];
        for start in 0..n {
            let mut path = Vec::new();
            let mut j = start;
            let outcome = loop {
                match state[j] {
                    DONE => break Some(root[j]),
                    ON_PATH | CYCLE => break None,
                    _ => {}
                }
                state[j] = ON_PATH;
                path.push(j);
                match first[j] {
                    Some((p, _)) => j = p,
                    None => break Some(j),
                }
            };
            for &k in &path {
                match outcome {
                    Some(r) => {
                        state[k] = DONE;
                        root[k] = r;
                    }
                    None => state[k] = CYCLE,
                }
            }
        }
        (0..n)
            .map(|i| {
                let (p, edge) = first[i]?;
                if state[p] == DONE && state[i] == DONE {
                    Some((root[p], edge))
                } else {
                    self.part_of(i, &key)
                }
            })
            .collect()
    }

    /// How many versions have no usable manifest.
    pub fn unknown_manifests(&self) -> usize {
        self.manifest
            .iter()
            .filter(|m| **m != ManifestState::Known)
            .count()
    }
}

/// Record that an artifact's subject is not in the package.
fn orphan(slot: &mut Option<(BrokenKind, Vec<String>)>, subject: String) {
    match slot {
        Some((BrokenKind::Orphaned, missing)) => {
            if !missing.contains(&subject) {
                missing.push(subject);
            }
        }
        _ => *slot = Some((BrokenKind::Orphaned, vec![subject])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_equals_part_of_on_chains_forks_and_cycles() {
        // 0 <- 1 <- 2 <- 3 (a chain), 4 with parents 2 and 5, 6 <-> 7 (a cycle), 8 below 7.
        let mut g = ImageGraph::isolated(9);
        let mut link = |p: usize, c: usize| {
            g.parents[c].push((p, Edge::Child));
            g.dependants[p].push((c, Edge::Child));
        };
        link(0, 1);
        link(1, 2);
        link(2, 3);
        link(2, 4);
        link(5, 4);
        link(6, 7);
        link(7, 6);
        link(7, 8);
        let key = |j: usize| 100 - j as u64;
        let one_by_one: Vec<_> = (0..9).map(|i| g.part_of(i, key)).collect();
        assert_eq!(g.parts_of(key), one_by_one);
        assert_eq!(one_by_one[3], Some((0, Edge::Child)));
        assert_eq!(one_by_one[4], Some((5, Edge::Child)));
    }

    #[test]
    fn cosign_and_referrers_tags_name_their_subject() {
        let hex = "a".repeat(64);
        assert_eq!(
            tag_subject(&format!("sha256-{hex}.sig")),
            Some((format!("sha256:{hex}"), Edge::Signature))
        );
        assert_eq!(
            tag_subject(&format!("sha256-{hex}.att")),
            Some((format!("sha256:{hex}"), Edge::CosignAttestation))
        );
        assert_eq!(
            tag_subject(&format!("sha256-{hex}.sbom")),
            Some((format!("sha256:{hex}"), Edge::Sbom))
        );
        assert_eq!(
            tag_subject(&format!("sha256-{hex}")),
            Some((format!("sha256:{hex}"), Edge::ReferrersIndex))
        );
        assert_eq!(tag_subject(&format!("sha256-{hex}.zip")), None);
        assert_eq!(tag_subject("sha256-abc.sig"), None);
        assert_eq!(tag_subject("v1.0.0"), None);
        assert_eq!(tag_subject(&format!("sha256-{}.sig", "A".repeat(64))), None);
    }
}
