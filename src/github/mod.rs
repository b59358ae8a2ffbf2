//! The GitHub Packages REST API: list packages and versions, delete and restore versions, within
//! GitHub's rate limits.
//!
//! - [`client`]: the HTTP layer (headers, token, pacing, retries, rate-limit headers);
//! - [`pacer`]: at most 900 points a minute per endpoint, few requests in flight;
//! - [`scope`]: organisation, user or the token's own user, and percent-encoded paths;
//! - [`packages`]: the endpoints; [`fetch`]: an inventory from them;
//! - [`error`]: errors with context and the permissions a token needs.
//!
//! The token comes from an environment variable (`--token-env`, default `GITHUB_TOKEN`) and the
//! base URL from `GITHUB_API_URL` (default `https://api.github.com`; GitHub Enterprise Server
//! works the same way). The token is sent only to the base's origin and never logged.

pub mod client;
pub mod error;
pub mod fetch;
pub mod pacer;
pub mod packages;
pub mod scope;

pub use client::{GithubClient, RateBudget, DEFAULT_API_URL};
pub use error::{ApiError, ApiErrorKind};
pub use fetch::{fetch_inventory, fetch_inventory_paged, RawInventory};
pub use pacer::Pacer;
pub use packages::Done;
pub use scope::{discover, Scope};

/// The API base: `GITHUB_API_URL`, else `https://api.github.com`.
pub fn api_url_from_env() -> String {
    std::env::var("GITHUB_API_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_API_URL.to_string())
}

/// A client for the API base from the environment, with the token from the variable `token_env`
/// (none when unset or empty: the API then answers 401 for what needs one).
pub fn client_from_env(token_env: &str) -> Result<GithubClient, ApiError> {
    let token = crate::secret::token_from_env(token_env);
    if token.is_none() {
        tracing::warn!("the environment variable {token_env} is not set: calling the GitHub API without a token");
    }
    GithubClient::new(&api_url_from_env(), token, Pacer::github())
}

/// The owner: `--owner`, else the policy's `owner`, else `GITHUB_REPOSITORY_OWNER`.
pub fn resolve_owner(flag: Option<&str>, policy_owner: Option<&str>) -> Option<String> {
    flag.map(str::to_string)
        .or_else(|| policy_owner.map(str::to_string))
        .or_else(|| std::env::var("GITHUB_REPOSITORY_OWNER").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
