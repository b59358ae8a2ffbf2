//! What the online commands (`plan` without `--inventory`, `snapshot`, `apply`, `restore`) share:
//! the async runtime, the GitHub client and owner scope, and listing an inventory with its
//! manifests ([`crate::fill::listing`]). Who, where and as of when come from the run's
//! [`Settings`]: these are the wrappers that pass them.

use super::{Failure, Outcome};
use crate::cli::Settings;
use crate::fill::listing::Reader;
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
/// snapshot, every governed container package's): [`crate::fill::listing::inventory`].
pub async fn inventory(
    settings: &Settings,
    client: &GithubClient,
    scope: &Scope,
    policy: &Policy,
    fill: FillScope,
) -> Result<(RawInventory, Inventory), Failure> {
    let reader = Reader {
        cache: settings.cache(),
        client: &|| registry_client(settings),
    };
    crate::fill::listing::inventory(client, scope, policy, settings.now(), &reader, fill).await
}

/// List what `policy` and the `base` policy of `plan --base` need, for one owner
/// ([`crate::fill::listing::inventory_of_both`]).
pub async fn inventory_of_both(
    settings: &Settings,
    client: &GithubClient,
    scope: &Scope,
    policy: &Policy,
    base: Option<&Policy>,
) -> Result<Inventory, Failure> {
    let reader = Reader {
        cache: settings.cache(),
        client: &|| registry_client(settings),
    };
    let now = settings.now();
    crate::fill::listing::inventory_of_both(client, scope, policy, base, now, &reader).await
}

/// Read the manifests `policy`'s decisions need into `inventory` (through the cache), and say
/// how many were read: `plan --inventory --read-manifests`, and `init` once it has a policy.
pub fn fill(settings: &Settings, policy: &Policy, inventory: &mut Inventory) -> Outcome {
    let registry = registry_client(settings)?;
    let report = runtime()?.block_on(crate::fill::fill_manifests_scoped(
        &registry,
        settings.cache(),
        policy,
        inventory,
        settings.now(),
        FillScope::Needed,
    ));
    crate::printer::status(&report.summary());
    Ok(())
}

/// Connect, list every package the policy governs and read the manifests `fill` says (through
/// the cache): every governed container package's for what `snapshot` saves and `verify`
/// checks, none for the listing `init` proposes a policy from. Returns GitHub's objects as they
/// came and the typed inventory.
pub fn list(
    settings: &Settings,
    policy: &Policy,
    fill: FillScope,
) -> Result<(RawInventory, Inventory), Failure> {
    runtime()?.block_on(async {
        let (client, scope) = connect(settings, policy.owner.as_deref()).await?;
        inventory(settings, &client, &scope, policy, fill).await
    })
}

/// The registry client that reads manifests: `--registry`, else the registry of
/// GITHUB_SERVER_URL (ghcr.io for github.com). Says which one is used and why.
pub fn registry_client(settings: &Settings) -> Result<crate::registry::RegistryClient, Failure> {
    let choice = settings.registry()?;
    crate::printer::status(&format!("registry: {} ({})", choice.url, choice.source));
    settings.registry_client()
}
