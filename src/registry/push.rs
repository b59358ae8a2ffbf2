//! Writing to the registry, for removing a tag: the placeholder manifest that takes a tag away
//! from an image, the 2-byte empty blob it refers to, and putting a manifest back under a tag.
//!
//! The GitHub Packages API cannot remove a tag from a version. The registry can move one: a
//! manifest PUT under the tag makes the tag name the new manifest (on ghcr.io, a new package
//! version that holds the tag), and the original image keeps its other tags. The placeholder is
//! an OCI image manifest with the empty config descriptor and an annotation naming retention, the
//! run, the tag and the original digest, so that every placeholder has its own digest and one left
//! behind by a killed run is recognised ([`placeholder_note`]).
//!
//! Pushes ask the token realm for `repository:OWNER/IMAGE:pull,push` (the workflow token has it
//! with `permissions: packages: write`); the token is sent only where reads send it
//! (see [`super::client`]).

use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{StatusCode, Url};

use super::client::{ErrorKind, RegistryClient, MANIFEST_ACCEPT, PUSH_HINT};

/// The OCI empty descriptor's media type, digest and content (`{}`).
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const EMPTY_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
pub const EMPTY_CONTENT: &[u8] = b"{}";

/// The OCI image manifest media type (the placeholder's).
pub use crate::manifest::OCI_MANIFEST;

/// The annotation that marks a placeholder; its value says which run pushed it and why.
pub const PLACEHOLDER_ANNOTATION: &str = "dev.retention.placeholder";

pub use crate::digest::of as sha256_digest;

/// A placeholder manifest: its exact bytes and digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placeholder {
    pub bytes: String,
    pub digest: String,
}

/// The placeholder that takes `tag` away from the image `original` in run `run`.
pub fn placeholder(run: &str, tag: &str, original: &str) -> Placeholder {
    let empty = serde_json::json!({
        "mediaType": EMPTY_MEDIA_TYPE,
        "digest": EMPTY_DIGEST,
        "size": EMPTY_CONTENT.len(),
    });
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": empty,
        "layers": [empty],
        "annotations": {
            PLACEHOLDER_ANNOTATION: format!("run {run} removes tag {tag} from {original}"),
            "org.opencontainers.image.description": "placeholder pushed by retention to remove a tag; it is deleted at once (a leftover is deleted by the next run)",
        },
    });
    let bytes = manifest.to_string();
    let digest = sha256_digest(bytes.as_bytes());
    Placeholder { bytes, digest }
}

/// The annotation of a placeholder manifest (`run … removes tag … from …`), or `None` when the
/// manifest is not one.
pub fn placeholder_note(manifest: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(manifest).ok()?;
    if v["config"]["digest"] != EMPTY_DIGEST {
        return None;
    }
    v["annotations"][PLACEHOLDER_ANNOTATION]
        .as_str()
        .map(str::to_string)
}

/// A write to the registry failed: names the registry, repository and what was written.
#[derive(Clone, Debug, thiserror::Error)]
#[error("cannot write {what} to {registry}/{repository}: {message}")]
pub struct PushError {
    pub registry: String,
    pub repository: String,
    pub what: String,
    pub message: String,
    /// The token may not push (401/403): nothing will succeed until it may.
    pub denied: bool,
}

impl RegistryClient {
    fn push_error(
        &self,
        repository: &str,
        what: &str,
        message: impl Into<String>,
        denied: bool,
    ) -> PushError {
        PushError {
            registry: self.registry().as_str().trim_end_matches('/').to_string(),
            repository: repository.to_string(),
            what: what.to_string(),
            message: message.into(),
            denied,
        }
    }

    fn write_error(&self, e: super::ManifestError, what: &str) -> PushError {
        let denied = e.kind == ErrorKind::Unauthorized;
        let message = if denied && !e.message.contains(PUSH_HINT) {
            format!("{}\n  help: {PUSH_HINT}", e.message)
        } else {
            e.message
        };
        self.push_error(&e.repository, what, message, denied)
    }

    fn url(&self, repository: &str, rest: &str, what: &str) -> Result<Url, PushError> {
        self.registry()
            .join(&format!("v2/{repository}/{rest}"))
            .map_err(|e| self.push_error(repository, what, e.to_string(), false))
    }

    async fn refused(&self, repository: &str, what: &str, r: reqwest::Response) -> PushError {
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        let body: String = body.trim().chars().take(300).collect();
        let denied = status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED;
        let hint = if denied {
            format!("\n  help: {PUSH_HINT}")
        } else {
            String::new()
        };
        self.push_error(
            repository,
            what,
            format!("HTTP {status}: {body}{hint}"),
            denied,
        )
    }

    /// Make sure the empty blob (`{}`) is in `repository`: HEAD it, and upload it (POST, then a
    /// monolithic PUT) when the registry lacks it. Returns whether it was uploaded.
    pub async fn ensure_empty_blob(&self, repository: &str) -> Result<bool, PushError> {
        let what = "the empty blob";
        let head = self.url(repository, &format!("blobs/{EMPTY_DIGEST}"), what)?;
        let r = self
            .send_for_push(repository, what, || self.http().head(head.clone()))
            .await
            .map_err(|e| self.write_error(e, what))?;
        if r.status().is_success() {
            return Ok(false);
        }
        if r.status() != StatusCode::NOT_FOUND {
            return Err(self.refused(repository, what, r).await);
        }
        let start = self.url(repository, "blobs/uploads/", what)?;
        let r = self
            .send_for_push(repository, what, || self.http().post(start.clone()))
            .await
            .map_err(|e| self.write_error(e, what))?;
        if r.status() != StatusCode::ACCEPTED {
            return Err(self.refused(repository, what, r).await);
        }
        let location = r
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                self.push_error(repository, what, "the upload answer has no Location", false)
            })?;
        let mut put = self.registry().join(location).map_err(|e| {
            self.push_error(repository, what, format!("bad upload Location: {e}"), false)
        })?;
        if put.origin() != self.registry().origin() {
            return Err(self.push_error(
                repository,
                what,
                format!(
                    "the upload Location is on another host ({}); the token is not sent there",
                    put.origin().ascii_serialization()
                ),
                false,
            ));
        }
        put.query_pairs_mut().append_pair("digest", EMPTY_DIGEST);
        let r = self
            .send_for_push(repository, what, || {
                self.http()
                    .put(put.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .body(EMPTY_CONTENT)
            })
            .await
            .map_err(|e| self.write_error(e, what))?;
        if r.status() != StatusCode::CREATED {
            return Err(self.refused(repository, what, r).await);
        }
        Ok(true)
    }

    /// PUT `bytes` (a manifest of `media_type`) under `tag`. The registry must answer 201 and,
    /// when it says, the digest of exactly these bytes.
    pub async fn put_manifest(
        &self,
        repository: &str,
        tag: &str,
        media_type: &str,
        bytes: &str,
    ) -> Result<(), PushError> {
        let what = format!("a manifest under tag {tag}");
        let url = self.url(repository, &format!("manifests/{tag}"), &what)?;
        let body = bytes.to_string();
        let r = self
            .send_for_push(repository, &what, || {
                self.http()
                    .put(url.clone())
                    .header(CONTENT_TYPE, media_type)
                    .body(body.clone())
            })
            .await
            .map_err(|e| self.write_error(e, &what))?;
        if r.status() != StatusCode::CREATED {
            return Err(self.refused(repository, &what, r).await);
        }
        let expected = sha256_digest(bytes.as_bytes());
        if let Some(d) = r
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            if d != expected {
                return Err(self.push_error(
                    repository,
                    &what,
                    format!("the registry stored {d}, not {expected}"),
                    false,
                ));
            }
        }
        Ok(())
    }

    /// The digest `tag` names now, or `None` when the tag does not exist (404). Asked with HEAD
    /// (its `Docker-Content-Digest`), which is not a download; GET only when the registry does
    /// not say.
    pub async fn tag_digest(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<Option<String>, PushError> {
        let what = format!("tag {tag}");
        let url = self.url(repository, &format!("manifests/{tag}"), &what)?;
        for method in [reqwest::Method::HEAD, reqwest::Method::GET] {
            let r = self
                .send_for_push(repository, &what, || {
                    self.http()
                        .request(method.clone(), url.clone())
                        .header("accept", MANIFEST_ACCEPT)
                })
                .await
                .map_err(|e| self.write_error(e, &what))?;
            if r.status() == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !r.status().is_success() {
                return Err(self.refused(repository, &what, r).await);
            }
            let header = r
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .filter(|d| crate::digest::is_sha256(d))
                .map(str::to_string);
            if let Some(d) = header {
                return Ok(Some(d));
            }
            if method == reqwest::Method::GET {
                let body = r
                    .bytes()
                    .await
                    .map_err(|e| self.push_error(repository, &what, e.to_string(), false))?;
                return Ok(Some(sha256_digest(&body)));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_descriptor_is_what_the_spec_says() {
        assert_eq!(sha256_digest(EMPTY_CONTENT), EMPTY_DIGEST);
    }

    #[test]
    fn placeholders_are_recognised_and_distinct() {
        let a = placeholder("run-1", "pr-42", "sha256:aa");
        let b = placeholder("run-1", "pr-43", "sha256:aa");
        let c = placeholder("run-2", "pr-42", "sha256:aa");
        assert_ne!(a.digest, b.digest);
        assert_ne!(a.digest, c.digest);
        assert_eq!(sha256_digest(a.bytes.as_bytes()), a.digest);
        assert_eq!(
            placeholder_note(&a.bytes).as_deref(),
            Some("run run-1 removes tag pr-42 from sha256:aa")
        );
        assert_eq!(
            crate::manifest::Manifest::new(&a.bytes).media_type(),
            OCI_MANIFEST
        );
        // An ordinary image, even one with the empty config, is not a placeholder.
        let image =
            format!(r#"{{"schemaVersion":2,"config":{{"digest":"{EMPTY_DIGEST}"}},"layers":[]}}"#);
        assert_eq!(placeholder_note(&image), None);
        assert_eq!(placeholder_note("not json"), None);
    }
}
