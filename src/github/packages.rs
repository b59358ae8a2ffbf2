//! The Packages endpoints: list and get packages and versions, delete and restore versions.
//!
//! Lists use `per_page=100` and follow `Link: rel="next"`. Objects are returned as GitHub sent
//! them (`serde_json::Value`), so that a snapshot keeps them unchanged. Each function gives its
//! errors a context (which owner, package, version) and a hint on the permissions needed.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::client::{ApiResponse, GithubClient};
use super::error::{ApiError, ApiErrorKind, DELETE_HINT, LIST_HINT, READ_HINT, RESTORE_HINT};
use super::scope::Scope;

/// What became of a DELETE or a restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Done {
    /// 204 (or 200): done now.
    Now,
    /// 404 "Package version not found.": already gone (deleted meanwhile by someone else, or by
    /// an earlier run whose answer was lost; ghcr.io does not cascade an index's deletion).
    AlreadyGone(String),
    /// 400/409/422: GitHub refuses, with its message (last tagged version, over 5,000 downloads,
    /// restore after 30 days or after a re-push).
    Refused(String),
}

/// An error for an unexpected answer, with the permission hint that fits it.
fn answer_error(resp: &ApiResponse, context: &str, permission_hint: &str) -> ApiError {
    let status = resp.status.as_u16();
    let message = resp.message();
    let kind = match resp.status {
        StatusCode::UNAUTHORIZED => ApiErrorKind::Unauthorized,
        StatusCode::FORBIDDEN => ApiErrorKind::Forbidden,
        StatusCode::NOT_FOUND => ApiErrorKind::NotFound,
        StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
            ApiErrorKind::Refused
        }
        s if s.is_server_error() => ApiErrorKind::Server,
        _ => ApiErrorKind::Decode,
    };
    let message = if resp.status.is_success() {
        format!("{message} (an unexpected success status: not counted as done; GitHub answers 204)")
    } else {
        message
    };
    let hint = match kind {
        ApiErrorKind::Unauthorized => format!("the token was not accepted: is it set (--token-env, default GITHUB_TOKEN) and not expired? {permission_hint}"),
        ApiErrorKind::Forbidden | ApiErrorKind::NotFound => permission_hint.to_string(),
        _ => String::new(),
    };
    ApiError::new(kind, context, message)
        .with_status(status)
        .with_hint(hint)
}

fn parse_json(resp: &ApiResponse, context: &str) -> Result<Value, ApiError> {
    serde_json::from_slice(&resp.body).map_err(|e| {
        ApiError::new(
            ApiErrorKind::Decode,
            context,
            format!("the answer is not JSON: {e}"),
        )
    })
}

/// GET every page of a list, following `Link: rel="next"`.
async fn get_all(
    client: &GithubClient,
    first: &str,
    endpoint: &str,
    context: &str,
    permission_hint: &str,
) -> Result<Vec<Value>, ApiError> {
    get_all_with(
        client,
        first,
        endpoint,
        context,
        permission_hint,
        &mut |_, _| {},
    )
    .await
}

/// [`get_all`], calling `on_page(items so far, where this page starts)` after each page.
async fn get_all_with(
    client: &GithubClient,
    first: &str,
    endpoint: &str,
    context: &str,
    permission_hint: &str,
    on_page: &mut (dyn FnMut(&[Value], usize) + Send),
) -> Result<Vec<Value>, ApiError> {
    let mut url = client.url(first)?;
    let mut items = Vec::new();
    loop {
        let resp = client
            .request(Method::GET, url, endpoint, 1, context)
            .await?;
        if !resp.status.is_success() {
            return Err(answer_error(&resp, context, permission_hint));
        }
        match parse_json(&resp, context)? {
            Value::Array(page) => {
                let start = items.len();
                items.extend(page);
                on_page(&items, start);
            }
            other => {
                return Err(ApiError::new(
                    ApiErrorKind::Decode,
                    context,
                    format!("expected a list, got {}", kind_of(&other)),
                ))
            }
        }
        match resp.next {
            Some(next) => url = next,
            None => return Ok(items),
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "an object",
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    }
}

/// Every package of `package_type` of the scope's owner.
pub async fn list_packages(
    client: &GithubClient,
    scope: &Scope,
    package_type: &str,
) -> Result<Vec<Value>, ApiError> {
    let context = format!("listing the {package_type} packages of {scope}");
    let first = format!(
        "{}/packages?package_type={package_type}&per_page=100",
        scope.prefix()
    );
    get_all(client, &first, "GET packages", &context, READ_HINT)
        .await
        .map_err(|e| match e.kind {
            ApiErrorKind::Forbidden | ApiErrorKind::NotFound => e.with_hint(LIST_HINT),
            _ => e,
        })
}

/// One package, by name (no listing: this works with the workflow token).
pub async fn get_package(
    client: &GithubClient,
    scope: &Scope,
    package_type: &str,
    name: &str,
) -> Result<Value, ApiError> {
    let context = format!("getting {package_type} package {name} of {scope}");
    let url = client.url(&scope.package_path(package_type, name))?;
    let resp = client
        .request(Method::GET, url, "GET package", 1, &context)
        .await?;
    if !resp.status.is_success() {
        let e = answer_error(&resp, &context, READ_HINT);
        return Err(if e.kind == ApiErrorKind::NotFound {
            e.with_hint(format!(
                "check the name in the policy (exact, case-sensitive) and the owner; {READ_HINT}"
            ))
        } else {
            e
        });
    }
    parse_json(&resp, &context)
}

/// Every (active) version of a package.
pub async fn list_versions(
    client: &GithubClient,
    scope: &Scope,
    package_type: &str,
    name: &str,
) -> Result<Vec<Value>, ApiError> {
    list_versions_paged(client, scope, package_type, name, &mut |_, _| {}).await
}

/// [`list_versions`], calling `on_page(versions so far, where this page starts)` after each
/// page, so that a caller can start work on a page while the next one is listed.
pub async fn list_versions_paged(
    client: &GithubClient,
    scope: &Scope,
    package_type: &str,
    name: &str,
    on_page: &mut (dyn FnMut(&[Value], usize) + Send),
) -> Result<Vec<Value>, ApiError> {
    let context = format!("listing the versions of {package_type} package {name} of {scope}");
    let first = format!(
        "{}/versions?per_page=100&state=active",
        scope.package_path(package_type, name)
    );
    get_all_with(client, &first, "GET versions", &context, READ_HINT, on_page).await
}

/// The first page of a package's versions (newest first, 100 of them): where a version pushed
/// a moment ago is found, for one request.
pub async fn first_versions_page(
    client: &GithubClient,
    scope: &Scope,
    package_type: &str,
    name: &str,
) -> Result<Vec<Value>, ApiError> {
    let context =
        format!("listing the newest versions of {package_type} package {name} of {scope}");
    let url = client.url(&format!(
        "{}/versions?per_page=100&state=active",
        scope.package_path(package_type, name)
    ))?;
    let resp = client
        .request(Method::GET, url, "GET versions", 1, &context)
        .await?;
    if !resp.status.is_success() {
        return Err(answer_error(&resp, &context, READ_HINT));
    }
    match parse_json(&resp, &context)? {
        Value::Array(page) => Ok(page),
        other => Err(ApiError::new(
            ApiErrorKind::Decode,
            context,
            format!("expected a list, got {}", kind_of(&other)),
        )),
    }
}

/// One version; `None` when it is gone (404 "Package version not found.").
pub async fn get_version(
    client: &GithubClient,
    scope: &Scope,
    package_type: &str,
    name: &str,
    id: u64,
) -> Result<Option<Value>, ApiError> {
    let context = format!("re-reading version {id} of {package_type} package {name} of {scope}");
    let url = client.url(&scope.version_path(package_type, name, id))?;
    let resp = client
        .request(Method::GET, url, "GET version", 1, &context)
        .await?;
    if resp.status == StatusCode::NOT_FOUND && is_version_not_found(&resp) {
        return Ok(None);
    }
    if !resp.status.is_success() {
        return Err(answer_error(&resp, &context, READ_HINT));
    }
    parse_json(&resp, &context).map(Some)
}

/// Whether a 404 is about the version (gone) rather than the package (missing permission).
fn is_version_not_found(resp: &ApiResponse) -> bool {
    resp.message()
        .to_ascii_lowercase()
        .contains("version not found")
}

/// DELETE a version; `before_send` runs when the request is about to go out (the executor
/// journals `attempted` there). Only 204 from the requested URL is a deletion (no redirect is
/// followed); another 2xx is an error, never counted as deleted.
pub async fn delete_version(
    client: &GithubClient,
    scope: &Scope,
    package_type: &str,
    name: &str,
    id: u64,
    label: &str,
    before_send: &crate::github::client::BeforeSend<'_>,
) -> Result<Done, ApiError> {
    let context =
        format!("deleting version {label} (id {id}) of {package_type} package {name} of {scope}");
    let url = client.url(&scope.version_path(package_type, name, id))?;
    let resp = client
        .request_then(
            Method::DELETE,
            url,
            "DELETE version",
            5,
            &context,
            before_send,
        )
        .await?;
    match resp.status {
        StatusCode::NO_CONTENT => Ok(Done::Now),
        StatusCode::NOT_FOUND if is_version_not_found(&resp) => {
            Ok(Done::AlreadyGone(resp.message()))
        }
        StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
            Ok(Done::Refused(resp.message()))
        }
        _ => Err(answer_error(&resp, &context, DELETE_HINT)),
    }
}

/// POST …/versions/{id}/restore.
pub async fn restore_version(
    client: &GithubClient,
    scope: &Scope,
    package_type: &str,
    name: &str,
    id: u64,
    label: &str,
) -> Result<Done, ApiError> {
    let context =
        format!("restoring version {label} (id {id}) of {package_type} package {name} of {scope}");
    let url = client.url(&format!(
        "{}/restore",
        scope.version_path(package_type, name, id)
    ))?;
    let resp = client
        .request(Method::POST, url, "POST restore", 5, &context)
        .await?;
    match resp.status {
        StatusCode::NO_CONTENT => Ok(Done::Now),
        StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
            Ok(Done::Refused(resp.message()))
        }
        StatusCode::NOT_FOUND if is_version_not_found(&resp) => Ok(Done::Refused(format!(
            "{} (restorable only within 30 days of the deletion, and not after the same version was pushed again)",
            resp.message()
        ))),
        _ => Err(answer_error(&resp, &context, RESTORE_HINT)),
    }
}
