//! The ghcr.io side of the local GitHub server (tests/it/support/github_server.rs): the OCI
//! distribution API under `/v2/` and its token realm `/token`, sharing the server's packages, so
//! that a manifest PUT under a tag does what it does on ghcr.io: it moves the tag to the package
//! version of the pushed digest (a new version, listed first, when the digest is new), and the
//! version that held the tag loses it. Deleting a version through the API deletes its manifest
//! and the tags naming it.
//!
//! Authentication as ghcr.io: 401 with `WWW-Authenticate: Bearer realm=…/token,service,scope`;
//! the realm takes Basic `USER:TOKEN` (the server's token, any user) and grants `pull`, and
//! `push` when asked and [`super::Config::registry_push`] allows (a token with `packages: write`).
//! A write with a token lacking push is answered 403 DENIED, as ghcr.io does.
//!
//! Storage: in memory (manifests seeded from the inventory's `manifests`, tags from the
//! versions), or a real registry ([`super::Config::registry_upstream`]) that every request is
//! forwarded to after authentication, its `Location` headers made relative.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode};
use base64::Engine;
use serde_json::{json, Value};
use sha2::Digest as _;

use super::{lock, record, tags_of, PackageState, State, VersionState};

/// The registry's own state.
#[derive(Default)]
pub struct Face {
    /// token -> (repository, may push)
    tokens: HashMap<String, (String, bool)>,
    issued: u64,
    /// repository -> blob digests (in-memory storage)
    blobs: HashMap<String, HashSet<String>>,
    /// digest -> (media type, bytes) (in-memory storage)
    manifests: HashMap<String, (String, Vec<u8>)>,
    uploads: u64,
    /// Manifests to delete on the upstream registry (versions deleted through the API).
    pub(super) upstream_deletes: Vec<(String, String)>,
}

/// Store the inventory's manifests (and, as present, the blobs they name).
pub(super) fn seed(face: &mut Face, inventory: &Value) {
    let owner = inventory["owner"].as_str().unwrap_or("acme");
    for p in inventory["packages"].as_array().into_iter().flatten() {
        let repo =
            format!("{owner}/{}", p["package"]["name"].as_str().unwrap_or("")).to_lowercase();
        if let Some(m) = p["manifests"].as_object() {
            for (digest, text) in m {
                if let Some(t) = text.as_str() {
                    let parsed = serde_json::from_str::<Value>(t).unwrap_or(Value::Null);
                    let media = parsed["mediaType"].as_str().unwrap_or("").to_string();
                    let blobs = std::iter::once(&parsed["config"])
                        .chain(parsed["layers"].as_array().into_iter().flatten())
                        .filter_map(|b| b["digest"].as_str().map(str::to_string));
                    face.blobs.entry(repo.clone()).or_default().extend(blobs);
                    face.manifests
                        .insert(digest.clone(), (media, t.as_bytes().to_vec()));
                }
            }
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn registry_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(
        json!({"errors": [{"code": code, "message": message}]}).to_string(),
    ));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// What a `/v2/` path names.
enum Target {
    Base,
    Manifest(String, String),
    BlobUploads(String),
    BlobUpload(String, String),
    Blob(String, String),
    Unknown,
}

fn parse(path: &str) -> Target {
    let Some(rest) = path.strip_prefix("/v2/") else {
        return Target::Unknown;
    };
    if rest.is_empty() {
        return Target::Base;
    }
    if let Some((repo, reference)) = rest.split_once("/manifests/") {
        return Target::Manifest(repo.to_string(), reference.to_string());
    }
    if let Some((repo, upload)) = rest.split_once("/blobs/uploads/") {
        return if upload.is_empty() {
            Target::BlobUploads(repo.to_string())
        } else {
            Target::BlobUpload(repo.to_string(), upload.to_string())
        };
    }
    if let Some(repo) = rest.strip_suffix("/blobs/uploads") {
        return Target::BlobUploads(repo.to_string());
    }
    if let Some((repo, digest)) = rest.split_once("/blobs/") {
        return Target::Blob(repo.to_string(), digest.to_string());
    }
    Target::Unknown
}

/// Serve a `/v2/` or `/token` request.
pub(super) async fn handle(state: &Arc<Mutex<State>>, req: Request<Body>) -> Response<Body> {
    let super::Parts {
        method,
        path,
        query,
        host,
        auth,
    } = super::parts(&req);
    let target = parse(&path);
    let endpoint = format!(
        "registry {method} {}",
        match &target {
            Target::Base => "base",
            Target::Manifest(..) => "manifest",
            Target::BlobUploads(_) | Target::BlobUpload(..) => "upload",
            Target::Blob(..) => "blob",
            Target::Unknown if path == "/token" => "token",
            Target::Unknown => "unknown",
        }
    );
    let response = if path == "/token" {
        token(state, &query, auth.as_deref())
    } else {
        let repo = match &target {
            Target::Manifest(r, _)
            | Target::BlobUploads(r)
            | Target::BlobUpload(r, _)
            | Target::Blob(r, _) => r.clone(),
            _ => String::new(),
        };
        let write = !(method == Method::GET || method == Method::HEAD);
        match authorize(state, &repo, write, auth.as_deref(), &host) {
            Some(refusal) => refusal,
            None => {
                let content_type = req
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let accept = req
                    .headers()
                    .get("accept")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = axum::body::to_bytes(req.into_body(), 16 * 1024 * 1024)
                    .await
                    .unwrap_or_default()
                    .to_vec();
                let upstream = lock(state).config.registry_upstream.clone();
                let r = match upstream {
                    Some(u) => {
                        forward(&u, &method, &path, &query, &content_type, accept, &body).await
                    }
                    None => serve(state, &method, &target, &query, &content_type, &body),
                };
                // A manifest stored under a tag moves the tag (the bookkeeping of ghcr.io).
                if let (Target::Manifest(repo, reference), true) = (
                    &target,
                    method == Method::PUT && r.status() == StatusCode::CREATED,
                ) {
                    moved(state, repo, reference, &body);
                }
                r
            }
        }
    };
    record(
        state,
        &method,
        &path,
        &query,
        auth.is_some(),
        response.status().as_u16(),
        &endpoint,
    );
    response
}

fn token(state: &Mutex<State>, query: &str, auth: Option<&str>) -> Response<Body> {
    let mut s = lock(state);
    let password = auth
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|up| up.split_once(':').map(|(_, p)| p.to_string()));
    let ok = match (&s.config.token, &password) {
        (Some(expected), Some(p)) => p == expected,
        (Some(_), None) => false,
        (None, _) => true,
    };
    if !ok {
        return registry_error(StatusCode::UNAUTHORIZED, "DENIED", "bad credentials");
    }
    let scope = super::query_param(query, "scope").unwrap_or_default();
    let (repo, actions) = scope
        .strip_prefix("repository:")
        .and_then(|r| r.rsplit_once(':'))
        .map(|(r, a)| (r.to_string(), a.to_string()))
        .unwrap_or_default();
    let push = actions.split(',').any(|a| a == "push") && s.config.registry_push;
    s.ghcr.issued += 1;
    let t = format!("ghcr-token-{}", s.ghcr.issued);
    s.ghcr.tokens.insert(t.clone(), (repo, push));
    let mut r = Response::new(Body::from(json!({"token": t}).to_string()));
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// `None` when the request may go on; else the 401 challenge or the 403 refusal.
fn authorize(
    state: &Mutex<State>,
    repo: &str,
    write: bool,
    auth: Option<&str>,
    host: &str,
) -> Option<Response<Body>> {
    let s = lock(state);
    let granted = auth
        .and_then(|a| a.strip_prefix("Bearer "))
        .and_then(|t| s.ghcr.tokens.get(t));
    let challenge = || {
        let actions = if write { "pull,push" } else { "pull" };
        let mut r = registry_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "authentication required",
        );
        let value = format!(
            r#"Bearer realm="http://{host}/token",service="ghcr.test",scope="repository:{repo}:{actions}""#
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            r.headers_mut().insert("www-authenticate", v);
        }
        Some(r)
    };
    match granted {
        None => challenge(),
        Some((r, _)) if !repo.is_empty() && r != repo => challenge(),
        Some((_, push)) if write && !push => Some(registry_error(
            StatusCode::FORBIDDEN,
            "DENIED",
            "permission_denied: write_package",
        )),
        Some(_) => None,
    }
}

/// Forward to the real registry; `Location` is made relative so that the client stays here.
async fn forward(
    upstream: &str,
    method: &Method,
    path: &str,
    query: &str,
    content_type: &str,
    accept: Option<String>,
    body: &[u8],
) -> Response<Body> {
    let q = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    let client = reqwest::Client::new();
    let m = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut req = client.request(m, format!("{}{path}{q}", upstream.trim_end_matches('/')));
    if !content_type.is_empty() {
        req = req.header("content-type", content_type);
    }
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let answer = match req.body(body.to_vec()).send().await {
        Ok(a) => a,
        Err(e) => return registry_error(StatusCode::BAD_GATEWAY, "UNAVAILABLE", &e.to_string()),
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut headers = Vec::new();
    for h in [
        "content-type",
        "docker-content-digest",
        "location",
        "content-length",
    ] {
        if let Some(v) = answer.headers().get(h).and_then(|v| v.to_str().ok()) {
            let v = if h == "location" {
                match v
                    .split_once("://")
                    .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
                {
                    Some(rel) => rel.to_string(),
                    None => v.to_string(),
                }
            } else {
                v.to_string()
            };
            headers.push((h, v));
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut r = Response::new(Body::from(if *method == Method::HEAD {
        Vec::new()
    } else {
        bytes.to_vec()
    }));
    *r.status_mut() = status;
    for (h, v) in headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().insert(h, v);
        }
    }
    r
}

/// The in-memory registry.
fn serve(
    state: &Mutex<State>,
    method: &Method,
    target: &Target,
    query: &str,
    content_type: &str,
    body: &[u8],
) -> Response<Body> {
    let mut s = lock(state);
    match (method.as_str(), target) {
        ("GET", Target::Base) => Response::new(Body::from("{}")),
        ("HEAD" | "GET", Target::Blob(repo, digest)) => {
            let known = s.ghcr.blobs.get(repo).is_some_and(|b| b.contains(digest));
            if known {
                let mut r = Response::new(Body::empty());
                if let Ok(v) = HeaderValue::from_str(digest) {
                    r.headers_mut().insert("docker-content-digest", v);
                }
                r
            } else {
                registry_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "blob unknown")
            }
        }
        ("POST", Target::BlobUploads(repo)) => {
            s.ghcr.uploads += 1;
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::ACCEPTED;
            let location = format!("/v2/{repo}/blobs/uploads/u{}", s.ghcr.uploads);
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert("location", v);
            }
            r
        }
        ("PUT", Target::BlobUpload(repo, _)) => {
            let digest = super::query_param(query, "digest").unwrap_or_default();
            if sha256(body) != digest {
                return registry_error(
                    StatusCode::BAD_REQUEST,
                    "DIGEST_INVALID",
                    "digest mismatch",
                );
            }
            s.ghcr.blobs.entry(repo.clone()).or_default().insert(digest);
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::CREATED;
            r
        }
        ("HEAD" | "GET", Target::Manifest(repo, reference)) => {
            let digest = if reference.starts_with("sha256:") {
                Some(reference.clone())
            } else {
                tag_holder(&s, repo, reference).map(|v| v.name.clone())
            };
            if reference.starts_with("sha256:") && s.config.unreadable_manifests.contains(reference)
            {
                return registry_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UNKNOWN",
                    "unreadable (a fault of the test)",
                );
            }
            let live = digest
                .filter(|d| s.ghcr.manifests.contains_key(d) && !deleted_version(&s, repo, d));
            match live.and_then(|d| s.ghcr.manifests.get(&d).map(|m| (d, m.clone()))) {
                Some((d, (media, bytes))) => {
                    let mut r = Response::new(Body::from(if method == Method::HEAD {
                        Vec::new()
                    } else {
                        bytes
                    }));
                    for (h, v) in [("content-type", media), ("docker-content-digest", d)] {
                        if let Ok(v) = HeaderValue::from_str(&v) {
                            r.headers_mut().insert(h, v);
                        }
                    }
                    r
                }
                None => registry_error(
                    StatusCode::NOT_FOUND,
                    "MANIFEST_UNKNOWN",
                    "manifest unknown",
                ),
            }
        }
        ("PUT", Target::Manifest(repo, _)) => {
            let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let blobs = s.ghcr.blobs.get(repo).cloned().unwrap_or_default();
            let missing = parsed["config"]["digest"]
                .as_str()
                .into_iter()
                .chain(
                    parsed["layers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|l| l["digest"].as_str()),
                )
                .find(|d| !blobs.contains(*d));
            if let Some(d) = missing {
                return registry_error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN", d);
            }
            let digest = sha256(body);
            s.ghcr
                .manifests
                .insert(digest.clone(), (content_type.to_string(), body.to_vec()));
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::CREATED;
            if let Ok(v) = HeaderValue::from_str(&digest) {
                r.headers_mut().insert("docker-content-digest", v);
            }
            r
        }
        _ => registry_error(StatusCode::NOT_FOUND, "UNSUPPORTED", "not served here"),
    }
}

/// The package of a repository `owner/name…`.
fn package_index(s: &State, repo: &str) -> Option<usize> {
    let name = repo.split_once('/').map(|(_, n)| n)?;
    s.packages
        .iter()
        .position(|p| p.package_type == "container" && p.name.eq_ignore_ascii_case(name))
}

fn tag_holder<'a>(s: &'a State, repo: &str, tag: &str) -> Option<&'a VersionState> {
    let pi = package_index(s, repo)?;
    s.packages[pi]
        .versions
        .iter()
        .find(|v| !v.deleted && v.tags.iter().any(|t| t == tag))
}

/// Whether `digest` is a version of the repository's package that is deleted (and none live).
fn deleted_version(s: &State, repo: &str, digest: &str) -> bool {
    let Some(pi) = package_index(s, repo) else {
        return false;
    };
    let named: Vec<&VersionState> = s.packages[pi]
        .versions
        .iter()
        .filter(|v| v.name == digest)
        .collect();
    !named.is_empty() && named.iter().all(|v| v.deleted)
}

/// The version's tags, in its JSON and its state.
fn set_tags(v: &mut VersionState, tags: Vec<String>) {
    v.json["metadata"]["container"]["tags"] = json!(tags);
    v.tags = tags_of(&v.json);
}

/// `tag` now names the version of `digest`, and is taken from every other version, as a push
/// under a tag moves it on ghcr.io (no version of `digest` yet: it is only taken away).
pub(super) fn move_tag(pkg: &mut PackageState, tag: &str, digest: &str) {
    for v in pkg.versions.iter_mut().filter(|v| !v.deleted) {
        let has = v.tags.iter().any(|t| t == tag);
        if v.name == digest && !has {
            let mut tags = v.tags.clone();
            tags.push(tag.to_string());
            set_tags(v, tags);
        } else if v.name != digest && has {
            set_tags(v, v.tags.iter().filter(|t| *t != tag).cloned().collect());
        }
    }
}

/// A manifest was stored under `reference`: when it is a tag, move the tag to the version of the
/// manifest's digest (a new version, listed first, if there is none) as ghcr.io does.
fn moved(state: &Mutex<State>, repo: &str, reference: &str, body: &[u8]) {
    let mut s = lock(state);
    let Some(pi) = package_index(&s, repo) else {
        return;
    };
    let digest = sha256(body);
    let tag = (!reference.starts_with("sha256:")).then(|| reference.to_string());
    let next_id = s
        .packages
        .iter()
        .flat_map(|p| p.versions.iter().map(|v| v.id))
        .max()
        .unwrap_or(0)
        + 1;
    let owner = s.owner.clone();
    let pkg = &mut s.packages[pi];
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let kids: Vec<String> = parsed["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["digest"].as_str().map(str::to_string))
        .collect();
    if !kids.is_empty() {
        pkg.children.insert(digest.clone(), kids);
    }
    if let Some(tag) = &tag {
        move_tag(pkg, tag, &digest);
    }
    if pkg.versions.iter().any(|v| !v.deleted && v.name == digest) {
        return;
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let name = pkg.name.clone();
    let json = json!({
        "id": next_id, "name": digest,
        "url": format!("https://api.github.com/orgs/{owner}/packages/container/{name}/versions/{next_id}"),
        "package_html_url": format!("https://github.com/orgs/{owner}/packages/container/package/{name}"),
        "html_url": format!("https://github.com/orgs/{owner}/packages/container/{name}/{next_id}"),
        "created_at": now, "updated_at": now,
        "metadata": {"package_type": "container", "container": {"tags": tag.iter().collect::<Vec<_>>()}}
    });
    let v = VersionState {
        id: next_id,
        name: digest,
        tags: tags_of(&json),
        json,
        deleted: false,
    };
    // The API lists versions newest first.
    pkg.versions.insert(0, v);
}

/// The version named `digest` of `package` was deleted through the API: its tags go with it; on
/// a real registry its manifest is deleted (sent by [`flush_upstream_deletes`]).
pub(super) fn version_deleted(s: &mut State, package: usize, digest: &str) {
    if s.config.registry_upstream.is_some() {
        let repo = format!("{}/{}", s.owner, s.packages[package].name).to_lowercase();
        s.ghcr.upstream_deletes.push((repo, digest.to_string()));
    }
}

/// Delete on the real registry the manifests of versions deleted through the API.
pub(super) async fn flush_upstream_deletes(state: &Mutex<State>) {
    let (upstream, work) = {
        let mut s = lock(state);
        (
            s.config.registry_upstream.clone(),
            std::mem::take(&mut s.ghcr.upstream_deletes),
        )
    };
    let Some(upstream) = upstream else { return };
    let client = reqwest::Client::new();
    for (repo, digest) in work {
        let _ = client
            .delete(format!(
                "{}/v2/{repo}/manifests/{digest}",
                upstream.trim_end_matches('/')
            ))
            .send()
            .await;
    }
}
