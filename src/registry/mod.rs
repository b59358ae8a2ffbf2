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

/// The user name sent with the token when the registry asks for credentials: `RETENTION_REGISTRY_USER`,
/// else `GITHUB_ACTOR`, else `retention` (ghcr.io accepts any user name with a token).
pub fn registry_username() -> String {
    ["RETENTION_REGISTRY_USER", "GITHUB_ACTOR"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "retention".to_string())
}

/// A client for `registry` with the token from the environment variable `token_env` (none when
/// unset or empty: anonymous access, which works for public images).
pub fn client_from_env(registry: &str, token_env: &str) -> Result<RegistryClient, String> {
    let credentials =
        crate::secret::token_from_env(token_env).map(|t| Credentials::new(registry_username(), t));
    RegistryClient::new(registry, credentials)
}
