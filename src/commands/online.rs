//! What the online commands (`plan` without `--inventory`, `snapshot`, `apply`, `restore`) share:
//! the async runtime, the GitHub client and owner scope, and listing an inventory with its
//! manifests.

use chrono::{DateTime, Utc};

use super::Failure;
use crate::fill::FillScope;
use crate::github::{self, ApiError, ApiErrorKind, GithubClient, RawInventory, Scope};
use crate::inventory::Inventory;
use crate::policy::Policy;

/// A small multi-threaded runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::run(format!("cannot start the async runtime: {e}")))
}

/// The exit code an API error deserves: configuration is a usage error (1), the rest run errors (2).
pub fn api_failure(e: &ApiError) -> Failure {
    match e.kind {
        ApiErrorKind::Config => Failure::usage(e.to_string()),
        // As for the rate budget in `apply`: nothing is wrong, it is too early.
        ApiErrorKind::SecondaryLimited { .. } => Failure::partial(format!("error: {e}")),
        _ => Failure::run(format!("error: {e}")),
    }
}

/// The client (token from `token_env`, base from GITHUB_API_URL) and the owner's scope.
pub async fn connect(
    owner_flag: Option<&str>,
    policy_owner: Option<&str>,
    token_env: &str,
) -> Result<(GithubClient, Scope), Failure> {
    let owner = github::resolve_owner(owner_flag, policy_owner).ok_or_else(|| {
        Failure::usage(
            "no owner: pass --owner, set `owner:` in the policy, or set GITHUB_REPOSITORY_OWNER",
        )
    })?;
    let client = github::client_from_env(token_env).map_err(|e| api_failure(&e))?;
    let scope = github::discover(&client, &owner)
        .await
        .map_err(|e| api_failure(&e))?;
    tracing::info!("packages of {scope} at {}", scope.prefix());
    Ok((client, scope))
}

/// Where manifests come from.
pub struct RegistryArgs<'a> {
    /// `--registry`; `None`: derived from GITHUB_SERVER_URL.
    pub registry: Option<&'a str>,
    pub cache_dir: Option<&'a std::path::Path>,
    pub token_env: &'a str,
}

impl<'a> RegistryArgs<'a> {
    /// From the shared flags (`--registry`, `--cache-dir`, `--token-env`).
    pub fn of(ctx: &'a crate::cli::Context) -> RegistryArgs<'a> {
        RegistryArgs {
            registry: ctx.registry.as_deref(),
            cache_dir: ctx.cache_dir.as_deref(),
            token_env: &ctx.token_env,
        }
    }
}

/// List the governed packages and versions, and fill the manifests decisions need (or, for a
/// snapshot, every governed container package's).
pub async fn inventory(
    client: &GithubClient,
    scope: &Scope,
    policy: &Policy,
    registry: &RegistryArgs<'_>,
    now: DateTime<Utc>,
    fill: FillScope,
) -> Result<(RawInventory, Inventory), Failure> {
    let mut raw = github::fetch_inventory(client, scope, policy, Utc::now())
        .await
        .map_err(|e| api_failure(&e))?;
    let mut typed = raw.typed().map_err(|e| api_failure(&e))?;
    typed.drop_repeated_ids();
    let shared = typed.shared_digests();
    if typed
        .packages
        .iter()
        .any(|p| p.package.package_type.is_image())
    {
        let reg = registry_client(registry.registry, registry.token_env)?;
        let cache = crate::registry::ManifestCache::resolve(registry.cache_dir);
        let report =
            crate::fill::fill_manifests_scoped(&reg, &cache, policy, &mut typed, now, fill).await;
        eprintln!("{}", report.summary());
        for s in &shared {
            // Without the manifest both versions are kept by the evaluator's guards (a version
            // selected for deletion whose manifest is unknown is kept, and so is every untagged
            // version of the package): which of the two the graph means cannot be told.
            typed.packages[s.package_index].manifests.remove(&s.digest);
            eprintln!("warning: {s} (GitHub listed one image under two ids): both are kept, and the package's untagged versions with them");
        }
        raw.take_manifests(&typed);
    }
    eprintln!(
        "listed {} packages, {} versions of {scope} ({} API requests)",
        typed.packages.len(),
        typed
            .packages
            .iter()
            .map(|p| p.versions.len())
            .sum::<usize>(),
        client.requests()
    );
    Ok((raw, typed))
}

/// Connect, list every package the policy governs and read all their manifests (through the
/// cache): what `snapshot` saves and `verify` checks. Returns GitHub's objects as they came and
/// the typed inventory.
pub fn inventory_of_everything_governed(
    ctx: &crate::cli::Context,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(RawInventory, Inventory), Failure> {
    runtime()?.block_on(async {
        let (client, scope) = connect(
            ctx.owner.as_deref(),
            policy.owner.as_deref(),
            &ctx.token_env,
        )
        .await?;
        let registry = RegistryArgs::of(ctx);
        inventory(
            &client,
            &scope,
            policy,
            &registry,
            now,
            FillScope::AllGoverned,
        )
        .await
    })
}

/// The registry client: `--registry`, else the registry of GITHUB_SERVER_URL (ghcr.io for
/// github.com). Says which one is used and why.
pub fn registry_client(
    flag: Option<&str>,
    token_env: &str,
) -> Result<crate::registry::RegistryClient, Failure> {
    let choice = crate::registry::origin::resolve_from_env(flag).map_err(Failure::usage)?;
    eprintln!("registry: {} ({})", choice.url, choice.source);
    crate::registry::client_from_env(&choice.url, token_env).map_err(Failure::usage)
}
