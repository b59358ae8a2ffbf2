//! Registry authentication: `WWW-Authenticate` challenges, credentials and bearer tokens.
//!
//! ghcr.io answers a first request with 401 and `WWW-Authenticate: Bearer realm=…,service=…,
//! scope=…`; a token comes from the realm (Basic auth with any user name and the GitHub token as
//! password, or anonymously for public images) and is then sent as `Authorization: Bearer`.
//! htpasswd registries answer `WWW-Authenticate: Basic realm=…` instead. The secret never appears
//! in logs: [`Secret`] redacts itself in `Debug` and `Display`.

use std::collections::BTreeMap;

pub use crate::secret::Secret;

/// A user name and a secret. ghcr.io accepts any user name with a GitHub token as the password;
/// htpasswd registries need the real user name.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub username: String,
    pub secret: Secret,
}

impl Credentials {
    pub fn new(username: impl Into<String>, secret: Secret) -> Credentials {
        Credentials {
            username: username.into(),
            secret,
        }
    }

    /// `request` with `Authorization: Basic …` for these credentials (reqwest encodes the pair and
    /// marks the header sensitive).
    pub fn basic_auth(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.basic_auth(&self.username, Some(self.secret.expose()))
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// Get a token from `realm` (with `service` and `scope` as query parameters).
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    /// Send the credentials with every request.
    Basic,
}

/// Parse a `WWW-Authenticate` header value. Unknown schemes give `None`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = match header.split_once(char::is_whitespace) {
        Some((s, r)) => (s, r),
        None => (header, ""),
    };
    let params = parse_params(rest);
    if scheme.eq_ignore_ascii_case("bearer") {
        let realm = params.get("realm")?.clone();
        Some(Challenge::Bearer {
            realm,
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        })
    } else if scheme.eq_ignore_ascii_case("basic") {
        Some(Challenge::Basic)
    } else {
        None
    }
}

/// `key="value", key2=value2` (RFC 7235 auth-params; quoted strings may hold commas and `\"`).
fn parse_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            continue;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    out
}

/// A token endpoint's answer (`token` per the Docker spec, `access_token` per OAuth2).
#[derive(serde::Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

impl TokenResponse {
    pub(crate) fn into_secret(self) -> Option<Secret> {
        self.token
            .filter(|t| !t.is_empty())
            .or(self.access_token.filter(|t| !t.is_empty()))
            .map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ghcr_challenge_parses() {
        let c = parse_challenge(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:acme/api:pull""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into()),
                scope: Some("repository:acme/api:pull".into()),
            })
        );
    }

    #[test]
    fn quoted_commas_and_unquoted_values() {
        let c = parse_challenge(
            r#"bearer realm=https://r/token, scope="repository:a/b:pull,push", error="insufficient_scope""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://r/token".into(),
                service: None,
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge("Bearer service=x"), None);
    }

    #[test]
    fn secrets_are_redacted() {
        let c = Credentials::new("u", Secret::new("ghp_supersecret"));
        let shown = format!("{c:?} {}", c.secret);
        assert!(!shown.contains("supersecret"), "{shown}");
    }

    #[test]
    fn basic_auth_sends_the_pair_in_base64_and_hides_it() -> Result<(), reqwest::Error> {
        let c = Credentials::new("u", Secret::new("ghp_supersecret"));
        let request = c
            .basic_auth(reqwest::Client::new().get("http://127.0.0.1:1/v2/"))
            .build()?;
        let header = &request.headers()[reqwest::header::AUTHORIZATION];
        // base64("u:ghp_supersecret")
        assert_eq!(header, "Basic dTpnaHBfc3VwZXJzZWNyZXQ=");
        assert!(header.is_sensitive());
        Ok(())
    }
}
