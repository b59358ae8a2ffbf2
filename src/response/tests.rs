//! The classifier as a table: one row per answer, for each kind of request.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::StatusCode;

use super::*;

const SECONDARY: &str = r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}"#;
const BEARER: &str =
    r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:acme/api:pull""#;

fn bearer() -> Challenge {
    Challenge::Bearer {
        realm: "https://ghcr.io/token".into(),
        service: Some("ghcr.io".into()),
        scope: Some("repository:acme/api:pull".into()),
    }
}

fn pause(seconds: Option<u64>) -> Verdict {
    Verdict::Pause {
        after: seconds.map(Duration::from_secs),
    }
}

fn redirected(to: &str) -> Verdict {
    Verdict::Stop(Stop::Redirected {
        location: Some(to.into()),
    })
}

/// One row: its name, the request, the status, the headers, the body, the verdict.
type Row = (
    &'static str,
    Request,
    u16,
    &'static [(&'static str, &'static str)],
    &'static str,
    Verdict,
);

#[test]
fn every_answer_has_one_verdict() {
    use Request::{Api, ManifestRead, Push, Token};
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        // GitHub's API: 2xx and the caller's statuses are done.
        ("200", Api, 200, &[], "", Verdict::Done),
        ("204 (a deletion)", Api, 204, &[], "", Verdict::Done),
        ("200 with remaining 0 (the last point spent, answered)", Api, 200, &[("x-ratelimit-remaining", "0")], "", Verdict::Done),
        // Redirects stop, naming where they pointed; 304 is a 3xx too.
        ("301", Api, 301, &[("location", "/repos/a/b")], "", redirected("/repos/a/b")),
        ("302 elsewhere", Api, 302, &[("location", "https://evil.example/x")], "", redirected("https://evil.example/x")),
        ("307", Api, 307, &[("location", "/x")], "", redirected("/x")),
        ("308 without a location", Api, 308, &[], "", Verdict::Stop(Stop::Redirected { location: None })),
        ("304", Api, 304, &[], "", Verdict::Stop(Stop::Redirected { location: None })),
        // 4xx go to the caller.
        ("400", Api, 400, &[], r#"{"message":"Bad Request"}"#, Verdict::Done),
        ("401 (a bad token: the caller's error)", Api, 401, &[("www-authenticate", BEARER)], "", Verdict::Done),
        ("403 plain (no permission)", Api, 403, &[], r#"{"message":"Must have admin rights"}"#, Verdict::Done),
        ("404", Api, 404, &[], r#"{"message":"Not Found"}"#, Verdict::Done),
        ("409", Api, 409, &[], "", Verdict::Done),
        ("422", Api, 422, &[], "", Verdict::Done),
        // Secondary limits pause, for retry-after when given.
        ("403 secondary-limit message", Api, 403, &[], SECONDARY, pause(None)),
        ("403 secondary-limit message as text", Api, 403, &[], "Secondary Rate Limit exceeded", pause(None)),
        ("403 with retry-after", Api, 403, &[("retry-after", "60")], "", pause(Some(60))),
        ("403 with retry-after and remaining 0", Api, 403, &[("retry-after", "30"), ("x-ratelimit-remaining", "0")], "", pause(Some(30))),
        ("429 without retry-after", Api, 429, &[], "", pause(None)),
        ("429 with retry-after", Api, 429, &[("retry-after", " 5 ")], "", pause(Some(5))),
        ("429 with an HTTP-date retry-after (not read)", Api, 429, &[("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT")], "", pause(None)),
        // A spent primary limit stops.
        ("403 remaining 0", Api, 403, &[("x-ratelimit-remaining", "0")], r#"{"message":"API rate limit exceeded"}"#, Verdict::Stop(Stop::RateLimited)),
        ("403 remaining 0 and a secondary message", Api, 403, &[("x-ratelimit-remaining", "0")], SECONDARY, Verdict::Stop(Stop::RateLimited)),
        ("429 remaining 0", Api, 429, &[("x-ratelimit-remaining", "0")], "", Verdict::Stop(Stop::RateLimited)),
        ("403 remaining 1", Api, 403, &[("x-ratelimit-remaining", "1")], "", Verdict::Done),
        // 5xx are retried; GitHub's retry-after on a 5xx is not read.
        ("500", Api, 500, &[], "", Verdict::Retry),
        ("502", Api, 502, &[], "", Verdict::Retry),
        ("503", Api, 503, &[], "", Verdict::Retry),
        ("503 with retry-after", Api, 503, &[("retry-after", "10")], "", Verdict::Retry),

        // A registry's manifest read.
        ("read 200", ManifestRead, 200, &[], "", Verdict::Done),
        ("read 401 with a Bearer challenge", ManifestRead, 401, &[("www-authenticate", BEARER)], "", Verdict::Authenticate(Some(bearer()))),
        ("read 401 with a Basic challenge", ManifestRead, 401, &[("www-authenticate", r#"Basic realm="Registry Realm""#)], "", Verdict::Authenticate(Some(Challenge::Basic))),
        ("read 401 without a challenge", ManifestRead, 401, &[], "", Verdict::Authenticate(None)),
        ("read 401 with an unknown scheme", ManifestRead, 401, &[("www-authenticate", "Negotiate")], "", Verdict::Authenticate(None)),
        ("read 403", ManifestRead, 403, &[], "", Verdict::Stop(Stop::Forbidden)),
        ("read 403 with a secondary message (GitHub's, not a registry's)", ManifestRead, 403, &[], SECONDARY, Verdict::Stop(Stop::Forbidden)),
        ("read 404", ManifestRead, 404, &[], "", Verdict::Stop(Stop::NotFound)),
        ("read 307 (not followed to the end)", ManifestRead, 307, &[("location", "/x")], "", Verdict::Stop(Stop::Refused)),
        ("read 400", ManifestRead, 400, &[], "", Verdict::Stop(Stop::Refused)),
        ("read 409", ManifestRead, 409, &[], "", Verdict::Stop(Stop::Refused)),
        ("read 429 without retry-after", ManifestRead, 429, &[], "", pause(None)),
        ("read 429 with retry-after", ManifestRead, 429, &[("retry-after", "2")], "", pause(Some(2))),
        ("read 500", ManifestRead, 500, &[], "", Verdict::Retry),
        ("read 502", ManifestRead, 502, &[], "", Verdict::Retry),
        ("read 503 with retry-after", ManifestRead, 503, &[("retry-after", "3")], "", pause(Some(3))),

        // A registry write: its statuses are the caller's, but for 401, 429 and 5xx.
        ("push 201", Push, 201, &[], "", Verdict::Done),
        ("push 202", Push, 202, &[], "", Verdict::Done),
        ("push HEAD 404 (the blob is not there yet)", Push, 404, &[], "", Verdict::Done),
        ("push 403", Push, 403, &[], "", Verdict::Done),
        ("push 401 with a Bearer challenge", Push, 401, &[("www-authenticate", BEARER)], "", Verdict::Authenticate(Some(bearer()))),
        ("push 401 without a challenge", Push, 401, &[], "", Verdict::Authenticate(None)),
        ("push 429", Push, 429, &[], "", pause(None)),
        ("push 500", Push, 500, &[], "", Verdict::Retry),

        // The token endpoint: anything but success stops, a 401 included.
        ("token 200", Token, 200, &[], "", Verdict::Done),
        ("token 401", Token, 401, &[("www-authenticate", BEARER)], "", Verdict::Stop(Stop::Refused)),
        ("token 403", Token, 403, &[], "", Verdict::Stop(Stop::Refused)),
        ("token 404", Token, 404, &[], "", Verdict::Stop(Stop::Refused)),
        ("token 429 with retry-after", Token, 429, &[("retry-after", "1")], "", pause(Some(1))),
        ("token 502", Token, 502, &[], "", Verdict::Retry),
    ];
    let mut wrong = Vec::new();
    for (name, request, status, headers, body, want) in rows {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                HeaderName::from_static(k),
                HeaderValue::from_str(v).expect("a test header"),
            );
        }
        let status = StatusCode::from_u16(status).expect("a test status");
        let got = classify(request, status, &map, body.as_bytes());
        if got != want {
            wrong.push(format!("{name}: {got:?}, not {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn messages_come_from_json_objects_or_text() {
    assert_eq!(
        message(
            br#"{"message":"You have exceeded a secondary rate limit","documentation_url":"x"}"#
        ),
        "You have exceeded a secondary rate limit"
    );
    assert_eq!(message(b"[1,2]"), "[1,2]");
    assert_eq!(message(b""), "(no message)");
}
