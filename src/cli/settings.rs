//! The settings of one run, resolved once at the start of a command from the shared flags
//! ([`crate::cli::Context`]) and the environment: the owner, `now`, the container registry, the
//! manifest cache, the token and the GitHub API base. The commands receive a [`Settings`] and
//! resolve none of these themselves, so that every stage of a run sees the same answers (one
//! `now` for every decision, one token for both clients).
//!
//! Building settings never fails and demands nothing: what can be wrong (no owner, no token, a
//! `GITHUB_SERVER_URL` that names no registry) is an error only when a command needs it, so that
//! `plan --inventory` needs neither a token nor a registry. The manifest cache is opened on
//! first use (opening it creates its directory, or warns that it cannot).
//!
//! Precedence: a flag beats the environment (`--registry` over `GITHUB_SERVER_URL`,
//! `--cache-dir` over `RETENTION_CACHE_DIR`, which clap reads); the owner is `--owner`, else the
//! policy's (or plan's) `owner:`, else `GITHUB_REPOSITORY_OWNER` ([`Settings::owner_for`]).

use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};

use super::Context;
use crate::github::{GithubClient, Pacer, DEFAULT_API_URL};
use crate::outcome::Failure;
use crate::registry::{Credentials, ManifestCache, RegistryChoice, RegistryClient, RegistryError};
use crate::secret::Secret;

/// Where and as of when a command works (see the module doc).
pub struct Settings {
    now: DateTime<Utc>,
    owner_flag: Option<String>,
    /// `GITHUB_REPOSITORY_OWNER`.
    owner_env: Option<String>,
    /// `--registry`, else derived from `GITHUB_SERVER_URL`; an error is reported when a
    /// registry is needed.
    registry: Result<RegistryChoice, RegistryError>,
    /// The user name sent with the token to the registry.
    registry_user: String,
    cache_dir: Option<PathBuf>,
    cache: OnceLock<ManifestCache>,
    /// The name of the variable the token was read from, for messages.
    token_env: String,
    token: Option<Secret>,
    /// `GITHUB_API_URL`, else `https://api.github.com`.
    api_url: String,
}

impl Settings {
    /// The settings of `ctx` with the process environment.
    pub fn from_env(ctx: &Context) -> Settings {
        Settings::resolve(ctx, |name| std::env::var(name).ok())
    }

    /// The settings of `ctx` with the environment variables `env` gives (a map in tests).
    pub fn resolve(ctx: &Context, env: impl Fn(&str) -> Option<String>) -> Settings {
        let set = |name: &str| env(name).filter(|v| !v.is_empty());
        Settings {
            now: ctx.now.unwrap_or_else(Utc::now),
            owner_flag: ctx.owner.clone(),
            owner_env: env(crate::env::GITHUB_REPOSITORY_OWNER),
            registry: crate::registry::origin::resolve(
                ctx.registry.as_deref(),
                env(crate::env::GITHUB_SERVER_URL).as_deref(),
            ),
            // ghcr.io accepts any user name with a token.
            registry_user: set(crate::env::RETENTION_REGISTRY_USER)
                .or_else(|| set(crate::env::GITHUB_ACTOR))
                .unwrap_or_else(|| "retention".to_string()),
            cache_dir: ctx.cache_dir.clone(),
            cache: OnceLock::new(),
            token: crate::secret::token_from_value(env(&ctx.token_env)),
            token_env: ctx.token_env.clone(),
            api_url: env(crate::env::GITHUB_API_URL)
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_API_URL.to_string()),
        }
    }

    /// `--now`, else the clock when the settings were resolved: every decision of a run is made
    /// as of this one instant.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// `--owner`, when given.
    pub fn owner_flag(&self) -> Option<&str> {
        self.owner_flag.as_deref()
    }

    /// The owner whose packages a run works on: `--owner`, else `policy_owner` (the policy's
    /// `owner:`, or the owner a saved plan was made for), else `GITHUB_REPOSITORY_OWNER`.
    pub fn owner_for(&self, policy_owner: Option<&str>) -> Result<String, Failure> {
        self.owner_flag
            .as_deref()
            .or(policy_owner)
            .or(self.owner_env.as_deref())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                Failure::usage(
                    "no owner: pass --owner, set `owner:` in the policy, or set GITHUB_REPOSITORY_OWNER",
                )
            })
    }

    /// A command that deletes needs a token: refuse before anything is sent or journaled.
    pub fn require_token_to_delete(&self) -> Result<(), Failure> {
        if self.token.is_some() {
            return Ok(());
        }
        Err(Failure::usage(format!(
            "apply needs a token, and the environment variable {} is not set\n  help: set it to a token that may delete packages (in a workflow: `GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}` with `permissions: packages: write`), or name another variable with --token-env",
            self.token_env
        )))
    }

    /// The GitHub API client (the token, when there is one, goes only to the API base).
    pub fn github_client(&self) -> Result<GithubClient, Failure> {
        if self.token.is_none() {
            tracing::warn!(
                "the environment variable {} is not set: calling the GitHub API without a token",
                self.token_env
            );
        }
        Ok(GithubClient::new(
            &self.api_url,
            self.token.clone(),
            Pacer::github(),
        )?)
    }

    /// Which registry holds the images, and why.
    pub fn registry(&self) -> Result<&RegistryChoice, Failure> {
        self.registry.as_ref().map_err(|e| Failure::from(e.clone()))
    }

    /// A new client for [`Settings::registry`], with the token (anonymous without one: public
    /// images can be read so).
    pub fn registry_client(&self) -> Result<RegistryClient, Failure> {
        let choice = self.registry()?;
        self.registry_client_at(&choice.url)
    }

    /// A new client for the registry at `url` (one a journal recorded), with the token.
    pub fn registry_client_at(&self, url: &str) -> Result<RegistryClient, Failure> {
        let credentials = self
            .token
            .clone()
            .map(|t| Credentials::new(self.registry_user.clone(), t));
        Ok(RegistryClient::new(url, credentials)?)
    }

    /// The manifest cache (`--cache-dir`, else its default), opened on first use.
    pub fn cache(&self) -> &ManifestCache {
        self.cache
            .get_or_init(|| ManifestCache::resolve(self.cache_dir.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn ctx() -> Context {
        Context {
            owner: None,
            now: None,
            registry: None,
            cache_dir: None,
            token_env: "GITHUB_TOKEN".to_string(),
        }
    }

    fn settings(ctx: &Context, env: &[(&str, &str)]) -> Settings {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::resolve(ctx, |k| env.get(k).cloned())
    }

    fn owner(s: &Settings, policy: Option<&str>) -> String {
        match s.owner_for(policy) {
            Ok(o) => o,
            Err(f) => format!("ERR {}: {}", f.code().exit(), f.message()),
        }
    }

    #[test]
    fn the_owner_flag_beats_the_policy_which_beats_the_environment() {
        let env = [("GITHUB_REPOSITORY_OWNER", "from-env")];
        let flagged = Context {
            owner: Some("from-flag".into()),
            ..ctx()
        };
        assert_eq!(
            owner(&settings(&flagged, &env), Some("from-policy")),
            "from-flag"
        );
        assert_eq!(
            owner(&settings(&ctx(), &env), Some("from-policy")),
            "from-policy"
        );
        assert_eq!(owner(&settings(&ctx(), &env), None), "from-env");
        assert_eq!(owner(&settings(&ctx(), &[]), Some(" acme \n")), "acme");
    }

    #[test]
    fn no_owner_anywhere_is_a_usage_error_that_names_the_three_ways() {
        assert_eq!(
            owner(&settings(&ctx(), &[("GITHUB_REPOSITORY_OWNER", "")]), None),
            "ERR 1: no owner: pass --owner, set `owner:` in the policy, or set GITHUB_REPOSITORY_OWNER"
        );
    }

    #[test]
    fn a_missing_token_is_refused_to_delete_with_help() {
        let named = Context {
            token_env: "MY_TOKEN".into(),
            ..ctx()
        };
        for env in [
            &[][..],
            &[("MY_TOKEN", " \n")][..],
            &[("GITHUB_TOKEN", "ghp_x")][..],
        ] {
            let e = settings(&named, env)
                .require_token_to_delete()
                .err()
                .map(|f| (f.code().exit(), f.to_string()));
            assert_eq!(
                e,
                Some((1, "error: apply needs a token, and the environment variable MY_TOKEN is not set\n  help: set it to a token that may delete packages (in a workflow: `GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` with `permissions: packages: write`), or name another variable with --token-env".to_string())),
                "{env:?}"
            );
        }
        assert!(settings(&named, &[("MY_TOKEN", "ghp_x\n")])
            .require_token_to_delete()
            .is_ok());
    }

    #[test]
    fn the_registry_follows_the_flag_then_github_server_url() {
        let url = |ctx: &Context, env: &[(&str, &str)]| {
            settings(ctx, env)
                .registry()
                .map(|c| c.url.clone())
                .map_err(|f| (f.code().exit(), f.to_string()))
        };
        let ghes = [("GITHUB_SERVER_URL", "https://ghes.example.com")];
        assert_eq!(
            url(&ctx(), &ghes),
            Ok("https://containers.ghes.example.com".to_string())
        );
        assert_eq!(url(&ctx(), &[]), Ok("https://ghcr.io".to_string()));
        let flagged = Context {
            registry: Some("http://127.0.0.1:5000".into()),
            ..ctx()
        };
        assert_eq!(
            url(&flagged, &ghes),
            Ok("http://127.0.0.1:5000".to_string())
        );
        // A bad GITHUB_SERVER_URL is an error only when a registry is needed, and then a usage
        // error with help; the flag makes it irrelevant.
        let bad = [("GITHUB_SERVER_URL", "ftp://ghes.example.com")];
        let (code, message) = url(&ctx(), &bad).unwrap_err();
        assert_eq!(code, 1);
        assert_eq!(
            message,
            "error: GITHUB_SERVER_URL `ftp://ghes.example.com` is not an http(s) URL with a host, so the container registry cannot be derived from it\n  help: pass --registry URL"
        );
        assert!(url(&flagged, &bad).is_ok());
    }

    #[test]
    fn the_registry_user_and_the_api_base_come_from_the_environment() {
        let s = settings(&ctx(), &[]);
        assert_eq!(s.registry_user, "retention");
        assert_eq!(s.api_url, DEFAULT_API_URL);
        let s = settings(
            &ctx(),
            &[
                ("GITHUB_ACTOR", "octocat"),
                ("GITHUB_API_URL", "https://ghes.example.com/api/v3"),
            ],
        );
        assert_eq!(s.registry_user, "octocat");
        assert_eq!(s.api_url, "https://ghes.example.com/api/v3");
        let s = settings(
            &ctx(),
            &[
                ("GITHUB_ACTOR", "octocat"),
                ("RETENTION_REGISTRY_USER", "bot"),
            ],
        );
        assert_eq!(s.registry_user, "bot");
    }

    #[test]
    fn now_is_read_once() {
        let fixed = "2026-11-20T00:00:00Z".parse().ok();
        let s = settings(
            &Context {
                now: fixed,
                ..ctx()
            },
            &[],
        );
        assert_eq!(Some(s.now()), fixed);
        let s = settings(&ctx(), &[]);
        let first = s.now();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_eq!(s.now(), first);
    }

    #[test]
    fn the_cache_is_opened_once_and_only_when_used() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("cache");
        let s = settings(
            &Context {
                cache_dir: Some(cache_dir.clone()),
                ..ctx()
            },
            &[],
        );
        // `plan --inventory` and `check` never create a cache directory.
        assert!(!cache_dir.exists());
        let first: *const ManifestCache = s.cache();
        assert_eq!(s.cache().dir(), Some(cache_dir.as_path()));
        assert!(cache_dir.join("manifests").is_dir());
        assert!(std::ptr::eq(first, s.cache()));
    }

    #[test]
    fn the_token_is_never_shown_by_the_clients_it_builds() {
        let s = settings(&ctx(), &[("GITHUB_TOKEN", "ghp_supersecret\n")]);
        let registry = s.registry_client().map(|c| format!("{c:?}"));
        assert!(
            registry
                .as_deref()
                .is_ok_and(|d| !d.contains("supersecret")),
            "{registry:?}"
        );
    }
}
