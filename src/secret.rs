//! The token: a [`Secret`] that never shows itself, and the one way to read it from the value of
//! its environment variable ([`token_from_value`]; the variable is read once per run, by
//! `cli::settings`), so that the GitHub API client and the registry client see the same
//! token (a trailing newline, as `gh auth token > file` leaves, is trimmed for both).

/// A secret string (a token or password). Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The secret itself: only for building an `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The token in `value` (an environment variable's), without surrounding white space; `None`
/// when the variable is unset, empty or only white space.
pub fn token_from_value(value: Option<String>) -> Option<Secret> {
    value
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .map(Secret::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_newline_is_trimmed() {
        let s = token_from_value(Some("ghp_abc\n".into())).map(|s| s.expose().to_string());
        assert_eq!(s.as_deref(), Some("ghp_abc"));
        let s = token_from_value(Some("  ghp_abc \r\n".into())).map(|s| s.expose().to_string());
        assert_eq!(s.as_deref(), Some("ghp_abc"));
    }

    #[test]
    fn empty_or_blank_is_no_token() {
        assert_eq!(token_from_value(None), None);
        assert_eq!(token_from_value(Some(String::new())), None);
        assert_eq!(token_from_value(Some(" \n".into())), None);
    }

    #[test]
    fn never_shown() {
        let s = Secret::new("ghp_supersecret");
        assert!(!format!("{s:?} {s}").contains("supersecret"));
    }
}
