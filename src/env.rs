//! The environment variables the program reads, by name, in one place.
//!
//! A runner sets most of them (GitHub Actions' default variables); the `RETENTION_*` ones are
//! the program's own. Naming each once keeps a typo from silently reading nothing, and makes
//! "what does it read from the environment?" one file to look at. Public so that the
//! integration tests can set them by the same names.

// GitHub Actions' default variables (docs.github.com, "Variables").

/// `true` in a GitHub Actions runner: annotations, outputs and the job summary are written.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// The file a step's outputs are appended to.
pub const GITHUB_OUTPUT: &str = "GITHUB_OUTPUT";
/// The file a step's job summary (Markdown) is appended to.
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
/// The runner's temporary directory (the plan file of a run in Actions).
pub const RUNNER_TEMP: &str = "RUNNER_TEMP";
/// The checked-out repository.
pub const GITHUB_WORKSPACE: &str = "GITHUB_WORKSPACE";
/// The GitHub instance (`https://github.com`, a GHES host): the default registry and run links.
pub const GITHUB_SERVER_URL: &str = "GITHUB_SERVER_URL";
/// The REST API of the instance; default `https://api.github.com`.
pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
/// `OWNER/NAME` of the workflow's repository (run links).
pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
/// The owner of the workflow's repository: the default `--owner`.
pub const GITHUB_REPOSITORY_OWNER: &str = "GITHUB_REPOSITORY_OWNER";
/// The workflow run's id (run links, the run named in a placeholder).
pub const GITHUB_RUN_ID: &str = "GITHUB_RUN_ID";
/// The attempt of the workflow run.
pub const GITHUB_RUN_ATTEMPT: &str = "GITHUB_RUN_ATTEMPT";
/// The user who started the run: the registry user name, after `RETENTION_REGISTRY_USER`.
pub const GITHUB_ACTOR: &str = "GITHUB_ACTOR";
/// The variable the token is read from unless `--token-env` names another.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";

// The program's own.

/// The manifest cache directory (`--cache-dir`).
pub const RETENTION_CACHE_DIR: &str = "RETENTION_CACHE_DIR";
/// The user name sent to the registry with the token (ghcr.io accepts any).
pub const RETENTION_REGISTRY_USER: &str = "RETENTION_REGISTRY_USER";
/// Tests only: scales every backoff and pause (`0.001` makes a minute 60 ms).
pub const RETENTION_TEST_TIME_SCALE: &str = "RETENTION_TEST_TIME_SCALE";
/// Tests only: the HTTP timeout of the API client, in milliseconds.
pub const RETENTION_TEST_HTTP_TIMEOUT_MS: &str = "RETENTION_TEST_HTTP_TIMEOUT_MS";

// Conventions.

/// Set and not empty: no colour in the output (no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";
