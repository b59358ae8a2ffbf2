//! Errors of the GitHub client: what was being done, what GitHub said, and what the user can do.
//!
//! Messages never contain the token (it is never formatted anywhere). GitHub often answers a
//! missing permission with 404 "Package not found." rather than 403: the hints say so.

use chrono::{DateTime, Utc};

/// What kind of failure, so that callers can decide (stop, skip, retry later).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// 401: no token, or a bad or expired one.
    Unauthorized,
    /// 403 that is not a rate limit: the token lacks a permission.
    Forbidden,
    /// 404: not there, or not visible to this token.
    NotFound,
    /// 400 / 422: GitHub refuses (last tagged version, over 5,000 downloads, bad request).
    Refused,
    /// The primary rate limit is spent; it resets at the given time.
    RateLimited { reset: Option<DateTime<Utc>> },
    /// GitHub's secondary limit asked for a longer wait than a run makes (until then), or kept
    /// answering after every wait (`None`).
    SecondaryLimited { until: Option<DateTime<Utc>> },
    /// The API answered with a redirect, which is never followed.
    Redirected,
    /// The request was not sent: what had to happen first (the journal line) failed.
    Aborted,
    /// 5xx after all retries.
    Server,
    /// Network failures (resets, timeouts) after all retries.
    Network,
    /// A response that is not what the API documents.
    Decode,
    /// Our own configuration (bad base URL, missing owner).
    Config,
}

/// A failed API call.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub kind: ApiErrorKind,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// What was being done: "listing the versions of container package tools/cli of acme".
    pub context: String,
    /// GitHub's `message`, or the network error.
    pub message: String,
    /// What to do about it; empty when nothing useful can be said.
    pub hint: String,
}

impl ApiError {
    pub fn new(
        kind: ApiErrorKind,
        context: impl Into<String>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            kind,
            status: None,
            context: context.into(),
            message: message.into(),
            hint: String::new(),
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> ApiError {
        self.hint = hint.into();
        self
    }

    pub fn with_status(mut self, status: u16) -> ApiError {
        self.status = Some(status);
        self
    }

    /// Whether this error is about permissions (the run should stop and explain).
    pub fn is_permission(&self) -> bool {
        matches!(
            self.kind,
            ApiErrorKind::Unauthorized | ApiErrorKind::Forbidden
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: ", self.context)?;
        if let Some(s) = self.status {
            write!(f, "HTTP {s}: ")?;
        }
        f.write_str(&self.message)?;
        if let ApiErrorKind::RateLimited { reset: Some(r) } = &self.kind {
            write!(f, " (the rate limit resets at {})", r.to_rfc3339())?;
        }
        if let ApiErrorKind::SecondaryLimited { until: Some(u) } = &self.kind {
            write!(
                f,
                " (run again after {})",
                u.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )?;
        }
        if !self.hint.is_empty() {
            write!(f, "\n  help: {}", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// The permissions to read packages.
pub const READ_HINT: &str = "the token needs to see these packages: a personal access token (classic) with `read:packages` (and `repo` for npm, maven, rubygems and nuget packages), or the workflow token with `permissions: packages: read`; GitHub answers 404 \"Package not found.\" when a token lacks permission, not only when the package does not exist";

/// The permissions to delete package versions.
pub const DELETE_HINT: &str = "deleting needs the workflow token with `permissions: packages: write` (and the repository must administer the package: Package settings > Manage Actions access > Admin) or a personal access token (classic) with `read:packages` and `delete:packages` (and `repo` for npm, maven, rubygems and nuget packages)";

/// The permissions to restore package versions.
pub const RESTORE_HINT: &str = "restoring needs the workflow token with `permissions: packages: write` or a personal access token (classic) with `read:packages` and `write:packages`; GitHub restores a version only within 30 days of its deletion, and not once the same name was pushed again";

/// A workflow token cannot list an owner's packages.
pub const LIST_HINT: &str = "this token cannot list the owner's packages: the workflow token (GITHUB_TOKEN) never can. With such a token a policy must name its packages exactly, without globs or exclusions (packages: { names: [\"api\", \"tools/cli\"] }); or use a personal access token with `read:packages`";

/// Configuration is a usage error (1); a secondary rate limit that outlasts the run is partial
/// (3: nothing is wrong, it is too early); the rest are run errors (2).
impl From<ApiError> for crate::outcome::Failure {
    fn from(e: ApiError) -> crate::outcome::Failure {
        use crate::outcome::Failure;
        let message = e.to_string();
        let failure = match e.kind {
            ApiErrorKind::Config => Failure::usage(message),
            ApiErrorKind::SecondaryLimited { .. } => Failure::partial(message),
            _ => Failure::run(message),
        };
        failure.caused_by(e)
    }
}

#[cfg(test)]
mod tests {
    use super::{ApiError, ApiErrorKind};
    use crate::outcome::Failure;

    fn code(f: impl Into<Failure>) -> (u8, String) {
        let f = f.into();
        (f.code().exit(), f.to_string())
    }

    #[test]
    fn api_errors_keep_their_exit_codes() {
        let api = |kind| ApiError::new(kind, "listing the packages of acme", "boom");
        assert_eq!(
            code(api(ApiErrorKind::Config)),
            (1, "error: listing the packages of acme: boom".to_string())
        );
        assert_eq!(
            code(api(ApiErrorKind::SecondaryLimited { until: None })).0,
            3
        );
        assert_eq!(
            code(api(ApiErrorKind::Forbidden)),
            (2, "error: listing the packages of acme: boom".to_string())
        );
    }
}
