//! Registry authentication: credentials and bearer tokens (the `WWW-Authenticate` challenge a
//! 401 carries is read by [`crate::response`]).
//!
//! ghcr.io answers a first request with 401 and `WWW-Authenticate: Bearer realm=…,service=…,
//! scope=…`; a token comes from the realm (Basic auth with any user name and the GitHub token as
//! password, or anonymously for public images) and is then sent as `Authorization: Bearer`.
//! htpasswd registries answer `WWW-Authenticate: Basic realm=…` instead. The secret never appears
//! in logs: [`Secret`] redacts itself in `Debug` and `Display`.

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
