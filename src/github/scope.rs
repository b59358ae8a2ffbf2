//! The owner scope: an organisation (`/orgs/{org}`), another user (`/users/{user}`) or the token's
//! own user (`/user`, which also sees private packages). Found by asking, not guessed.
//!
//! `GET /users/{owner}` says whether the owner is an Organization or a User; for a user,
//! `GET /user` says whether it is the token's own. A workflow token may be refused these: then
//! `GET /orgs/{owner}` decides between an organisation and a user.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::client::GithubClient;
use super::error::ApiError;

/// Characters kept as they are in a path segment: the unreserved ones. Everything else,
/// `/` included, is percent-encoded (`tools/cli` -> `tools%2Fcli`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode one path segment.
pub fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Where an owner's packages live in the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "login", rename_all = "lowercase")]
pub enum Scope {
    Org(String),
    User(String),
    /// The token's own user (`/user/...`).
    Me(String),
}

impl Scope {
    /// The path prefix: `/orgs/acme`, `/users/bob` or `/user`.
    pub fn prefix(&self) -> String {
        match self {
            Scope::Org(o) => format!("/orgs/{}", encode_segment(o)),
            Scope::User(u) => format!("/users/{}", encode_segment(u)),
            Scope::Me(_) => "/user".to_string(),
        }
    }

    /// The owner's login.
    pub fn owner(&self) -> &str {
        match self {
            Scope::Org(s) | Scope::User(s) | Scope::Me(s) => s,
        }
    }

    /// How the journal names the scope: the path prefix.
    pub fn journal_name(&self) -> String {
        self.prefix()
    }

    /// The scope a journal line names (`/orgs/acme`, `/users/bob`, `/user`) for `owner`.
    pub fn from_journal(name: &str, owner: &str) -> Option<Scope> {
        if name == "/user" {
            Some(Scope::Me(owner.to_string()))
        } else if name.starts_with("/orgs/") {
            Some(Scope::Org(owner.to_string()))
        } else if name.starts_with("/users/") {
            Some(Scope::User(owner.to_string()))
        } else {
            None
        }
    }

    /// The path of a package: `{prefix}/packages/{type}/{name}`.
    pub fn package_path(&self, package_type: &str, name: &str) -> String {
        format!(
            "{}/packages/{}/{}",
            self.prefix(),
            encode_segment(package_type),
            encode_segment(name)
        )
    }

    /// The path of a version.
    pub fn version_path(&self, package_type: &str, name: &str, id: u64) -> String {
        format!("{}/versions/{id}", self.package_path(package_type, name))
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Org(o) => write!(f, "organization {o}"),
            Scope::User(u) => write!(f, "user {u}"),
            Scope::Me(u) => write!(f, "user {u} (the token's own)"),
        }
    }
}

#[derive(Deserialize)]
struct Account {
    login: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// Find the scope of `owner`.
pub async fn discover(client: &GithubClient, owner: &str) -> Result<Scope, ApiError> {
    let context = format!("finding out whether {owner} is an organization or a user");
    if crate::inventory::is_dot_segment(owner) {
        // `/users/..` would be normalised to another path, and every request after it too.
        return Err(ApiError::new(
            super::error::ApiErrorKind::Config,
            context,
            format!("`{owner}` is not a user or organization"),
        )
        .with_hint("`.` and `..` would be dropped from the requests' paths: pass the owner's login with --owner, `owner:` in the policy or GITHUB_REPOSITORY_OWNER"));
    }
    let url = client.url(&format!("/users/{}", encode_segment(owner)))?;
    let resp = client
        .request(Method::GET, url, "GET user", 1, &context)
        .await?;
    let kind = if resp.status.is_success() {
        serde_json::from_slice::<Account>(&resp.body)
            .ok()
            .and_then(|a| a.kind)
    } else {
        // Say what failed rather than guess "user" and fail later with a misleading context.
        return Err(discovery_error(&resp, &context, owner));
    };
    if kind.as_deref() == Some("Organization") {
        return Ok(Scope::Org(owner.to_string()));
    }
    // A user (or unknown): is it the token's own?
    let url = client.url("/user")?;
    let me = client
        .request(Method::GET, url, "GET me", 1, &context)
        .await?;
    if me.status.is_success() {
        if let Ok(a) = serde_json::from_slice::<Account>(&me.body) {
            if a.login.eq_ignore_ascii_case(owner) {
                return Ok(Scope::Me(owner.to_string()));
            }
        }
    }
    if kind.as_deref() == Some("User") {
        return Ok(Scope::User(owner.to_string()));
    }
    // Neither answer said: ask the organisations endpoint.
    let url = client.url(&format!("/orgs/{}", encode_segment(owner)))?;
    let org = client
        .request(Method::GET, url, "GET org", 1, &context)
        .await?;
    if org.status.is_success() {
        Ok(Scope::Org(owner.to_string()))
    } else {
        tracing::debug!("{owner}: not found as an organization either; using /users/{owner}");
        Ok(Scope::User(owner.to_string()))
    }
}

/// The error for a failed `GET /users/{owner}`: a bad token, an unknown owner, or what GitHub said.
fn discovery_error(resp: &super::client::ApiResponse, context: &str, owner: &str) -> ApiError {
    use super::error::ApiErrorKind;
    let (kind, hint) = match resp.status.as_u16() {
        401 => (
            ApiErrorKind::Unauthorized,
            "the token was not accepted: is it set (--token-env, default GITHUB_TOKEN) and not expired?".to_string(),
        ),
        404 => (
            ApiErrorKind::Config,
            format!("GitHub knows no user or organization named `{owner}`: check `owner:` in the policy, --owner or GITHUB_REPOSITORY_OWNER"),
        ),
        403 => (ApiErrorKind::Forbidden, "GitHub refused to say what this owner is; check the token".to_string()),
        _ => (ApiErrorKind::Decode, String::new()),
    };
    ApiError::new(kind, context, resp.message())
        .with_status(resp.status.as_u16())
        .with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_slashes_are_encoded() {
        let s = Scope::Org("acme".into());
        assert_eq!(
            s.version_path("container", "tools/cli", 7),
            "/orgs/acme/packages/container/tools%2Fcli/versions/7"
        );
        assert_eq!(Scope::Me("bob".into()).prefix(), "/user");
        assert_eq!(encode_segment("a b@c"), "a%20b%40c");
    }

    #[test]
    fn journal_names_round_trip() {
        for s in [
            Scope::Org("a".into()),
            Scope::User("a".into()),
            Scope::Me("a".into()),
        ] {
            assert_eq!(Scope::from_journal(&s.journal_name(), "a"), Some(s));
        }
    }
}
