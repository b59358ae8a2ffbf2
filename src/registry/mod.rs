//! The container registry: read image manifests (the OCI distribution API), verified by digest,
//! cached on disk (which ones a decision needs is [`crate::fill`]'s business).
//!
//! - [`client`]: `GET /v2/<owner>/<image>/manifests/<digest>` with ghcr.io's authentication
//!   (Bearer token from the realm, or Basic), retries on 429/5xx (a 429 pauses every request to
//!   the registry, not only the one answered), and sha256 verification;
//! - [`cache`]: manifests on disk by digest (temp file + rename; bounded; LRU eviction);
//! - [`push`]: the writes that remove a tag (a placeholder manifest under it) and put it back.
//!
//! What is read and why is written down in docs/registry.md.

pub mod auth;
pub mod cache;
pub mod client;
pub mod origin;
pub mod push;

pub use crate::backoff::RetryPolicy;
pub use crate::secret::Secret;
pub use auth::Credentials;
pub use cache::ManifestCache;
pub use client::{repository_for, ErrorKind, ManifestError, RegistryClient};
pub use origin::RegistryChoice;

/// The registry cannot be used as configured: which one to use, or its client. What a read or
/// a write of one manifest fails with is [`ManifestError`] and [`push::PushError`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// `--registry` (or the URL derived for it) is not a registry URL.
    #[error("invalid registry URL `{url}`: {reason}\n  help: pass --registry as https://HOST (ghcr.io for github.com), or http://HOST:PORT for a local registry")]
    BadUrl { url: String, reason: String },
    /// `GITHUB_SERVER_URL` does not parse as a URL.
    #[error("GITHUB_SERVER_URL `{server}` is not a URL ({reason}), so the container registry cannot be derived from it\n  help: pass --registry URL (ghcr.io for github.com, https://containers.HOST for GitHub Enterprise Server)")]
    ServerNotAUrl { server: String, reason: String },
    /// `GITHUB_SERVER_URL` is a URL, but not http(s) with a host.
    #[error("GITHUB_SERVER_URL `{server}` is not an http(s) URL with a host, so the container registry cannot be derived from it\n  help: pass --registry URL")]
    ServerNotHttp { server: String },
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot build the HTTP client: {reason}")]
    HttpClient { reason: String },
}

/// Which registry, or its client, cannot be used as configured: a usage error (1).
impl From<RegistryError> for crate::outcome::Failure {
    fn from(e: RegistryError) -> crate::outcome::Failure {
        crate::outcome::Failure::usage(e.to_string()).caused_by(e)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn registry_errors_are_usage_errors_that_say_error() {
        let e = super::client::parse_registry_url("ftp://x").unwrap_err();
        let f = crate::outcome::Failure::from(e);
        let (c, m) = (f.code().exit(), f.to_string());
        assert_eq!(c, 1);
        assert!(
            m.starts_with("error: invalid registry URL `ftp://x`: "),
            "{m}"
        );
    }
}
