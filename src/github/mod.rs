//! The GitHub Packages REST API: list packages and versions, delete and restore versions, within
//! GitHub's rate limits.
//!
//! - [`client`]: the HTTP layer (headers, token, pacing, retries, rate-limit headers);
//! - [`pacer`]: reads at most 900 points a minute per endpoint; deletions at one a second (or
//!   `--deletions-per-minute`), lowered to what GitHub accepts when it refuses;
//! - [`memory`]: the pace a run learned, remembered per API host and owner;
//! - [`scope`]: organisation, user or the token's own user, and percent-encoded paths;
//! - [`packages`]: the endpoints; [`fetch`]: an inventory from them;
//! - [`error`]: errors with context and the permissions a token needs.
//!
//! The token comes from an environment variable (`--token-env`, default `GITHUB_TOKEN`) and the
//! base URL from `GITHUB_API_URL` (default `https://api.github.com`; GitHub Enterprise Server
//! works the same way), both read once per run by `cli::settings`. The token is sent only
//! to the base's origin and never logged.

pub mod client;
pub mod error;
pub mod fetch;
pub mod memory;
pub mod pacer;
pub mod packages;
pub mod scope;

pub use client::{GithubClient, RateBudget, DEFAULT_API_URL};
pub use error::{ApiError, ApiErrorKind};
pub use fetch::{fetch_inventory, fetch_inventory_paged, RawInventory};
pub use memory::PaceMemory;
pub use pacer::{PaceSummary, Pacer};
pub use packages::Done;
pub use scope::{discover, Scope};
