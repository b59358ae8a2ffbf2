//! What an HTTP answer means for the request that got it: the one classifier of both HTTP
//! clients, the GitHub API's (`github/client.rs`) and the registry's (`registry/client.rs`).
//!
//! [`classify`] is pure: which request ([`Request`]), the status, the headers that matter
//! (`retry-after`, `x-ratelimit-remaining`, `Location`, `WWW-Authenticate`) and, where needed,
//! the body's message give a [`Verdict`]: hand the answer to the caller, retry, pause, answer
//! an authentication challenge, or stop. The clients act on it (sleep, pace, fetch a token,
//! build their error); how often and how long they wait stays theirs. Keeping the reading of
//! an answer in one place, tested as a table, is what lets both loops stay short.
//!
//! The two services differ on purpose, and the request says which one answered:
//! - GitHub's API: a 403 or 429 with `retry-after`, any 429, or a 403 whose message says
//!   "secondary rate limit" is a secondary limit (pause); a 403 or 429 with
//!   `x-ratelimit-remaining: 0` and no `retry-after` is the spent primary limit (stop); a 3xx
//!   stops (the token must not follow it, and a DELETE answered by a redirect deleted nothing
//!   we can vouch for); a 5xx is retried (its `retry-after` is not read); other statuses go to
//!   the caller, which knows what a 404 or a 400 means there.
//! - A registry: a 429, or a 5xx with `retry-after`, pauses every request to the registry; any
//!   other 5xx is retried; a 401 asks for authentication with the `WWW-Authenticate`
//!   challenge (except from the token endpoint itself). A manifest read stops on any other
//!   failure status; a write's statuses go to its caller (`registry/push.rs`).

mod challenge;

use std::time::Duration;

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::StatusCode;

pub use challenge::{parse_challenge, Challenge};

/// Which request was answered, and so which service answered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// A GitHub REST API call.
    Api,
    /// A registry read of a manifest by digest.
    ManifestRead,
    /// A registry write, or a read made on a write's behalf: the caller reads the status.
    Push,
    /// A request to a registry's token realm.
    Token,
}

/// What the client does with an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The answer is the request's: the caller reads its status and body.
    Done,
    /// A passing failure (a 5xx): send the request again after the backoff.
    Retry,
    /// The service asks to slow down (GitHub's secondary limit, a registry's 429): wait, for
    /// `after` when it said how long (`retry-after`), and send again.
    Pause { after: Option<Duration> },
    /// A registry's 401: answer its challenge (`None`: no Bearer or Basic challenge was given).
    Authenticate(Option<Challenge>),
    /// The request ends here: why.
    Stop(Stop),
}

/// Why a request ends without an answer for its caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// A 3xx from the GitHub API: its `Location` as given.
    Redirected { location: Option<String> },
    /// GitHub's primary rate limit is spent (and no `retry-after` says how long to wait).
    RateLimited,
    /// A manifest read answered 404.
    NotFound,
    /// A manifest read answered 403.
    Forbidden,
    /// Another failure status: of a manifest read, or any failure of the token endpoint.
    Refused,
}

/// What `request`'s answer means: `status`, `headers` and `body` (read only for GitHub's 403
/// and 429, whose message may name a secondary limit; a registry's body is not needed).
pub fn classify(request: Request, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
    match request {
        Request::Api => api(status, headers, body),
        Request::ManifestRead | Request::Push | Request::Token => {
            registry(request, status, headers)
        }
    }
}

fn api(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Verdict {
    if status.is_redirection() {
        let location = headers.get(LOCATION).and_then(|l| l.to_str().ok());
        return Verdict::Stop(Stop::Redirected {
            location: location.map(str::to_string),
        });
    }
    let limited = status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS;
    let after = retry_after(headers);
    if limited && after.is_none() && header_u64(headers, "x-ratelimit-remaining") == Some(0) {
        return Verdict::Stop(Stop::RateLimited);
    }
    let secondary = limited
        && (after.is_some()
            || status == StatusCode::TOO_MANY_REQUESTS
            || message(body)
                .to_ascii_lowercase()
                .contains("secondary rate limit"));
    if secondary {
        Verdict::Pause { after }
    } else if status.is_server_error() {
        Verdict::Retry
    } else {
        Verdict::Done
    }
}

fn registry(request: Request, status: StatusCode, headers: &HeaderMap) -> Verdict {
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        let after = retry_after(headers);
        return if status == StatusCode::TOO_MANY_REQUESTS || after.is_some() {
            Verdict::Pause { after }
        } else {
            Verdict::Retry
        };
    }
    match request {
        Request::ManifestRead | Request::Push if status == StatusCode::UNAUTHORIZED => {
            let challenge = headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok());
            Verdict::Authenticate(challenge.and_then(parse_challenge))
        }
        _ if status.is_success() => Verdict::Done,
        Request::ManifestRead if status == StatusCode::NOT_FOUND => Verdict::Stop(Stop::NotFound),
        Request::ManifestRead if status == StatusCode::FORBIDDEN => Verdict::Stop(Stop::Forbidden),
        Request::ManifestRead | Request::Token => Verdict::Stop(Stop::Refused),
        Request::Push | Request::Api => Verdict::Done,
    }
}

/// `retry-after` as delta-seconds (the HTTP-date form is ignored: backoff applies then).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_u64(headers, RETRY_AFTER.as_str()).map(Duration::from_secs)
}

/// A header holding a whole number (`x-ratelimit-remaining`, `retry-after`).
pub fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `message` from a JSON object body (GitHub's errors), else the text itself, shortened.
pub fn message(body: &[u8]) -> String {
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(m) = o.get("message").and_then(|m| m.as_str()) {
            return m.to_string();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "(no message)".to_string()
    } else {
        text.chars().take(300).collect()
    }
}

#[cfg(test)]
mod tests;
