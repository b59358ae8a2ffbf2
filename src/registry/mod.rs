//! The container registry: read image manifests (the OCI distribution API), verified by digest,
//! cached on disk, and only those a decision can depend on.
//!
//! - [`client`]: `GET /v2/<owner>/<image>/manifests/<digest>` with ghcr.io's authentication
//!   (Bearer token from the realm, or Basic), retries on 429/5xx, and sha256 verification;
//! - [`cache`]: manifests on disk by digest (temp file + rename; bounded; LRU eviction);
//! - [`fill`]: [`fill_manifests`] puts the manifests a decision needs into an inventory;
//! - [`push`]: the writes that remove a tag (a placeholder manifest under it) and put it back.
//!
//! What is read and why is written down in docs/registry.md.

pub mod auth;
pub mod cache;
pub mod client;
pub mod fill;
pub mod origin;
pub mod push;
pub mod retry;

pub use auth::{Credentials, Secret};
pub use cache::ManifestCache;
pub use client::{repository_for, ErrorKind, ManifestError, RegistryClient};
pub use fill::{fill_manifests, fill_manifests_scoped, FillReport, FillScope};
pub use retry::RetryPolicy;

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
    let credentials = std::env::var(token_env)
        .ok()
        .filter(|t| !t.is_empty())
        .map(|t| Credentials::new(registry_username(), Secret::new(t)));
    RegistryClient::new(registry, credentials)
}
