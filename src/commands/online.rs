//! What the online commands (`plan` without `--inventory`, `snapshot`, `apply`, `restore`) share:
//! the async runtime, the GitHub client and owner scope, and listing an inventory with its
//! manifests. Who, where and as of when come from the run's [`Settings`].

use chrono::Utc;

use super::settings::Settings;
use super::Failure;
use crate::fill::FillScope;
use crate::github::{self, GithubClient, RawInventory, Scope};
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

/// The client and the scope of the owner: `--owner`, else `policy_owner` (the policy's, or the
/// plan's), else GITHUB_REPOSITORY_OWNER ([`Settings::owner_for`]).
pub async fn connect(
    settings: &Settings,
    policy_owner: Option<&str>,
) -> Result<(GithubClient, Scope), Failure> {
    let owner = settings.owner_for(policy_owner)?;
    let client = settings.github_client()?;
    let scope = github::discover(&client, &owner).await?;
    tracing::info!("packages of {scope} at {}", scope.prefix());
    Ok((client, scope))
}

/// List the governed packages and versions, and fill the manifests decisions need (or, for a
/// snapshot, every governed container package's).
pub async fn inventory(
    settings: &Settings,
    client: &GithubClient,
    scope: &Scope,
    policy: &Policy,
    fill: FillScope,
) -> Result<(RawInventory, Inventory), Failure> {
    let now = settings.now();
    let mut raw = github::fetch_inventory(client, scope, policy, Utc::now()).await?;
    let mut typed = raw.typed()?;
    typed.drop_repeated_ids();
    let shared = typed.shared_digests();
    if typed
        .packages
        .iter()
        .any(|p| p.package.package_type.is_image())
    {
        let reg = registry_client(settings)?;
        let report = crate::fill::fill_manifests_scoped(
            &reg,
            settings.cache(),
            policy,
            &mut typed,
            now,
            fill,
        )
        .await;
        eprintln!("{}", report.summary());
        forget_shared(&mut typed, &shared);
        raw.take_manifests(&typed);
    }
    say_listed(&typed, scope, client.requests());
    Ok((raw, typed))
}

/// Drop the manifest of each digest GitHub listed under two ids of a package, with a warning.
/// Without it both versions are kept by the evaluator's guards (a version selected for deletion
/// whose manifest is unknown is kept, and so is every untagged version of the package): which of
/// the two the graph means cannot be told.
pub fn forget_shared(inventory: &mut Inventory, shared: &[crate::inventory::SharedDigest]) {
    for s in shared {
        inventory.packages[s.package_index]
            .manifests
            .remove(&s.digest);
        eprintln!("warning: {s} (GitHub listed one image under two ids): both are kept, and the package's untagged versions with them");
    }
}

/// The line that says what was listed: "listed 2 packages, 311 versions of the user acme (4 API
/// requests)".
pub fn say_listed(inventory: &Inventory, scope: &impl std::fmt::Display, requests: u64) {
    use crate::plural::count;
    let versions: usize = inventory.packages.iter().map(|p| p.versions.len()).sum();
    eprintln!(
        "listed {}, {} of {scope} ({})",
        count(inventory.packages.len(), "package", "packages"),
        count(versions, "version", "versions"),
        count(requests, "API request", "API requests")
    );
}

/// Connect, list every package the policy governs and read all their manifests (through the
/// cache): what `snapshot` saves and `verify` checks. Returns GitHub's objects as they came and
/// the typed inventory.
pub fn inventory_of_everything_governed(
    settings: &Settings,
    policy: &Policy,
) -> Result<(RawInventory, Inventory), Failure> {
    runtime()?.block_on(async {
        let (client, scope) = connect(settings, policy.owner.as_deref()).await?;
        inventory(settings, &client, &scope, policy, FillScope::AllGoverned).await
    })
}

/// The registry client that reads manifests: `--registry`, else the registry of
/// GITHUB_SERVER_URL (ghcr.io for github.com). Says which one is used and why.
pub fn registry_client(settings: &Settings) -> Result<crate::registry::RegistryClient, Failure> {
    let choice = settings.registry()?;
    eprintln!("registry: {} ({})", choice.url, choice.source);
    settings.registry_client()
}
