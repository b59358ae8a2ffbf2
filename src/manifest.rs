//! What the program reads in an OCI manifest or index: the one place that knows its JSON shape.
//!
//! The image graph asks an index which manifests it lists (and which are buildx attestations)
//! and a referrer for its subject; the space estimate asks an image manifest for its config and
//! layers with their sizes. Each question reads the manifest's text once, for the fields it needs
//! and nothing else (serde skips the rest without allocating), and what it returns borrows the
//! text: a digest is a slice of it unless the JSON escapes a character. Inventories hold up to
//! 200,000 manifests, read on every `plan`.
//!
//! Writing a manifest back (a restore, a placeholder's cleanup) asks for its media type and the
//! digests it lists; these read the text as a `serde_json::Value`, the most lenient view, so
//! that a malformed field never hides a well-formed one.
//!
//! Each question keeps the strictness its answer relies on: the graph refuses a listed manifest
//! without a digest (the manifest is then unusable, and its versions are kept), the estimate
//! refuses a blob without a size or with one that is not a u64 (it is then unknown), and neither
//! is refused for a field only the other reads.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

/// The annotation buildx puts on the attestation manifests it lists in an index.
const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
const ATTESTATION_MANIFEST: &str = "attestation-manifest";

/// The OCI image manifest media type (a placeholder's; a manifest without `mediaType`).
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI image index media type (a manifest without `mediaType` that lists `manifests`).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The text of a manifest or index, read when a question is asked.
#[derive(Clone, Copy, Debug)]
pub struct Manifest<'a>(&'a str);

/// A manifest listed in an index, or a referrer's subject.
#[derive(Debug, Deserialize)]
pub struct Descriptor<'a> {
    #[serde(borrow)]
    pub digest: Cow<'a, str>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// What an index lists and what a referrer refers to.
#[derive(Debug, Default, Deserialize)]
pub struct References<'a> {
    /// The manifests an index lists (platform manifests, attestations); none for an image.
    #[serde(default, borrow)]
    pub manifests: Option<Vec<Descriptor<'a>>>,
    /// The manifest an OCI 1.1 referrer (signature, SBOM, attestation) is about.
    #[serde(default, borrow)]
    pub subject: Option<Descriptor<'a>>,
}

/// A blob an image manifest references (its config or a layer), with its size in bytes.
#[derive(Debug, PartialEq, Eq, Deserialize)]
pub struct Blob<'a> {
    #[serde(borrow)]
    pub digest: Cow<'a, str>,
    /// Required (the OCI descriptor's `size`); a negative, fractional or too large one fails.
    pub size: u64,
}

#[derive(Deserialize)]
struct Blobs<'a> {
    #[serde(default, borrow)]
    config: Option<Blob<'a>>,
    #[serde(default, borrow)]
    layers: Vec<Blob<'a>>,
}

impl<'a> Manifest<'a> {
    pub fn new(text: &'a str) -> Manifest<'a> {
        Manifest(text)
    }

    /// The manifests it lists and its subject. Fails (with serde's message and position) when
    /// the text is not JSON, or a listed manifest or the subject has no digest or malformed
    /// annotations.
    pub fn references(&self) -> Result<References<'a>, serde_json::Error> {
        serde_json::from_str(self.0)
    }

    /// The blobs it references, config first; none for an index. `None` when a text that
    /// references blobs cannot be read for them (not JSON, a blob without a digest or a size, a
    /// size that is negative, fractional or beyond u64).
    pub fn blobs(&self) -> Option<Vec<Blob<'a>>> {
        // An index lists manifests, not blobs: skip parsing what cannot reference one.
        if !self.0.contains("\"layers\"") && !self.0.contains("\"config\"") {
            return Some(Vec::new());
        }
        let b = serde_json::from_str::<Blobs>(self.0).ok()?;
        Some(b.config.into_iter().chain(b.layers).collect())
    }

    /// The digests an index lists (its platform manifests and attestations); none for an image
    /// or a text that is not JSON. Lenient, unlike [`Manifest::references`]: an entry without a
    /// string digest is skipped and the others are still listed.
    pub fn listed_digests(&self) -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(self.0).unwrap_or_default();
        v["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["digest"].as_str().map(str::to_string))
            .collect()
    }

    /// The media type to write it under: its `mediaType` when a non-empty string, else the
    /// index type when it lists `manifests` (an array), else the image manifest type.
    pub fn media_type(&self) -> String {
        let v: serde_json::Value = serde_json::from_str(self.0).unwrap_or_default();
        match v["mediaType"].as_str() {
            Some(t) if !t.is_empty() => t.to_string(),
            _ if v["manifests"].is_array() => OCI_INDEX.to_string(),
            _ => OCI_MANIFEST.to_string(),
        }
    }
}

impl Descriptor<'_> {
    /// A buildx attestation manifest (`unknown/unknown`), not a platform image.
    pub fn is_attestation(&self) -> bool {
        self.annotations
            .as_ref()
            .and_then(|a| a.get(REFERENCE_TYPE))
            .is_some_and(|t| t == ATTESTATION_MANIFEST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_lists_its_manifests_and_marks_attestations() {
        let text = r#"{"schemaVersion":2,"manifests":[{"digest":"sha256:a","size":3},
            {"digest":"sha256:b","annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}"#;
        let r = Manifest::new(text)
            .references()
            .unwrap_or_else(|e| panic!("{e}"));
        let listed: Vec<(&str, bool)> = r
            .manifests
            .iter()
            .flatten()
            .map(|d| (&*d.digest, d.is_attestation()))
            .collect();
        assert_eq!(listed, [("sha256:a", false), ("sha256:b", true)]);
        assert!(r.subject.is_none());
        // Borrowed from the text, not copied.
        assert!(r
            .manifests
            .iter()
            .flatten()
            .all(|d| matches!(d.digest, Cow::Borrowed(_))));
    }

    #[test]
    fn a_referrer_names_its_subject_and_a_listed_manifest_needs_a_digest() {
        let r = Manifest::new(r#"{"subject":{"digest":"sha256:s","size":1}}"#)
            .references()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.subject.map(|s| s.digest.into_owned()).as_deref(),
            Some("sha256:s")
        );
        assert!(Manifest::new(r#"{"manifests":[{"size":1}]}"#)
            .references()
            .is_err());
        assert!(
            Manifest::new(r#"{"manifests":[{"digest":"sha256:a","annotations":{"k":1}}]}"#)
                .references()
                .is_err()
        );
        // A malformed size or layer is not the graph's concern.
        assert!(Manifest::new(
            r#"{"layers":[{"size":-1}],"manifests":[{"digest":"sha256:a","size":-1}]}"#
        )
        .references()
        .is_ok());
    }

    #[test]
    fn media_types_from_the_manifest() {
        let media_type = |text: &str| Manifest::new(text).media_type();
        assert_eq!(
            media_type(r#"{"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}"#),
            "application/vnd.docker.distribution.manifest.v2+json"
        );
        assert_eq!(
            media_type(r#"{"schemaVersion":2,"manifests":[]}"#),
            OCI_INDEX
        );
        assert_eq!(media_type(r#"{"mediaType":"","manifests":[]}"#), OCI_INDEX);
        assert_eq!(
            media_type(r#"{"mediaType":7,"manifests":{}}"#),
            OCI_MANIFEST
        );
        assert_eq!(media_type("not json"), OCI_MANIFEST);
    }

    #[test]
    fn listed_digests_skip_a_malformed_entry_only() {
        let text = r#"{"manifests":[{"digest":"sha256:a"},{"size":1},{"digest":7},{"digest":"sha256:b","annotations":{"k":1}}]}"#;
        assert_eq!(
            Manifest::new(text).listed_digests(),
            ["sha256:a", "sha256:b"]
        );
        assert!(Manifest::new(r#"{"layers":[]}"#)
            .listed_digests()
            .is_empty());
        assert!(Manifest::new("not json").listed_digests().is_empty());
    }

    #[test]
    fn an_index_references_no_blob() {
        assert!(Manifest::new(
            r#"{"schemaVersion":2,"manifests":[{"digest":"sha256:a","size":3}]}"#
        )
        .blobs()
        .is_some_and(|b| b.is_empty()));
        let blob = |digest: &'static str, size| Blob {
            digest: digest.into(),
            size,
        };
        assert_eq!(
            Manifest::new(
                r#"{"config":{"digest":"sha256:c","size":7},"layers":[{"digest":"sha256:l","size":9}]}"#
            )
            .blobs(),
            Some(vec![blob("sha256:c", 7), blob("sha256:l", 9)])
        );
        for bad in ["-1", "1.5", "18446744073709551616", "\"7\"", "null"] {
            let text = format!(r#"{{"layers":[{{"digest":"sha256:l","size":{bad}}}]}}"#);
            assert_eq!(Manifest::new(&text).blobs(), None, "size {bad}");
        }
    }
}
