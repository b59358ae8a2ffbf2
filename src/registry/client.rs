//! The OCI distribution API client: `GET /v2/<name>/manifests/<digest>`, verified, with
//! registry authentication and bounded retries (a 429, or a 5xx with `retry-after`, pauses every
//! request of the client: one registry asking to slow down is asked once, not by each read).
//!
//! One client serves one registry. It sends credentials only to that registry's origin and to a
//! token realm of the same origin (scheme, host and port); redirects to other hosts lose the `Authorization` header
//! (reqwest strips it on cross-host redirects).
//!
//! The client owns the one limit on manifest reads in flight ([`DEFAULT_CONCURRENCY`]), whoever
//! its callers are. Authentication is per repository: the first read of a repository goes alone
//! while the others of that repository wait, so that a cold run sends one anonymous request (and
//! its 401) per repository, fetches one token, and sends every other read with it; a repository's
//! lock is never held while another repository fetches its token.
//!
//! What an answer means (retry, pause the registry, answer a 401's challenge, or stop) is
//! [`crate::response::classify`]'s, shared with the GitHub client; the loops here act on it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::Url;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::auth::{Credentials, Secret, TokenResponse};
use super::RegistryError;
use crate::backoff::RetryPolicy;
use crate::response::{Challenge, Request, Stop, Verdict};
use crate::sync::lock;

/// The four manifest types, all accepted (without the OCI index type ghcr.io answers
/// `MANIFEST_UNKNOWN` for an index).
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// Manifests larger than this are refused (registries limit them to 4 MiB).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// What a refused push needs: the token's permission to write packages.
pub const PUSH_HINT: &str = "removing a tag pushes a placeholder manifest: the token needs write access to the package (`permissions: packages: write` for the workflow token, `write:packages` for a personal token)";

/// A 401 that cannot be answered.
const NO_CHALLENGE: &str = "401 Unauthorized without a Bearer or Basic challenge";

/// The default number of manifest reads in flight. Reads are not paced like the API's deletions,
/// so reading wider shortens the time before the first DELETE: with 64, reading a 100-version
/// listing page's manifests takes about as long as listing the next page, so the reads end soon
/// after the listing. Politeness comes from the registry: a 429 (or a 5xx with `retry-after`)
/// pauses every read of the registry until the wait has passed, then each read is retried.
pub const DEFAULT_CONCURRENCY: usize = 64;

/// What went wrong reading one manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The registry has no such manifest (404).
    NotFound,
    /// Authentication failed or is refused.
    Unauthorized,
    /// The bytes do not hash to the digest asked for.
    DigestMismatch,
    /// The digest is not `sha256:<64 hex>`, or the content is not UTF-8 or too large.
    Invalid,
    /// Another HTTP status, after retries where they apply.
    Http,
    /// The connection failed, after retries.
    Network,
}

/// A manifest could not be read: names the repository and digest.
#[derive(Clone, Debug, thiserror::Error)]
#[error("cannot read manifest {repository}@{digest} from {registry}: {message}")]
pub struct ManifestError {
    pub registry: String,
    pub repository: String,
    pub digest: String,
    pub kind: ErrorKind,
    pub message: String,
}

/// A client for one registry. Cheap to clone (shared state behind an `Arc`).
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    credentials: Option<Credentials>,
    retry: RetryPolicy,
    concurrency: usize,
    /// Per repository (or repository and purpose): how requests authenticate, each behind its
    /// own lock.
    auth: std::sync::Mutex<HashMap<String, Arc<Mutex<RepoAuth>>>>,
    /// Manifest reads in flight, at most [`Inner::concurrency`].
    reads: tokio::sync::Semaphore,
    manifest_requests: AtomicU64,
    token_requests: AtomicU64,
    /// The shared pause: no request to this registry is sent before this instant. Set by a 429
    /// (or a 5xx with `retry-after`), so that every reader waits, not only the one answered.
    paused_until: std::sync::Mutex<Option<Instant>>,
}

/// How the requests of one repository authenticate.
struct RepoAuth {
    /// Bumped by each new authorization, so that concurrent requests that hit the same 401
    /// fetch one new token, not one each.
    generation: u64,
    authz: Authorization,
    /// A request of the repository was answered: until then, one goes at a time (a cold run's
    /// reads would all be sent anonymously and all meet a 401).
    answered: bool,
}

#[derive(Clone)]
enum Authorization {
    Anonymous,
    Basic,
    Bearer(Secret),
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("registry", &self.inner.base.as_str())
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

/// Parse `--registry`: `https://ghcr.io`, `http://127.0.0.1:5000`, or a bare host (https).
pub fn parse_registry_url(s: &str) -> Result<Url, RegistryError> {
    let bad = |reason: String| RegistryError::BadUrl {
        url: s.to_string(),
        reason,
    };
    let with_scheme = if s.contains("://") {
        s.to_string()
    } else {
        format!("https://{s}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|e| bad(e.to_string()))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(bad(
            "only https:// (or http:// for a local registry) is supported".to_string(),
        ));
    }
    if url.host_str().is_none() {
        return Err(bad("no host".to_string()));
    }
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The repository of a package on the registry: `owner/name`, lower case, slashes kept.
pub fn repository_for(owner: &str, package: &str) -> String {
    format!("{owner}/{package}").to_lowercase()
}

impl RegistryClient {
    /// A client for `registry` (see [`parse_registry_url`]), with optional credentials.
    pub fn new(
        registry: &str,
        credentials: Option<Credentials>,
    ) -> Result<RegistryClient, RegistryError> {
        RegistryClient::with_options(
            registry,
            credentials,
            RetryPolicy::default(),
            DEFAULT_CONCURRENCY,
        )
    }

    /// Like [`RegistryClient::new`], with the retry policy and concurrency chosen.
    pub fn with_options(
        registry: &str,
        credentials: Option<Credentials>,
        retry: RetryPolicy,
        concurrency: usize,
    ) -> Result<RegistryClient, RegistryError> {
        let base = parse_registry_url(registry)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("retention/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| RegistryError::HttpClient {
                reason: e.to_string(),
            })?;
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                http,
                base,
                credentials,
                retry,
                concurrency: concurrency.max(1),
                auth: std::sync::Mutex::new(HashMap::new()),
                reads: tokio::sync::Semaphore::new(concurrency.max(1)),
                manifest_requests: AtomicU64::new(0),
                token_requests: AtomicU64::new(0),
                paused_until: std::sync::Mutex::new(None),
            }),
        })
    }

    /// The registry's base URL.
    pub fn registry(&self) -> &Url {
        &self.inner.base
    }

    /// How many manifest reads may be in flight at once.
    pub fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// Manifest GET requests sent so far (every attempt, including 401s and retries).
    pub fn manifest_requests(&self) -> u64 {
        self.inner.manifest_requests.load(Ordering::Relaxed)
    }

    /// Token requests sent so far.
    pub fn token_requests(&self) -> u64 {
        self.inner.token_requests.load(Ordering::Relaxed)
    }

    fn error(
        &self,
        repository: &str,
        digest: &str,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> ManifestError {
        ManifestError {
            registry: self.registry_display(),
            repository: repository.to_string(),
            digest: digest.to_string(),
            kind,
            message: message.into(),
        }
    }

    fn registry_display(&self) -> String {
        self.inner.base.as_str().trim_end_matches('/').to_string()
    }

    /// Read the manifest `digest` of `repository` (e.g. `acme/api`), verify that its bytes hash
    /// to `digest`, and return them exactly.
    pub async fn get_manifest(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<String, ManifestError> {
        if !crate::digest::is_sha256(digest) {
            return Err(self.error(
                repository,
                digest,
                ErrorKind::Invalid,
                "not a sha256 digest",
            ));
        }
        let url = self
            .inner
            .base
            .join(&format!("v2/{repository}/manifests/{digest}"))
            .map_err(|e| self.error(repository, digest, ErrorKind::Invalid, e.to_string()))?;
        let _permit = self.inner.reads.acquire().await.ok();
        let mut authenticated_here = false;
        loop {
            let slot = self.auth_slot(repository);
            let state = slot.lock().await;
            let (generation, authz) = (state.generation, state.authz.clone());
            // Until the repository has an answer, its reads go one at a time (holding the lock).
            let mut first = if state.answered {
                drop(state);
                None
            } else {
                Some(state)
            };
            let (verdict, response) = match self
                .send_with_retry(Request::ManifestRead, repository, digest, || {
                    self.inner.manifest_requests.fetch_add(1, Ordering::Relaxed);
                    let req = self
                        .inner
                        .http
                        .get(url.clone())
                        .header(ACCEPT, MANIFEST_ACCEPT);
                    self.authorize(req, &authz)
                })
                .await
            {
                Ok(response) => response,
                Err(e) => {
                    // No answer (the registry is unreachable, or failed after every retry):
                    // nothing is learnt by going one at a time, so the others go as they
                    // would (each with its own retries), not one after another.
                    if let Some(mut state) = first.take() {
                        state.answered = true;
                    }
                    return Err(e);
                }
            };
            if let Verdict::Authenticate(challenge) = verdict {
                let hint = self.credentials_hint();
                let challenge =
                    self.to_answer(challenge, authenticated_here, repository, digest, hint)?;
                match first.take() {
                    Some(mut state) => {
                        let authz = self
                            .authorization_for(repository, digest, &challenge, None)
                            .await?;
                        state.generation += 1;
                        state.authz = authz;
                        state.answered = true;
                    }
                    None => {
                        self.authenticate(repository, digest, generation, &challenge)
                            .await?
                    }
                }
                authenticated_here = true;
                continue;
            }
            if let Some(mut state) = first.take() {
                state.answered = true;
            }
            return self
                .manifest_from(verdict, response, repository, digest)
                .await;
        }
    }

    /// A manifest read's answer, once authenticated: the manifest, or why there is none.
    async fn manifest_from(
        &self,
        verdict: Verdict,
        response: reqwest::Response,
        repository: &str,
        digest: &str,
    ) -> Result<String, ManifestError> {
        match verdict {
                Verdict::Done => self.read_manifest(response, repository, digest).await,
                Verdict::Stop(Stop::NotFound) => Err(self.error(
                    repository,
                    digest,
                    ErrorKind::NotFound,
                    "404: the registry has no such manifest (deleted since it was listed, or the image path is wrong)",
                )),
                Verdict::Stop(Stop::Forbidden) => Err(self.error(
                    repository,
                    digest,
                    ErrorKind::Unauthorized,
                    format!("403 Forbidden; {}", self.credentials_hint()),
                )),
                // Another failure status (what is retried does not come back here).
                _ => {
                    let status = response.status();
                    let body = read_limited(response, 512).await.unwrap_or_default();
                    Err(self.error(
                        repository,
                        digest,
                        ErrorKind::Http,
                        format!("HTTP {status}: {}", String::from_utf8_lossy(&body).trim()),
                    ))
                }
            }
    }

    /// The challenge of a 401 to answer, or why it cannot be: a 401 again right after
    /// authenticating (`hint` says what the token needs), or no challenge to answer.
    fn to_answer(
        &self,
        challenge: Option<Challenge>,
        authenticated_here: bool,
        repository: &str,
        what: &str,
        hint: &str,
    ) -> Result<Challenge, ManifestError> {
        if authenticated_here {
            return Err(self.error(
                repository,
                what,
                ErrorKind::Unauthorized,
                format!("401 Unauthorized after authenticating; {hint}"),
            ));
        }
        challenge.ok_or_else(|| self.error(repository, what, ErrorKind::Unauthorized, NO_CHALLENGE))
    }

    /// The body of a manifest read's successful answer: at most [`MAX_MANIFEST_BYTES`], hashing
    /// to `digest`, UTF-8.
    async fn read_manifest(
        &self,
        response: reqwest::Response,
        repository: &str,
        digest: &str,
    ) -> Result<String, ManifestError> {
        let bytes = read_limited(response, MAX_MANIFEST_BYTES + 1)
            .await
            .map_err(|e| {
                self.error(
                    repository,
                    digest,
                    ErrorKind::Network,
                    format!("reading the body: {e}"),
                )
            })?;
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(self.error(
                repository,
                digest,
                ErrorKind::Invalid,
                "manifest larger than 4 MiB",
            ));
        }
        crate::digest::verify(digest, &bytes).map_err(|e| {
            self.error(repository, digest, ErrorKind::DigestMismatch, e.to_string())
        })?;
        String::from_utf8(bytes).map_err(|_| {
            self.error(
                repository,
                digest,
                ErrorKind::Invalid,
                "manifest is not UTF-8 text",
            )
        })
    }

    fn credentials_hint(&self) -> &'static str {
        if self.inner.credentials.is_some() {
            "check that the token may read this package (read:packages) and that the package name and owner are right"
        } else {
            "no token was given (set GITHUB_TOKEN) and anonymous access is refused"
        }
    }

    /// The authentication state of `key` (a repository, or a repository and purpose).
    fn auth_slot(&self, key: &str) -> Arc<Mutex<RepoAuth>> {
        let mut map = lock(&self.inner.auth);
        Arc::clone(map.entry(key.to_string()).or_insert_with(|| {
            Arc::new(Mutex::new(RepoAuth {
                generation: 0,
                authz: Authorization::Anonymous,
                answered: false,
            }))
        }))
    }

    async fn current_auth(&self, key: &str) -> (u64, Authorization) {
        let slot = self.auth_slot(key);
        let state = slot.lock().await;
        (state.generation, state.authz.clone())
    }

    /// `request` with the authorization `authz`: Basic with the credentials, or the bearer token,
    /// in a header marked sensitive. No header when anonymous (or the token is not header text).
    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        authz: &Authorization,
    ) -> reqwest::RequestBuilder {
        match authz {
            Authorization::Anonymous => request,
            Authorization::Basic => match &self.inner.credentials {
                Some(c) => c.basic_auth(request),
                None => request,
            },
            Authorization::Bearer(t) => {
                match HeaderValue::from_str(&format!("Bearer {}", t.expose())) {
                    Ok(mut h) => {
                        h.set_sensitive(true);
                        request.header(AUTHORIZATION, h)
                    }
                    Err(_) => request,
                }
            }
        }
    }

    /// Answer a challenge for `repository`. When another request already did so since this one
    /// read generation `seen`, use its result.
    async fn authenticate(
        &self,
        repository: &str,
        digest: &str,
        seen: u64,
        challenge: &Challenge,
    ) -> Result<(), ManifestError> {
        self.authenticate_as(repository, repository, digest, seen, challenge, None)
            .await
    }

    /// [`RegistryClient::authenticate`] for the authorization stored under `key`, asking the
    /// realm for `forced_scope` when given (pushes need `pull,push` whatever the challenge says).
    async fn authenticate_as(
        &self,
        key: &str,
        repository: &str,
        digest: &str,
        seen: u64,
        challenge: &Challenge,
        forced_scope: Option<&str>,
    ) -> Result<(), ManifestError> {
        let slot = self.auth_slot(key);
        let mut state = slot.lock().await;
        if state.generation != seen {
            return Ok(());
        }
        state.authz = self
            .authorization_for(repository, digest, challenge, forced_scope)
            .await?;
        state.generation += 1;
        state.answered = true;
        Ok(())
    }

    /// The authorization that answers `challenge` for `repository`: Basic, or a token from the
    /// realm (for `forced_scope` when given).
    async fn authorization_for(
        &self,
        repository: &str,
        digest: &str,
        challenge: &Challenge,
        forced_scope: Option<&str>,
    ) -> Result<Authorization, ManifestError> {
        Ok(match challenge {
            Challenge::Basic => {
                if self.inner.credentials.is_none() {
                    return Err(self.error(
                        repository,
                        digest,
                        ErrorKind::Unauthorized,
                        "the registry asks for a user name and password (Basic) and no token was given",
                    ));
                }
                Authorization::Basic
            }
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let scope = forced_scope.map(str::to_string).unwrap_or_else(|| {
                    scope
                        .clone()
                        .unwrap_or_else(|| format!("repository:{repository}:pull"))
                });
                let token = self
                    .fetch_token(repository, digest, realm, service.as_deref(), &scope)
                    .await?;
                Authorization::Bearer(token)
            }
        })
    }

    /// Send a write (or a read made on a write's behalf) to `repository` with the authorization
    /// kept for pushes (a token with scope `repository:…:pull,push`), answering one challenge.
    /// `what` names the request for errors (a digest or `tag pr-42`). The answer is returned
    /// whatever its status, except 401 after authenticating, 429 and 5xx (retried, then errors).
    pub(super) async fn send_for_push(
        &self,
        repository: &str,
        what: &str,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ManifestError> {
        let key = format!("{repository}\u{0}push");
        let scope = format!("repository:{repository}:pull,push");
        let mut authenticated_here = false;
        loop {
            let (generation, authz) = self.current_auth(&key).await;
            let (verdict, response) = self
                .send_with_retry(Request::Push, repository, what, || {
                    self.authorize(make(), &authz)
                })
                .await?;
            let Verdict::Authenticate(challenge) = verdict else {
                return Ok(response);
            };
            let challenge =
                self.to_answer(challenge, authenticated_here, repository, what, PUSH_HINT)?;
            self.authenticate_as(&key, repository, what, generation, &challenge, Some(&scope))
                .await?;
            authenticated_here = true;
        }
    }

    /// The HTTP client and base URL, for the write requests of [`super::push`].
    pub(super) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    async fn fetch_token(
        &self,
        repository: &str,
        digest: &str,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<Secret, ManifestError> {
        let mut url = Url::parse(realm).map_err(|e| {
            self.error(
                repository,
                digest,
                ErrorKind::Unauthorized,
                format!("invalid token realm `{realm}`: {e}"),
            )
        })?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(self.error(
                repository,
                digest,
                ErrorKind::Unauthorized,
                format!("token realm `{realm}` is not http(s)"),
            ));
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            q.append_pair("scope", scope);
        }
        // The token goes only to a realm of the registry's own origin (scheme, host and port):
        // another port of the same host is another server, and https never goes down to http.
        let same_origin = url.origin() == self.inner.base.origin();
        let send_credentials = self.inner.credentials.is_some() && same_origin;
        if self.inner.credentials.is_some() && !send_credentials {
            tracing::warn!(
                "registry {}: token realm {} is not the registry's origin; asking it for an anonymous token (the token is not sent there)",
                self.registry_display(),
                url.origin().ascii_serialization()
            );
        }
        let (verdict, response) = self
            .send_with_retry(Request::Token, repository, digest, || {
                self.inner.token_requests.fetch_add(1, Ordering::Relaxed);
                let req = self.inner.http.get(url.clone());
                match &self.inner.credentials {
                    Some(c) if send_credentials => c.basic_auth(req),
                    _ => req,
                }
            })
            .await?;
        if verdict != Verdict::Done {
            return Err(self.error(
                repository,
                digest,
                ErrorKind::Unauthorized,
                format!(
                    "the token endpoint answered {}; {}",
                    response.status(),
                    self.credentials_hint()
                ),
            ));
        }
        let body = read_limited(response, 1024 * 1024).await.map_err(|e| {
            self.error(
                repository,
                digest,
                ErrorKind::Network,
                format!("reading the token: {e}"),
            )
        })?;
        serde_json::from_slice::<TokenResponse>(&body)
            .ok()
            .and_then(TokenResponse::into_secret)
            .ok_or_else(|| {
                self.error(
                    repository,
                    digest,
                    ErrorKind::Unauthorized,
                    "the token endpoint's answer holds no token",
                )
            })
    }

    /// Wait while the registry asked every request to (see [`Inner::paused_until`]). The
    /// requests held back come back spread over the retry policy's `base`, not all at the same
    /// instant, so that the registry that asked them to wait does not get them in one burst.
    async fn wait_for_pause(&self) {
        loop {
            let until = *lock(&self.inner.paused_until);
            match until {
                Some(t) if t > Instant::now() => {
                    tokio::time::sleep_until(t).await;
                    let spread = u64::try_from(self.inner.retry.base.as_millis()).unwrap_or(0);
                    tokio::time::sleep(Duration::from_millis(fastrand::u64(0..=spread))).await;
                }
                _ => return,
            }
        }
    }

    /// Hold back every request to this registry for `wait` from now (a pause already longer
    /// stays). Returns whether the pause was extended.
    fn pause_all(&self, wait: Duration) -> bool {
        let until = Instant::now() + wait;
        let mut paused = lock(&self.inner.paused_until);
        if paused.is_some_and(|p| p >= until) {
            return false;
        }
        *paused = Some(until);
        true
    }

    /// Send a request, retrying network errors and what [`crate::response::classify`] says to
    /// retry (a 5xx) with backoff, bounded. A pause (a 429, or a 5xx with `retry-after`) holds
    /// back every request to the registry (not only this one) for the wait: the registry is
    /// asking the client, not one request, to slow down. Returns the answer with its verdict,
    /// which is then neither [`Verdict::Retry`] nor [`Verdict::Pause`].
    async fn send_with_retry(
        &self,
        request: Request,
        repository: &str,
        digest: &str,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(Verdict, reqwest::Response), ManifestError> {
        let policy = &self.inner.retry;
        let attempts = policy.attempts.max(1);
        let mut attempt = 1;
        loop {
            self.wait_for_pause().await;
            let why = match make().send().await {
                Ok(r) => {
                    let s = r.status();
                    let verdict = crate::response::classify(request, s, r.headers(), &[]);
                    if !matches!(verdict, Verdict::Retry | Verdict::Pause { .. }) {
                        return Ok((verdict, r));
                    }
                    if attempt >= attempts {
                        let body = read_limited(r, 512).await.unwrap_or_default();
                        return Err(self.error(
                            repository,
                            digest,
                            ErrorKind::Http,
                            format!(
                                "HTTP {s} after {attempts} attempts: {}",
                                String::from_utf8_lossy(&body).trim()
                            ),
                        ));
                    }
                    if let Verdict::Pause { after } = verdict {
                        let wait = policy.delay(attempt, after);
                        if self.pause_all(wait) {
                            tracing::info!(
                                "{}: HTTP {s}; every read of this registry waits {} ms",
                                self.registry_display(),
                                wait.as_millis()
                            );
                        }
                        attempt += 1;
                        continue;
                    }
                    format!("HTTP {s}")
                }
                Err(e) => {
                    if attempt >= attempts {
                        return Err(self.error(
                            repository,
                            digest,
                            ErrorKind::Network,
                            format!("{} after {attempts} attempts", error_chain(&e)),
                        ));
                    }
                    error_chain(&e)
                }
            };
            let wait = policy.delay(attempt, None);
            tracing::debug!(
                "{repository}@{digest}: {why}; retrying in {} ms",
                wait.as_millis()
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// Read at most `limit` bytes of a body (stops early; the rest is dropped).
async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        out.extend_from_slice(&chunk);
        if out.len() >= limit {
            out.truncate(limit);
            break;
        }
    }
    Ok(out)
}

/// An error with its causes (reqwest's top-level message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_urls() {
        assert_eq!(
            parse_registry_url("https://ghcr.io").unwrap().as_str(),
            "https://ghcr.io/"
        );
        assert_eq!(
            parse_registry_url("ghcr.io").unwrap().as_str(),
            "https://ghcr.io/"
        );
        assert_eq!(
            parse_registry_url("http://127.0.0.1:5000")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:5000/"
        );
        let e = parse_registry_url("ftp://x").unwrap_err();
        assert_eq!(
            e,
            RegistryError::BadUrl {
                url: "ftp://x".into(),
                reason: "only https:// (or http:// for a local registry) is supported".into()
            }
        );
        assert!(
            e.to_string()
                .contains("\n  help: pass --registry as https://HOST"),
            "{e}"
        );
    }

    #[test]
    fn repositories_are_lower_case_with_slashes() {
        assert_eq!(repository_for("Acme", "Tools/CLI"), "acme/tools/cli");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = RegistryClient::new(
            "https://ghcr.io",
            Some(Credentials::new("x", Secret::new("ghp_topsecret"))),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("topsecret"));
    }
}
