//! An HTTP proxy in front of a real registry that behaves like ghcr.io where the registry does
//! not: it answers 401 with `WWW-Authenticate: Bearer realm=…/token,service,scope` until given a
//! token from its `/token` realm (Basic auth with any user and the right password, or anonymous
//! when allowed), and it can invalidate tokens, answer 429/503, or tamper with a manifest.
//! It counts what it serves, so tests can assert how many manifests were read.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;

/// How the proxy authenticates.
#[derive(Clone, Debug)]
pub enum ProxyAuth {
    /// No authentication (a counting proxy).
    Open,
    /// ghcr.io-style bearer tokens; `password` is the token the realm wants as Basic password.
    Bearer {
        password: String,
        anonymous_ok: bool,
        /// The host named in the realm URL (e.g. `localhost` for a realm on "another host"); with
        /// a `:port`, that port instead of the proxy's own (a realm on another port).
        realm_host: String,
    },
}

pub struct ProxyState {
    upstream: String,
    auth: ProxyAuth,
    port: AtomicU64,
    http: reqwest::Client,
    token_counter: AtomicU64,
    valid_tokens: Mutex<BTreeSet<String>>,
    /// Manifest GETs by digest that reached the upstream (paths), in order.
    pub manifest_reads: Mutex<Vec<String>>,
    /// Every manifest request, including 401s and injected faults.
    pub manifest_requests: AtomicU64,
    pub token_requests: AtomicU64,
    /// Authorization headers the token endpoint saw (to check what was sent where).
    pub token_auth_seen: Mutex<Vec<Option<String>>>,
    /// Answer this many next manifest requests with this status.
    pub fail_next: AtomicU64,
    pub fail_status: AtomicU64,
    /// Digests whose body is altered on the way.
    pub tamper: Mutex<BTreeSet<String>>,
    /// Headers seen on manifest requests (the last one).
    pub last_accept: Mutex<Option<String>>,
    pub saw_bearer_without_token: AtomicBool,
}

/// A running proxy. Dropping it leaves the task running until the runtime ends.
pub struct Proxy {
    pub state: Arc<ProxyState>,
    pub port: u16,
}

impl Proxy {
    pub async fn start(upstream: &str, auth: ProxyAuth) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_string(),
            auth,
            port: AtomicU64::new(u64::from(port)),
            http: reqwest::Client::new(),
            token_counter: AtomicU64::new(0),
            valid_tokens: Mutex::new(BTreeSet::new()),
            manifest_reads: Mutex::new(Vec::new()),
            manifest_requests: AtomicU64::new(0),
            token_requests: AtomicU64::new(0),
            token_auth_seen: Mutex::new(Vec::new()),
            fail_next: AtomicU64::new(0),
            fail_status: AtomicU64::new(503),
            tamper: Mutex::new(BTreeSet::new()),
            last_accept: Mutex::new(None),
            saw_bearer_without_token: AtomicBool::new(false),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Proxy { state, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Manifest GETs that reached the registry.
    pub fn reads(&self) -> usize {
        self.state
            .manifest_reads
            .lock()
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// Invalidate every token issued so far (as if they had expired).
    pub fn expire_tokens(&self) {
        if let Ok(mut t) = self.state.valid_tokens.lock() {
            t.clear();
        }
    }

    /// Answer the next `n` manifest requests with `status`.
    pub fn fail_next(&self, n: u64, status: u16) {
        self.state
            .fail_status
            .store(u64::from(status), Ordering::SeqCst);
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    pub fn tamper_with(&self, digest: &str) {
        if let Ok(mut t) = self.state.tamper.lock() {
            t.insert(digest.to_string());
        }
    }
}

async fn handle(State(s): State<Arc<ProxyState>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if path == "/token" {
        return token(&s, req.headers());
    }
    let is_manifest = path.starts_with("/v2/") && path.contains("/manifests/");
    if is_manifest {
        s.manifest_requests.fetch_add(1, Ordering::SeqCst);
    }
    if let ProxyAuth::Bearer { realm_host, .. } = &s.auth {
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let ok = given.as_ref().is_some_and(|t| {
            s.valid_tokens
                .lock()
                .map(|v| v.contains(t))
                .unwrap_or(false)
        });
        if !ok {
            let repo = path
                .strip_prefix("/v2/")
                .and_then(|p| p.split_once("/manifests/"))
                .map_or("", |(r, _)| r);
            let port = s.port.load(Ordering::SeqCst);
            let authority = if realm_host.contains(':') {
                realm_host.clone()
            } else {
                format!("{realm_host}:{port}")
            };
            let challenge = format!(
                r#"Bearer realm="http://{authority}/token",service="proxy.test",scope="repository:{repo}:pull""#
            );
            let mut r = (
                StatusCode::UNAUTHORIZED,
                r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#,
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                r.headers_mut().insert("www-authenticate", v);
            }
            return r;
        }
    }
    if is_manifest {
        let left = s.fail_next.load(Ordering::SeqCst);
        if left > 0 {
            s.fail_next.store(left - 1, Ordering::SeqCst);
            let status = StatusCode::from_u16(s.fail_status.load(Ordering::SeqCst) as u16)
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut r = (status, "injected fault").into_response();
            r.headers_mut()
                .insert("retry-after", HeaderValue::from_static("0"));
            return r;
        }
        if let Ok(mut a) = s.last_accept.lock() {
            *a = req
                .headers()
                .get("accept")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
        }
    }
    // Forward to the registry.
    let method = req.method().clone();
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let mut fwd = s
        .http
        .request(method.clone(), format!("{}{path}{query}", s.upstream));
    for h in ["accept", "content-type"] {
        if let Some(v) = req.headers().get(h) {
            fwd = fwd.header(h, v.clone());
        }
    }
    let body = axum::body::to_bytes(req.into_body(), 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let upstream = match fwd.body(body).send().await {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = upstream.status();
    let mut headers = HeaderMap::new();
    for h in ["content-type", "docker-content-digest", "www-authenticate"] {
        if let Some(v) = upstream.headers().get(h) {
            headers.insert(h, v.clone());
        }
    }
    let mut bytes = upstream.bytes().await.unwrap_or_default().to_vec();
    if is_manifest && method == "GET" && status.is_success() {
        if let Ok(mut reads) = s.manifest_reads.lock() {
            reads.push(path.clone());
        }
        let digest = path.rsplit('/').next().unwrap_or("");
        if s.tamper.lock().map(|t| t.contains(digest)).unwrap_or(false) {
            bytes.extend_from_slice(b" ");
        }
    }
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    *r.headers_mut() = headers;
    r
}

fn token(s: &ProxyState, headers: &HeaderMap) -> Response {
    s.token_requests.fetch_add(1, Ordering::SeqCst);
    let ProxyAuth::Bearer {
        password,
        anonymous_ok,
        ..
    } = &s.auth
    else {
        return (StatusCode::NOT_FOUND, "no realm").into_response();
    };
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Ok(mut seen) = s.token_auth_seen.lock() {
        seen.push(auth.clone());
    }
    let allowed = match &auth {
        Some(a) => a
            .strip_prefix("Basic ")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|up| up.split_once(':').map(|(_, p)| p == password))
            .unwrap_or(false),
        None => *anonymous_ok,
    };
    if !allowed {
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"errors":[{"code":"DENIED"}]}"#,
        )
            .into_response();
    }
    let n = s.token_counter.fetch_add(1, Ordering::SeqCst);
    let t = format!("proxy-token-{n}");
    if let Ok(mut v) = s.valid_tokens.lock() {
        v.insert(t.clone());
    }
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        format!(r#"{{"token":"{t}"}}"#),
    )
        .into_response()
}
