//! A local server that behaves like the GitHub Packages REST API, for end-to-end tests and the
//! benchmark: it serves an inventory (an Inventory-shaped JSON, or one built with [`Fixture`])
//! under the org, user and own-user scopes, with pagination and `Link` headers, rate-limit headers,
//! GitHub's real refusal bodies, injected faults, a secondary limit of points per endpoint in a
//! sliding window (900 a minute as documented, or lower as GitHub really enforces it; one that
//! changes during a run, [`Config::limit_changes`]; violations counted and answered as GitHub
//! does, with a `retry-after` of 60 s or none, [`RetryAfter`]), restore and `state=deleted`, and
//! a mode where listing packages is refused (the workflow token). Like ghcr.io, it does NOT
//! cascade: deleting an index deletes that version only, and its platform manifests stay until
//! each is deleted by its own DELETE.
//! Every request is recorded (method, path, whether an Authorization header came).
//! It is also ghcr.io for its container packages (`/v2/`, `/token`: tests/it/support/ghcr_face.rs):
//! a manifest PUT under a tag moves the tag to a new package version, with push-scope tokens.
//!
//! Part of the `support` module of the integration tests (tests/it/support/mod.rs).
#![allow(dead_code)]

#[path = "ghcr_face.rs"]
mod ghcr;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{json, Value};

/// What the owner of the served packages is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerKind {
    Org,
    User,
}

/// A fault injected into one answer.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    Status500,
    Status502,
    /// 403 with `retry-after` and the secondary-limit JSON object body.
    Secondary403 {
        retry_after: u64,
    },
    /// 403 with the secondary-limit body and no `retry-after`.
    Secondary403NoRetryAfter,
    /// 429 with `retry-after`.
    TooMany429 {
        retry_after: u64,
    },
    /// The connection is closed without an answer.
    Reset,
    /// The answer comes after this delay.
    Slow(Duration),
    /// A redirect (301/302/307/308) to the same path and query under `to_base` (another local
    /// server: loopback only).
    Redirect {
        status: u16,
        to_base: String,
    },
    /// A lying answer: this status with an empty body, and nothing done.
    Status(u16),
    /// A 200 whose body is a JSON list padded to this many bytes (bounded by the test).
    HugeBody {
        bytes: usize,
    },
}

/// A fault on the `nth` (0-based) request of an endpoint ("DELETE version", "GET versions", ...).
#[derive(Clone, Debug)]
pub struct Fault {
    pub endpoint: String,
    pub nth: usize,
    pub kind: FaultKind,
}

/// The `retry-after` of a secondary-limit answer to a violation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RetryAfter {
    /// The window's length in (real) seconds, as before: at a time scale, already scaled.
    Window,
    /// This many seconds, as GitHub says them (the client scales its waits itself).
    Secs(u64),
    /// No `retry-after` header: the client must wait at least a minute on its own.
    Absent,
}

/// How the server behaves.
#[derive(Clone, Debug)]
pub struct Config {
    pub owner_kind: OwnerKind,
    /// The login of the token's user (`GET /user`); `None`: 403 as for a workflow token.
    pub me: Option<String>,
    /// The token expected in `Authorization: Bearer`; others get 401.
    pub token: Option<String>,
    /// Listing packages is refused (403), as for the workflow token; direct GETs work.
    pub refuse_listing: bool,
    /// `x-ratelimit-limit` and the starting `x-ratelimit-remaining` (decremented per request).
    pub rate_limit: u64,
    pub rate_remaining: u64,
    pub rate_reset: i64,
    /// Enforce the secondary limit: at most this many points per endpoint in any `window`.
    pub points_per_window: Option<u32>,
    pub window: Duration,
    /// Answer a violation with a secondary-limit 403 (else only count it).
    pub answer_violations: bool,
    /// The `retry-after` of such an answer.
    pub retry_after: RetryAfter,
    /// The limit changes during a run: (time after the first DELETE, new points per window),
    /// e.g. 900 → 300 after 2 minutes → 900 after 4 (times already scaled).
    pub limit_changes: Vec<(Duration, u32)>,
    pub faults: Vec<Fault>,
    /// DELETE of these version ids is refused with 400 and the message.
    pub refusals: HashMap<u64, String>,
    /// Refuse deleting the last tagged version of a package (GitHub does).
    pub last_tagged_rule: bool,
    /// GitHub's per_page maximum.
    pub max_per_page: usize,
    /// The ghcr.io side (`/v2/`) forwards to this real registry (else it stores in memory).
    pub registry_upstream: Option<String>,
    /// The token realm grants `push` when asked (a token with `packages: write`).
    pub registry_push: bool,
    /// Versions removed along with a deleted one (id -> ids): a registry that removes more than
    /// expected, which the check after apply must catch.
    pub also_delete: HashMap<u64, Vec<u64>>,
    /// Versions listed twice in a row, as a push during an offset-paginated listing makes
    /// GitHub list a version on two pages.
    pub list_twice: Vec<u64>,
    /// Every answer comes this long after the request (the network's and GitHub's latency).
    pub latency: Duration,
    /// (page, version id): when that page (1-based) of a version listing is asked for, the
    /// version is deleted first, as another actor deleting a version of an earlier page while
    /// a later one is listed (the offset listing then skips a version). Each fires once.
    pub delete_while_listing: Vec<(usize, u64)>,
    /// Added to every package's live `version_count`: a count that includes versions the
    /// listing never shows (how GitHub counts is not documented).
    pub version_count_extra: u64,
    /// Manifests the ghcr.io face answers with 500 when read by digest (a tag's HEAD still
    /// names them): a manifest that cannot be read.
    pub unreadable_manifests: Vec<String>,
    /// (listed package, page, target package, version object): when that page (1-based) of the
    /// listed package's versions is asked for, the version is pushed first to the target
    /// package, newest (another actor's push while a run lists). Each fires once.
    pub push_while_listing: Vec<(String, usize, String, Value)>,
    /// (version id, tag): once a page of that version's package has been listed, the tag is
    /// pushed onto the version (moved from any other, as ghcr.io does): another actor tagging an
    /// image after a run listed it, before the run's DELETE. Each fires once.
    pub tag_after_listing: Vec<(u64, String)>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            owner_kind: OwnerKind::Org,
            me: None,
            token: None,
            refuse_listing: false,
            rate_limit: 5000,
            rate_remaining: 5000,
            rate_reset: 1_900_000_000,
            points_per_window: None,
            window: Duration::from_secs(60),
            answer_violations: true,
            retry_after: RetryAfter::Window,
            limit_changes: Vec::new(),
            faults: Vec::new(),
            refusals: HashMap::new(),
            last_tagged_rule: false,
            max_per_page: 100,
            registry_upstream: None,
            registry_push: true,
            also_delete: HashMap::new(),
            list_twice: Vec::new(),
            latency: Duration::ZERO,
            delete_while_listing: Vec::new(),
            version_count_extra: 0,
            unreadable_manifests: Vec::new(),
            push_while_listing: Vec::new(),
            tag_after_listing: Vec::new(),
        }
    }
}

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The raw (percent-encoded) path and query.
    pub path: String,
    pub authorized: bool,
    pub status: u16,
    pub endpoint: String,
    /// When the request arrived.
    pub at: Instant,
}

#[derive(Clone, Debug)]
pub struct VersionState {
    pub json: Value,
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
    pub deleted: bool,
}

#[derive(Clone, Debug)]
pub struct PackageState {
    pub json: Value,
    pub name: String,
    pub package_type: String,
    pub versions: Vec<VersionState>,
    /// digest -> digests of its manifests' entries (from the inventory's manifests).
    pub children: HashMap<String, Vec<String>>,
}

struct State {
    config: Config,
    owner: String,
    packages: Vec<PackageState>,
    requests: Vec<Recorded>,
    per_endpoint: HashMap<String, usize>,
    points: HashMap<String, VecDeque<(Instant, u32)>>,
    violations: u64,
    remaining: u64,
    ghcr: ghcr::Face,
    /// When the first DELETE arrived ([`Config::limit_changes`] count from it).
    first_delete: Option<Instant>,
}

/// A running server; stops when dropped (with the test's runtime).
pub struct GithubServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _runtime: Option<tokio::runtime::Runtime>,
}

fn lock(s: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    match s.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl GithubServer {
    /// Serve `inventory` (Inventory-shaped JSON) with `config`, on its own runtime thread.
    pub fn start(inventory: &Value, config: Config) -> GithubServer {
        install_quiet_panic_hook();
        let owner = inventory["owner"].as_str().unwrap_or("acme").to_string();
        let packages = inventory["packages"]
            .as_array()
            .map(|ps| ps.iter().map(package_state).collect())
            .unwrap_or_default();
        let remaining = config.rate_remaining;
        let mut face = ghcr::Face::default();
        ghcr::seed(&mut face, inventory);
        let state = Arc::new(Mutex::new(State {
            ghcr: face,
            config,
            owner,
            packages,
            requests: Vec::new(),
            per_endpoint: HashMap::new(),
            points: HashMap::new(),
            violations: 0,
            remaining,
            first_delete: None,
        }));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the test server");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a free port");
        let addr = listener.local_addr().expect("the port");
        let st = Arc::clone(&state);
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let st = Arc::clone(&st);
            async move { handle(st, req).await }
        });
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        GithubServer {
            addr,
            state,
            _runtime: Some(runtime),
        }
    }

    /// The base URL (GITHUB_API_URL).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state).requests.clone()
    }

    /// Requests answered with a violation of the points-per-window limit.
    pub fn violations(&self) -> u64 {
        lock(&self.state).violations
    }

    /// The ids of the versions currently deleted, per package name.
    pub fn deleted_ids(&self) -> Vec<(String, u64)> {
        let s = lock(&self.state);
        let mut out = Vec::new();
        for p in &s.packages {
            for v in &p.versions {
                if v.deleted {
                    out.push((p.name.clone(), v.id));
                }
            }
        }
        out.sort();
        out
    }

    /// Change the server's behaviour between runs.
    pub fn configure(&self, f: impl FnOnce(&mut Config)) {
        let mut s = lock(&self.state);
        f(&mut s.config);
        s.remaining = s.config.rate_remaining;
        s.per_endpoint.clear();
    }

    /// Change a version (tags, updated_at) between a plan and its apply.
    pub fn edit_version(&self, id: u64, f: impl Fn(&mut Value)) {
        let mut s = lock(&self.state);
        for p in &mut s.packages {
            for v in &mut p.versions {
                if v.id == id {
                    f(&mut v.json);
                    v.tags = tags_of(&v.json);
                }
            }
        }
    }

    /// Count violations from zero again (one run's own).
    pub fn reset_violations(&self) {
        lock(&self.state).violations = 0;
    }

    pub fn clear_requests(&self) {
        lock(&self.state).requests.clear();
    }
}

/// Panics are how a connection reset is injected; keep their message out of the test output.
fn install_quiet_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let injected = info
                .payload()
                .downcast_ref::<&str>()
                .is_some_and(|s| s.contains("injected connection reset"));
            if !injected {
                previous(info);
            }
        }));
    });
}

fn tags_of(v: &Value) -> Vec<String> {
    v.pointer("/metadata/container/tags")
        .or_else(|| v.pointer("/metadata/docker/tag"))
        .and_then(|t| t.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn package_state(p: &Value) -> PackageState {
    let versions = p["versions"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| VersionState {
                    json: v.clone(),
                    id: v["id"].as_u64().unwrap_or(0),
                    name: v["name"].as_str().unwrap_or("").to_string(),
                    tags: tags_of(v),
                    deleted: false,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut children = HashMap::new();
    if let Some(m) = p["manifests"].as_object() {
        for (digest, text) in m {
            let parsed: Value = text
                .as_str()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null);
            let kids: Vec<String> = parsed["manifests"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|d| d["digest"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if !kids.is_empty() {
                children.insert(digest.clone(), kids);
            }
        }
    }
    PackageState {
        name: p["package"]["name"].as_str().unwrap_or("").to_string(),
        package_type: p["package"]["package_type"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        json: p["package"].clone(),
        versions,
        children,
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| decode(v))
    })
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn message(status: StatusCode, text: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"message": text, "documentation_url": "https://docs.github.com/rest/packages/packages", "status": status.as_u16().to_string()}),
    )
}

fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

fn secondary_body() -> Value {
    json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000.", "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"})
}

/// The route of a request: (endpoint name for pacing/faults, parsed pieces).
struct Route {
    endpoint: String,
    /// "orgs" | "users" | "user" | ""
    scope: String,
    scope_login: Option<String>,
    package_type: Option<String>,
    package: Option<String>,
    version: Option<u64>,
    restore: bool,
}

fn parse_route(method: &Method, path: &str) -> Route {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (scope, login, rest): (&str, Option<String>, &[&str]) = match segs.as_slice() {
        ["orgs", o, rest @ ..] => ("orgs", Some(decode(o)), rest),
        ["users", u, rest @ ..] => ("users", Some(decode(u)), rest),
        ["user", rest @ ..] => ("user", None, rest),
        _ => ("", None, &[]),
    };
    let mut r = Route {
        endpoint: String::new(),
        scope: scope.to_string(),
        scope_login: login,
        package_type: None,
        package: None,
        version: None,
        restore: false,
    };
    let m = method.as_str();
    r.endpoint = match rest {
        [] => format!("{m} {scope}"),
        ["packages"] => format!("{m} packages"),
        ["packages", t, n] => {
            r.package_type = Some(decode(t));
            r.package = Some(decode(n));
            format!("{m} package")
        }
        ["packages", t, n, "versions"] => {
            r.package_type = Some(decode(t));
            r.package = Some(decode(n));
            format!("{m} versions")
        }
        ["packages", t, n, "versions", id] => {
            r.package_type = Some(decode(t));
            r.package = Some(decode(n));
            r.version = id.parse().ok();
            format!("{m} version")
        }
        ["packages", t, n, "versions", id, "restore"] => {
            r.package_type = Some(decode(t));
            r.package = Some(decode(n));
            r.version = id.parse().ok();
            r.restore = true;
            format!("{m} restore")
        }
        _ => format!("{m} unknown"),
    };
    r
}

/// What both faces read of a request: method, path, query, host and `authorization`.
struct Parts {
    method: Method,
    path: String,
    query: String,
    host: String,
    auth: Option<String>,
}

fn parts(req: &Request<Body>) -> Parts {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    };
    Parts {
        method: req.method().clone(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or("").to_string(),
        host: header("host").unwrap_or_else(|| "127.0.0.1".to_string()),
        auth: header("authorization"),
    }
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Body>) -> Response<Body> {
    let path = req.uri().path();
    if path.starts_with("/v2/") || path == "/token" {
        return ghcr::handle(&state, req).await;
    }
    let Parts {
        method,
        path,
        query,
        host,
        auth,
    } = parts(&req);
    let route = parse_route(&method, &path);
    let cost = if method == Method::GET { 1 } else { 5 };
    let latency = lock(&state).config.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    // Faults, points and the rate limit, decided under the lock.
    let (fault, mut response) = {
        let mut s = lock(&state);
        let n = {
            let c = s.per_endpoint.entry(route.endpoint.clone()).or_insert(0);
            let n = *c;
            *c += 1;
            n
        };
        let fault = s
            .config
            .faults
            .iter()
            .find(|f| f.endpoint == route.endpoint && f.nth == n)
            .map(|f| f.kind.clone());
        // Secondary limit: points per endpoint in the sliding window.
        let mut violated = false;
        let now = Instant::now();
        if method == Method::DELETE && s.first_delete.is_none() {
            s.first_delete = Some(now);
        }
        let since_first = s.first_delete.map(|t| now.duration_since(t));
        let limit_now = s
            .config
            .limit_changes
            .iter()
            .filter(|(after, _)| since_first.is_some_and(|d| d >= *after))
            .map(|(_, limit)| *limit)
            .next_back()
            .or(s.config.points_per_window);
        if let Some(limit) = limit_now {
            let window = s.config.window;
            let q = s.points.entry(route.endpoint.clone()).or_default();
            while q
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) >= window)
            {
                q.pop_front();
            }
            let used: u32 = q.iter().map(|(_, c)| c).sum();
            if used + cost > limit {
                violated = true;
            } else {
                q.push_back((now, cost));
            }
        }
        if violated {
            s.violations += 1;
        }
        let response = if let Some(expected) = &s.config.token {
            if auth.as_deref() != Some(&format!("Bearer {expected}")) {
                Some(message(StatusCode::UNAUTHORIZED, "Bad credentials"))
            } else {
                None
            }
        } else {
            None
        };
        let response = match response {
            Some(r) => Some(r),
            None if violated && s.config.answer_violations => {
                let mut r = json_response(StatusCode::FORBIDDEN, &secondary_body());
                let secs = match s.config.retry_after {
                    RetryAfter::Window => Some(s.config.window.as_secs().max(1)),
                    RetryAfter::Secs(n) => Some(n),
                    RetryAfter::Absent => None,
                };
                if let Some(secs) = secs {
                    r.headers_mut().insert("retry-after", HeaderValue::from(secs));
                }
                Some(r)
            }
            None if s.remaining == 0 => Some(message(
                StatusCode::FORBIDDEN,
                "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID 0000.",
            )),
            None => None,
        };
        if s.remaining > 0 {
            s.remaining -= 1;
        }
        (fault, response)
    };

    if let Some(f) = &fault {
        match f {
            FaultKind::Reset => {
                record(
                    &state,
                    &method,
                    &path,
                    &query,
                    auth.is_some(),
                    0,
                    &route.endpoint,
                );
                panic!("injected connection reset");
            }
            FaultKind::Slow(d) => tokio::time::sleep(*d).await,
            FaultKind::Status500 => {
                response = Some(message(StatusCode::INTERNAL_SERVER_ERROR, "Server Error"))
            }
            FaultKind::Status502 => response = Some(empty(StatusCode::BAD_GATEWAY)),
            FaultKind::Secondary403 { retry_after } => {
                let mut r = json_response(StatusCode::FORBIDDEN, &secondary_body());
                r.headers_mut()
                    .insert("retry-after", HeaderValue::from(*retry_after));
                response = Some(r);
            }
            FaultKind::Secondary403NoRetryAfter => {
                response = Some(json_response(StatusCode::FORBIDDEN, &secondary_body()))
            }
            FaultKind::Redirect { status, to_base } => {
                assert!(
                    to_base.starts_with("http://127.0.0.1:"),
                    "redirects stay on loopback"
                );
                let mut r = empty(StatusCode::from_u16(*status).unwrap_or(StatusCode::FOUND));
                let q = if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                };
                if let Ok(v) = HeaderValue::from_str(&format!("{to_base}{path}{q}")) {
                    r.headers_mut().insert("location", v);
                }
                response = Some(r);
            }
            FaultKind::Status(code) => {
                response = Some(empty(StatusCode::from_u16(*code).unwrap_or(StatusCode::OK)))
            }
            FaultKind::HugeBody { bytes } => {
                let bytes = (*bytes).min(64 << 20);
                let mut body = Vec::with_capacity(bytes);
                body.push(b'[');
                body.resize(bytes.saturating_sub(1), b' ');
                body.push(b']');
                let mut r = Response::new(Body::from(body));
                r.headers_mut().insert(
                    "content-type",
                    HeaderValue::from_static("application/json; charset=utf-8"),
                );
                response = Some(r);
            }
            FaultKind::TooMany429 { retry_after } => {
                let mut r = message(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
                r.headers_mut()
                    .insert("retry-after", HeaderValue::from(*retry_after));
                response = Some(r);
            }
        }
    }
    let mut resp = match response {
        Some(r) => r,
        None => answer(&state, &method, &route, &query, &host, &path),
    };
    ghcr::flush_upstream_deletes(&state).await;
    {
        let s = lock(&state);
        let h = resp.headers_mut();
        h.insert("x-ratelimit-limit", HeaderValue::from(s.config.rate_limit));
        h.insert("x-ratelimit-remaining", HeaderValue::from(s.remaining));
        h.insert(
            "x-ratelimit-used",
            HeaderValue::from(s.config.rate_limit.saturating_sub(s.remaining)),
        );
        h.insert("x-ratelimit-reset", HeaderValue::from(s.config.rate_reset));
        h.insert("x-ratelimit-resource", HeaderValue::from_static("core"));
    }
    record(
        &state,
        &method,
        &path,
        &query,
        auth.is_some(),
        resp.status().as_u16(),
        &route.endpoint,
    );
    resp
}

fn record(
    state: &Mutex<State>,
    method: &Method,
    path: &str,
    query: &str,
    authorized: bool,
    status: u16,
    endpoint: &str,
) {
    let full = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    lock(state).requests.push(Recorded {
        method: method.to_string(),
        path: full,
        authorized,
        status,
        endpoint: endpoint.to_string(),
        at: Instant::now(),
    });
}

/// The answer of the API proper (no faults).
fn answer(
    state: &Mutex<State>,
    method: &Method,
    route: &Route,
    query: &str,
    host: &str,
    path: &str,
) -> Response<Body> {
    let mut s = lock(state);
    let owner = s.owner.clone();
    let kind = s.config.owner_kind;
    // Accounts.
    match (route.scope.as_str(), route.endpoint.as_str()) {
        ("users", "GET users") => {
            return if route
                .scope_login
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(&owner))
            {
                let t = if kind == OwnerKind::Org {
                    "Organization"
                } else {
                    "User"
                };
                json_response(StatusCode::OK, &json!({"login": owner, "id": 1, "type": t}))
            } else {
                message(StatusCode::NOT_FOUND, "Not Found")
            };
        }
        ("user", "GET user") => {
            return match &s.config.me {
                Some(me) => json_response(
                    StatusCode::OK,
                    &json!({"login": me, "id": 2, "type": "User"}),
                ),
                None => message(
                    StatusCode::FORBIDDEN,
                    "Resource not accessible by integration",
                ),
            };
        }
        ("orgs", "GET orgs") => {
            return if kind == OwnerKind::Org && route.scope_login.as_deref() == Some(owner.as_str())
            {
                json_response(StatusCode::OK, &json!({"login": owner, "id": 1}))
            } else {
                message(StatusCode::NOT_FOUND, "Not Found")
            };
        }
        _ => {}
    }
    // The scope must name the owner the way GitHub would accept.
    let scope_ok = match route.scope.as_str() {
        "orgs" => kind == OwnerKind::Org && route.scope_login.as_deref() == Some(owner.as_str()),
        "users" => route.scope_login.as_deref() == Some(owner.as_str()),
        "user" => s.config.me.as_deref() == Some(owner.as_str()),
        _ => false,
    };
    if !scope_ok {
        return message(StatusCode::NOT_FOUND, "Not Found");
    }
    if route.endpoint == "GET packages" {
        if s.config.refuse_listing {
            return message(
                StatusCode::FORBIDDEN,
                "Resource not accessible by integration",
            );
        }
        let Some(t) = query_param(query, "package_type") else {
            return message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid request.\n\n\"package_type\" wasn't supplied.",
            );
        };
        let items: Vec<Value> = s
            .packages
            .iter()
            .filter(|p| p.package_type == t)
            .map(|p| package_json(p, s.config.version_count_extra))
            .collect();
        return page(items, query, host, path, s.config.max_per_page);
    }
    let (Some(t), Some(name)) = (&route.package_type, &route.package) else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(pi) = s
        .packages
        .iter()
        .position(|p| &p.package_type == t && &p.name == name)
    else {
        return message(StatusCode::NOT_FOUND, "Package not found.");
    };
    match route.endpoint.as_str() {
        "GET package" => json_response(
            StatusCode::OK,
            &package_json(&s.packages[pi], s.config.version_count_extra),
        ),
        "GET versions" => {
            let deleted = query_param(query, "state").as_deref() == Some("deleted");
            delete_while_listing(&mut s, pi, query);
            push_while_listing(&mut s, pi, query);
            let items: Vec<Value> = s.packages[pi]
                .versions
                .iter()
                .filter(|v| v.deleted == deleted)
                .flat_map(|v| {
                    let n = if s.config.list_twice.contains(&v.id) {
                        2
                    } else {
                        1
                    };
                    std::iter::repeat_n(v.json.clone(), n)
                })
                .collect();
            let answer = page(items, query, host, path, s.config.max_per_page);
            tag_after_listing(&mut s, pi);
            answer
        }
        "GET version" | "DELETE version" | "POST restore" => {
            let Some(id) = route.version else {
                return message(StatusCode::NOT_FOUND, "Not Found");
            };
            let Some(vi) = s.packages[pi].versions.iter().position(|v| v.id == id) else {
                return message(StatusCode::NOT_FOUND, "Package version not found.");
            };
            match *method {
                Method::GET => {
                    if s.packages[pi].versions[vi].deleted {
                        message(StatusCode::NOT_FOUND, "Package version not found.")
                    } else {
                        json_response(StatusCode::OK, &s.packages[pi].versions[vi].json)
                    }
                }
                Method::DELETE => {
                    if s.packages[pi].versions[vi].deleted {
                        return message(StatusCode::NOT_FOUND, "Package version not found.");
                    }
                    if let Some(m) = s.config.refusals.get(&id) {
                        return message(StatusCode::BAD_REQUEST, &m.clone());
                    }
                    let last_rule = s.config.last_tagged_rule;
                    let pkg = &mut s.packages[pi];
                    if last_rule && !pkg.versions[vi].tags.is_empty() {
                        let tagged = pkg
                            .versions
                            .iter()
                            .filter(|v| !v.deleted && !v.tags.is_empty())
                            .count();
                        if tagged == 1 {
                            return message(StatusCode::BAD_REQUEST, "You cannot delete the last tagged version of a package. You must delete the package instead.");
                        }
                    }
                    let also = s.config.also_delete.get(&id).cloned().unwrap_or_default();
                    let pkg = &mut s.packages[pi];
                    pkg.versions[vi].deleted = true;
                    for v in &mut pkg.versions {
                        v.deleted |= also.contains(&v.id);
                    }
                    // ghcr.io does not cascade: the index's platform manifests and attestations
                    // stay (orphans) until each is deleted by its own DELETE.
                    let gone_digests = vec![pkg.versions[vi].name.clone()];
                    for d in gone_digests {
                        ghcr::version_deleted(&mut s, pi, &d);
                    }
                    empty(StatusCode::NO_CONTENT)
                }
                Method::POST => {
                    if s.packages[pi].versions[vi].deleted {
                        s.packages[pi].versions[vi].deleted = false;
                        empty(StatusCode::NO_CONTENT)
                    } else {
                        message(StatusCode::NOT_FOUND, "Package version not found.")
                    }
                }
                _ => message(StatusCode::NOT_FOUND, "Not Found"),
            }
        }
        _ => message(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// A package object as GitHub answers it now: its `version_count` (when the inventory gave one)
/// counts the versions not deleted.
fn package_json(p: &PackageState, extra: u64) -> Value {
    let mut json = p.json.clone();
    if let Some(count) = json.get_mut("version_count") {
        *count = json!(p.versions.iter().filter(|v| !v.deleted).count() as u64 + extra);
    }
    json
}

/// [`Config::delete_while_listing`]: delete the first version set to go when this page of
/// package `pi`'s versions is asked for (no cascade: another actor's single deletion).
fn delete_while_listing(s: &mut State, pi: usize, query: &str) {
    let page = query_param(query, "page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1);
    let ids: Vec<u64> = s.packages[pi].versions.iter().map(|v| v.id).collect();
    let Some(at) = s
        .config
        .delete_while_listing
        .iter()
        .position(|&(p, id)| p == page && ids.contains(&id))
    else {
        return;
    };
    let (_, id) = s.config.delete_while_listing.remove(at);
    if let Some(v) = s.packages[pi].versions.iter_mut().find(|v| v.id == id) {
        v.deleted = true;
        let digest = v.name.clone();
        ghcr::version_deleted(s, pi, &digest);
    }
}

/// [`Config::push_while_listing`]: push the first version set to be pushed when this page of
/// package `pi`'s versions is asked for, newest in its target package.
fn push_while_listing(s: &mut State, pi: usize, query: &str) {
    let page = query_param(query, "page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1);
    let listed = s.packages[pi].name.clone();
    let Some(at) = s
        .config
        .push_while_listing
        .iter()
        .position(|(p, n, _, _)| *p == listed && *n == page)
    else {
        return;
    };
    let (_, _, target, v) = s.config.push_while_listing.remove(at);
    if let Some(t) = s.packages.iter_mut().find(|p| p.name == target) {
        t.versions.insert(
            0,
            VersionState {
                id: v["id"].as_u64().unwrap_or(0),
                name: v["name"].as_str().unwrap_or("").to_string(),
                tags: tags_of(&v),
                json: v,
                deleted: false,
            },
        );
    }
}

/// [`Config::tag_after_listing`]: the tags due on package `pi`'s versions, now that a page of
/// them has been answered.
fn tag_after_listing(s: &mut State, pi: usize) {
    let pkg = &mut s.packages[pi];
    let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut s.config.tag_after_listing)
        .into_iter()
        .partition(|(id, _)| pkg.versions.iter().any(|v| v.id == *id));
    s.config.tag_after_listing = rest;
    for (id, tag) in due {
        if let Some(digest) = pkg
            .versions
            .iter()
            .find(|v| v.id == id)
            .map(|v| v.name.clone())
        {
            ghcr::move_tag(pkg, &tag, &digest);
        }
    }
}

/// One page of `items`, with GitHub's `Link` header.
fn page(
    items: Vec<Value>,
    query: &str,
    host: &str,
    path: &str,
    max_per_page: usize,
) -> Response<Body> {
    let per_page = query_param(query, "per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, max_per_page);
    let page_no = query_param(query, "page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let start = (page_no - 1) * per_page;
    let slice: Vec<Value> = items.iter().skip(start).take(per_page).cloned().collect();
    let last = items.len().div_ceil(per_page).max(1);
    let mut r = json_response(StatusCode::OK, &Value::Array(slice));
    let others: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.starts_with("page=") && !kv.is_empty())
        .collect();
    let link_for = |n: usize| {
        let mut q = others.clone();
        let p = format!("page={n}");
        q.push(&p);
        format!("<http://{host}{path}?{}>", q.join("&"))
    };
    let mut links = Vec::new();
    if page_no < last {
        links.push(format!("{}; rel=\"next\"", link_for(page_no + 1)));
        links.push(format!("{}; rel=\"last\"", link_for(last)));
    }
    if page_no > 1 {
        links.push(format!("{}; rel=\"first\"", link_for(1)));
        links.push(format!("{}; rel=\"prev\"", link_for(page_no - 1)));
    }
    if !links.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
            r.headers_mut().insert("link", v);
        }
    }
    r
}

/// Builds Inventory-shaped JSON with the fields the OpenAPI description requires.
pub struct Fixture {
    pub owner: String,
    pub packages: Vec<Value>,
    next_id: u64,
}

impl Fixture {
    pub fn new(owner: &str) -> Fixture {
        Fixture {
            owner: owner.to_string(),
            packages: Vec::new(),
            next_id: 1000,
        }
    }

    /// An npm package with versions `1.0.0`, `1.0.1`, ... created a day apart from `start`
    /// (RFC 3339), the newest last; returns the version ids in creation order.
    pub fn npm(&mut self, name: &str, count: usize, start: &str) -> Vec<u64> {
        let start = chrono::DateTime::parse_from_rfc3339(start).expect("a start time");
        let pid = self.next_id;
        self.next_id += 1;
        let enc = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
        let mut versions = Vec::new();
        let mut ids = Vec::new();
        for i in 0..count {
            let id = self.next_id;
            self.next_id += 1;
            ids.push(id);
            let t = (start + chrono::Duration::hours(i as i64))
                .to_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            versions.push(json!({
                "id": id,
                "name": format!("1.0.{i}"),
                "url": format!("https://api.github.com/orgs/{}/packages/npm/{enc}/versions/{id}", self.owner),
                "package_html_url": format!("https://github.com/orgs/{}/packages/npm/package/{enc}", self.owner),
                "html_url": format!("https://github.com/orgs/{}/packages/npm/{enc}/{id}", self.owner),
                "created_at": t, "updated_at": t,
                "metadata": {"package_type": "npm"}
            }));
        }
        versions.reverse(); // the API lists newest first
        self.packages.push(json!({
            "package": {
                "id": pid, "name": name, "package_type": "npm", "visibility": "private",
                "url": format!("https://api.github.com/orgs/{}/packages/npm/{enc}", self.owner),
                "html_url": format!("https://github.com/orgs/{}/packages/npm/package/{enc}", self.owner),
                "version_count": count,
                "owner": {"login": self.owner, "id": 1, "type": "Organization"},
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
            },
            "versions": versions
        }));
        ids
    }

    pub fn json(&self) -> Value {
        json!({"schema": 1, "owner": self.owner, "captured_at": "2026-11-20T00:00:00Z", "packages": self.packages})
    }
}
