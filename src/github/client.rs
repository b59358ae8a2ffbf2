//! The HTTP layer of the GitHub client: headers, the token, pacing, retries, rate-limit headers.
//!
//! Every request goes through [`GithubClient::request`], which
//! - sends the headers GitHub asks for and the token, only to the API base's origin (a `Link`
//!   pointing elsewhere is refused, and reqwest drops `Authorization` on cross-host redirects);
//! - waits for its slot in the [`Pacer`] (900 points a minute per endpoint);
//! - retries 5xx, connection resets and timeouts with exponential backoff and jitter (bounded);
//! - waits out secondary limits (403/429 with `retry-after`, or a body whose message says
//!   "secondary rate limit") as told, holding back the whole endpoint meanwhile, and retries;
//! - records `x-ratelimit-remaining` / `x-ratelimit-reset` of every answer ([`RateBudget`]);
//! - turns a spent primary limit into [`ApiErrorKind::RateLimited`];
//! - never follows a redirect: a 3xx is an error naming where it pointed (a DELETE answered by a
//!   redirect deleted nothing we can vouch for, and the token must not follow it);
//! - refuses an answer body larger than [`MAX_BODY_BYTES`] (a page of 100 versions is ~100 KB);
//! - caps every wait a secondary limit asks for at [`MAX_SECONDARY_WAIT`]: a longer one stops
//!   the run ([`ApiErrorKind::SecondaryLimited`]) instead of hanging.
//!
//! Other statuses are returned to the caller, which knows what a 404 or a 400 means there.
//!
//! What an answer means (a secondary limit, the spent primary limit, a redirect, a 5xx) is
//! [`crate::response::classify`]'s, shared with the registry client; [`GithubClient::request_then`]
//! acts on its verdict (waits, paces, retries, counts, or builds the error).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, USER_AGENT};
use reqwest::{Method, StatusCode, Url};

use super::error::{ApiError, ApiErrorKind};
use super::pacer::{Pacer, Ticket};
use crate::backoff::RetryPolicy;
use crate::response::{self, Request, Stop, Verdict};
use crate::secret::Secret;

/// The API version this client speaks.
pub const API_VERSION: &str = "2022-11-28";
/// The default API base.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// Attempts for 5xx and network failures, the first included.
const ATTEMPTS: u32 = 6;
/// Waits for secondary limits before giving up.
const SECONDARY_WAITS: u32 = 8;
/// The backoff for 5xx and network failures: 1 s doubled at each retry, at most a minute.
const BACKOFF: RetryPolicy = RetryPolicy {
    attempts: ATTEMPTS,
    base: Duration::from_millis(1000),
    max_delay: Duration::from_secs(60),
};
/// A secondary limit without `retry-after`: wait at least this (GitHub: "at least a minute").
const SECONDARY_DEFAULT_WAIT: Duration = super::pacer::SECONDARY_DEFAULT_WAIT;
/// A run stops when no mutative request has been accepted for this long (unscaled).
pub const MAX_WITHOUT_SUCCESS: Duration = Duration::from_secs(600);
/// The longest wait a secondary limit may impose; a longer `retry-after` stops the run.
pub const MAX_SECONDARY_WAIT: Duration = Duration::from_secs(300);
/// The largest answer body read. GitHub's pages of 100 versions are ~100 KB.
pub const MAX_BODY_BYTES: usize = 8 << 20;

/// What the primary rate limit headers said last.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateBudget {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub reset: Option<DateTime<Utc>>,
}

/// Counters of a run, for the closing summary and the benchmark.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub secondary_limits: AtomicU64,
}

/// An answer: status, the next page (when `Link: rel="next"` was given) and the body.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub next: Option<Url>,
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// GitHub's `message` from a JSON object body, or the body as text.
    pub fn message(&self) -> String {
        response::message(&self.body)
    }
}

/// What runs just before a request goes out ([`GithubClient::request_then`]): the executor
/// journals `attempted` there. Its error (the executor's journal failure, whatever its type)
/// aborts the request unsent.
pub type BeforeSend<'a> =
    dyn Fn() -> Result<(), Box<dyn std::error::Error + Send + Sync>> + Sync + 'a;

/// A client for the GitHub REST API. Cheap to clone; clones share pacing, counters and budget.
#[derive(Clone)]
pub struct GithubClient {
    http: reqwest::Client,
    base: Url,
    token: Option<Secret>,
    pacer: Arc<Pacer>,
    stats: Arc<Stats>,
    budget: Arc<Mutex<RateBudget>>,
}

impl std::fmt::Debug for GithubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubClient")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl GithubClient {
    /// A client for `base` (e.g. `https://api.github.com` or `https://ghe.example/api/v3`).
    pub fn new(base: &str, token: Option<Secret>, pacer: Pacer) -> Result<GithubClient, ApiError> {
        let config =
            |m: String| ApiError::new(ApiErrorKind::Config, "setting up the GitHub client", m);
        let trimmed = base.trim().trim_end_matches('/');
        let base = Url::parse(trimmed).map_err(|e| {
            config(format!(
                "{} `{trimmed}` is not a URL: {e}",
                crate::env::GITHUB_API_URL
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(config(format!(
                "{} `{trimmed}` must be an http(s) URL with a host",
                crate::env::GITHUB_API_URL
            )));
        }
        let timeout = std::env::var(crate::env::RETENTION_TEST_HTTP_TIMEOUT_MS)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_secs(60));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(20).min(timeout))
            .build()
            .map_err(|e| config(format!("cannot build the HTTP client: {e}")))?;
        Ok(GithubClient {
            http,
            base,
            token,
            pacer: Arc::new(pacer),
            stats: Arc::new(Stats::default()),
            budget: Arc::new(Mutex::new(RateBudget::default())),
        })
    }

    /// The API's host and port (`api.github.com`, `127.0.0.1:8080`): whose limits a pace is.
    pub fn api_host(&self) -> String {
        match self.base.port() {
            Some(p) => format!("{}:{p}", self.base.host_str().unwrap_or("")),
            None => self.base.host_str().unwrap_or("").to_string(),
        }
    }

    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Requests sent so far (retries included).
    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::Relaxed)
    }

    /// What the rate limit headers said last.
    pub fn budget(&self) -> RateBudget {
        *crate::sync::lock(&self.budget)
    }

    /// The URL of `path` (which starts with `/` and is already percent-encoded) under the base.
    pub fn url(&self, path_and_query: &str) -> Result<Url, ApiError> {
        let s = format!(
            "{}{}",
            self.base.as_str().trim_end_matches('/'),
            path_and_query
        );
        Url::parse(&s).map_err(|e| {
            ApiError::new(
                ApiErrorKind::Config,
                "building a request URL",
                format!("{s}: {e}"),
            )
        })
    }

    /// Whether `url` has the API base's origin: the only place the token may go.
    pub fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    /// Send a request with pacing and retries. `endpoint` names the route for pacing (e.g.
    /// "DELETE version"), `cost` its points (GET 1, DELETE/POST 5), `context` what is being done.
    pub async fn request(
        &self,
        method: Method,
        url: Url,
        endpoint: &str,
        cost: u32,
        context: &str,
    ) -> Result<ApiResponse, ApiError> {
        self.request_then(method, url, endpoint, cost, context, &|| Ok(()))
            .await
    }

    /// [`request`](Self::request), running `before_send` once, when the first attempt has its
    /// pacer slot and is about to go out (not while it waits): the executor journals `attempted`
    /// there. An error from it aborts the request unsent ([`ApiErrorKind::Aborted`]).
    ///
    /// What an answer means is [`response::classify`]'s; this loop acts on its verdict.
    pub async fn request_then(
        &self,
        method: Method,
        url: Url,
        endpoint: &str,
        cost: u32,
        context: &str,
        before_send: &BeforeSend<'_>,
    ) -> Result<ApiResponse, ApiError> {
        if !self.same_origin(&url) {
            return Err(ApiError::new(
                ApiErrorKind::Decode,
                context,
                format!(
                    "refusing to send the token to {} (not the API base {})",
                    origin(&url),
                    origin(&self.base)
                ),
            ));
        }
        let mutative = method != Method::GET && method != Method::HEAD;
        let mut announced = false;
        let mut failures = 0u32;
        let mut secondary = 0u32;
        loop {
            let ticket = self.pacer.acquire(mutative, endpoint, cost).await;
            let req = self.build(&method, &url);
            if !announced {
                announced = true;
                if let Err(e) = before_send() {
                    return Err(ApiError::new(ApiErrorKind::Aborted, context, e.to_string()));
                }
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(method = %method, url = %url, "GitHub request");
            let result = match req.send().await {
                Ok(resp) => read_bounded(resp).await,
                Err(e) => Err(Received::Network(e)),
            };
            let (status, headers, body) = match result {
                Ok(r) => r,
                Err(Received::TooLarge(size)) => return Err(too_large(&size, context)),
                Err(Received::Network(e)) => {
                    failures += 1;
                    let what = network_error_text(&e);
                    if failures >= ATTEMPTS {
                        return Err(network_failed(&what, failures, context));
                    }
                    tracing::warn!("{context}: {what}; retrying");
                    drop(ticket);
                    self.retry_after_backoff(failures).await;
                    continue;
                }
            };
            tracing::trace!(status = status.as_u16(), "GitHub answer");
            self.record_budget(&headers);
            match response::classify(Request::Api, status, &headers, &body) {
                Verdict::Stop(Stop::Redirected { location }) => {
                    return Err(self.redirected(&url, location.as_deref(), status, context))
                }
                Verdict::Stop(Stop::RateLimited) => {
                    return Err(rate_limited(self.budget().reset, status, context))
                }
                Verdict::Pause { after } => {
                    secondary += 1;
                    let limit = SecondaryLimit {
                        status,
                        after,
                        message: response::message(&body),
                        count: secondary,
                    };
                    self.wait_out(ticket, endpoint, context, limit).await?;
                }
                Verdict::Retry => {
                    self.pacer.accepted(&ticket);
                    drop(ticket);
                    failures += 1;
                    if failures >= ATTEMPTS {
                        return Err(server_failed(&body, status, context));
                    }
                    tracing::warn!("{context}: HTTP {}; retrying", status.as_u16());
                    self.retry_after_backoff(failures).await;
                }
                // The caller reads the status (the other verdicts are not given for the API).
                Verdict::Done | Verdict::Authenticate(_) | Verdict::Stop(_) => {
                    self.pacer.accepted(&ticket);
                    drop(ticket);
                    let next = next_page(&headers, context)?;
                    return Ok(ApiResponse { status, next, body });
                }
            }
        }
    }

    /// A request to `url` with GitHub's headers and the token.
    fn build(&self, method: &Method, url: &Url) -> reqwest::RequestBuilder {
        let req = self
            .http
            .request(method.clone(), url.clone())
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .header(USER_AGENT, concat!("retention/", env!("CARGO_PKG_VERSION")));
        match &self.token {
            Some(t) => req.header(AUTHORIZATION, format!("Bearer {}", t.expose())),
            None => req,
        }
    }

    /// Count a retry and sleep the backoff of the `failures`th failure.
    async fn retry_after_backoff(&self, failures: u32) {
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        self.pacer.sleep(BACKOFF.delay(failures, None)).await;
    }

    /// A redirect, as the error that stops the request: where it pointed (`location`, relative
    /// to `url`), and that it is not followed.
    fn redirected(
        &self,
        url: &Url,
        location: Option<&str>,
        status: StatusCode,
        context: &str,
    ) -> ApiError {
        let to = location.and_then(|l| url.join(l).ok());
        let where_to = match &to {
            Some(u) if self.same_origin(u) => format!("to {}", u.path()),
            Some(u) => format!("to another origin, {}", origin(u)),
            None => "without a location".to_string(),
        };
        ApiError::new(
            ApiErrorKind::Redirected,
            context,
            format!("the API answered with a redirect {where_to}; retention follows no redirect (the token stays with the API, and only a 204 from the requested URL counts as a deletion)"),
        )
        .with_status(status.as_u16())
        .with_hint("check GITHUB_API_URL (it must be the API base itself: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server) and any proxy in between")
    }

    /// Wait out a secondary limit before the request is sent again, or stop when it lasts too
    /// long: a mutative request makes every mutative request wait and lowers their pace
    /// ([`Pacer::refused`]); a read holds back its endpoint for the wait.
    async fn wait_out(
        &self,
        ticket: Ticket<'_>,
        endpoint: &str,
        context: &str,
        limit: SecondaryLimit,
    ) -> Result<(), ApiError> {
        let SecondaryLimit {
            status,
            after,
            message,
            count,
        } = limit;
        self.stats.secondary_limits.fetch_add(1, Ordering::Relaxed);
        if count > SECONDARY_WAITS {
            return Err(ApiError::new(
                ApiErrorKind::SecondaryLimited { until: None },
                context,
                message,
            )
            .with_status(status.as_u16())
            .with_hint("GitHub kept answering with its secondary rate limit; run again later"));
        }
        if let Some(wait) = after.filter(|w| *w > MAX_SECONDARY_WAIT) {
            return Err(too_long(wait, context, status));
        }
        if ticket.is_mutative() {
            // Every mutative request waits (slots already booked are taken again after
            // the pause), and the pace drops to what GitHub accepted.
            let refusal = self.pacer.refused(&ticket, after);
            drop(ticket);
            if refusal.without_success > MAX_WITHOUT_SUCCESS {
                return Err(ApiError::new(
                    ApiErrorKind::SecondaryLimited { until: None },
                    context,
                    format!(
                        "GitHub's secondary rate limit accepted no deletion for {} minutes: {message}",
                        MAX_WITHOUT_SUCCESS.as_secs() / 60,
                    ),
                )
                .with_status(status.as_u16())
                .with_hint("another workflow may be using the same token; run again later (a scheduled run continues where this one stopped)"));
            }
            if refusal.first {
                tracing::warn!(
                    "{context}: GitHub's secondary rate limit (HTTP {}); every deletion waits {}s{}{}",
                    status.as_u16(),
                    refusal.wait.as_secs(),
                    if after.is_some() { " as told" } else { "" },
                    refusal
                        .lowered_to
                        .map(|p| format!(", then goes on at {p:.0} a minute"))
                        .unwrap_or_default()
                );
            }
            return Ok(());
        }
        let wait =
            after.unwrap_or_else(|| SECONDARY_DEFAULT_WAIT.saturating_mul(1 << (count - 1).min(4)));
        if wait > MAX_SECONDARY_WAIT {
            return Err(too_long(wait, context, status));
        }
        tracing::warn!(
            "{context}: GitHub's secondary rate limit (HTTP {}); waiting {}s as told",
            status.as_u16(),
            wait.as_secs()
        );
        drop(ticket);
        self.pacer.pause(endpoint, wait);
        self.pacer.sleep(wait).await;
        Ok(())
    }

    fn record_budget(&self, headers: &HeaderMap) {
        let remaining = response::header_u64(headers, "x-ratelimit-remaining");
        if remaining.is_none() {
            return;
        }
        let mut b = crate::sync::lock(&self.budget);
        b.remaining = remaining;
        b.limit = response::header_u64(headers, "x-ratelimit-limit").or(b.limit);
        if let Some(r) = response::header_u64(headers, "x-ratelimit-reset")
            .and_then(|s| i64::try_from(s).ok())
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
        {
            b.reset = Some(r);
        }
    }
}

/// A `retry-after` longer than a run waits: the run stops, saying when to run again.
fn too_long(wait: Duration, context: &str, status: StatusCode) -> ApiError {
    let until = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::zero());
    ApiError::new(
        ApiErrorKind::SecondaryLimited { until: Some(until) },
        context,
        format!(
            "GitHub's secondary rate limit asks to wait {}s, more than the {}s this run waits",
            wait.as_secs(),
            MAX_SECONDARY_WAIT.as_secs()
        ),
    )
    .with_status(status.as_u16())
}

/// A secondary limit met by one request: its answer's status, `retry-after` and message, and
/// how many the request met so far (this one included).
struct SecondaryLimit {
    status: StatusCode,
    after: Option<Duration>,
    message: String,
    count: u32,
}

/// The network failed [`ATTEMPTS`] times: `what` the last time.
fn network_failed(what: &str, failures: u32, context: &str) -> ApiError {
    ApiError::new(ApiErrorKind::Network, context, format!("{what} (after {failures} attempts)"))
        .with_hint("check the network and GITHUB_API_URL, then run again (an interrupted `apply` leaves what it did not do to the next run)")
}

/// GitHub answered 5xx [`ATTEMPTS`] times: the last answer's `body` and `status`.
fn server_failed(body: &[u8], status: StatusCode, context: &str) -> ApiError {
    ApiError::new(ApiErrorKind::Server, context, response::message(body))
        .with_status(status.as_u16())
        .with_hint(
            "GitHub is failing; run again later (an interrupted `apply` leaves what it did not do to the next run)",
        )
}

/// The primary rate limit is spent until `reset` (as the last headers said).
fn rate_limited(reset: Option<DateTime<Utc>>, status: StatusCode, context: &str) -> ApiError {
    ApiError::new(
        ApiErrorKind::RateLimited { reset },
        context,
        "the API rate limit is spent",
    )
    .with_status(status.as_u16())
    .with_hint("run again after the reset; a scheduled run continues where this one stopped")
}

/// An answer larger than [`MAX_BODY_BYTES`] (`size`: what was seen of it).
fn too_large(size: &str, context: &str) -> ApiError {
    ApiError::new(
        ApiErrorKind::Decode,
        context,
        format!(
            "the answer is larger than {} MB ({size}); refusing to read it",
            MAX_BODY_BYTES >> 20
        ),
    )
    .with_hint("GitHub's pages are ~100 KB: check GITHUB_API_URL and any proxy in between")
}

/// The next page of a listing, from the `Link` header; a URL that does not parse is an error.
fn next_page(headers: &HeaderMap, context: &str) -> Result<Option<Url>, ApiError> {
    match link_next(headers) {
        Some(s) => Url::parse(&s).map(Some).map_err(|e| {
            ApiError::new(
                ApiErrorKind::Decode,
                context,
                format!("a Link header with a bad URL: {e}"),
            )
        }),
        None => Ok(None),
    }
}

/// Why an answer could not be read.
enum Received {
    Network(reqwest::Error),
    /// The body (or its announced length) passed [`MAX_BODY_BYTES`]; the size seen.
    TooLarge(String),
}

/// Status, headers and body of an answer, reading at most [`MAX_BODY_BYTES`] of the body.
async fn read_bounded(
    mut resp: reqwest::Response,
) -> Result<(StatusCode, HeaderMap, Vec<u8>), Received> {
    if let Some(len) = resp.content_length() {
        if len > MAX_BODY_BYTES as u64 {
            return Err(Received::TooLarge(format!("{len} bytes announced")));
        }
    }
    let status = resp.status();
    let headers = resp.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Received::Network)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Received::TooLarge(format!(
                "more than {MAX_BODY_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, headers, body))
}

fn origin(u: &Url) -> String {
    match u.port() {
        Some(p) => format!("{}://{}:{p}", u.scheme(), u.host_str().unwrap_or("")),
        None => format!("{}://{}", u.scheme(), u.host_str().unwrap_or("")),
    }
}

/// A network error in words, without the URL's query (no secrets are in URLs, but keep it short).
fn network_error_text(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the connection broke while reading the answer"
    } else {
        "the request failed"
    };
    let mut text = kind.to_string();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    if let Some(s) = source.take() {
        text.push_str(&format!(": {s}"));
    }
    text
}

/// The `rel="next"` URL of a `Link` header.
pub fn link_next(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            let mut pieces = part.split(';');
            let url = pieces.next()?.trim();
            let url = url.strip_prefix('<')?.strip_suffix('>')?;
            pieces
                .any(|p| {
                    let p = p.trim().replace(' ', "");
                    p == "rel=\"next\"" || p == "rel=next"
                })
                .then(|| url.to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn link_next_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            HeaderValue::from_static("<https://api.github.com/x?page=3>; rel=\"next\", <https://api.github.com/x?page=9>; rel=\"last\""),
        );
        assert_eq!(
            link_next(&h).as_deref(),
            Some("https://api.github.com/x?page=3")
        );
        h.insert(
            reqwest::header::LINK,
            HeaderValue::from_static("<https://api.github.com/x?page=1>; rel=\"prev\""),
        );
        assert_eq!(link_next(&h), None);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = GithubClient::new(
            "https://api.github.com",
            Some(Secret::new("ghp_supersecret")),
            Pacer::new(900.0, 1, 1.0),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("supersecret"));
    }

    #[test]
    fn origins_are_compared() {
        let c = GithubClient::new(
            "http://127.0.0.1:8080/api/v3/",
            None,
            Pacer::new(900.0, 1, 1.0),
        )
        .unwrap();
        assert!(c.same_origin(&c.url("/user").unwrap()));
        assert_eq!(
            c.url("/user").unwrap().as_str(),
            "http://127.0.0.1:8080/api/v3/user"
        );
        assert!(!c.same_origin(&Url::parse("http://127.0.0.1:8081/user").unwrap()));
    }
}
