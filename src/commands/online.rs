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

/// The packages `policy` governs, as the listing asks for them.
pub fn governed(policy: &Policy) -> github::fetch::Governed<'_> {
    github::fetch::Governed {
        package_type: policy.packages.package_type.as_str(),
        exact_names: policy.packages.names.exact_names(),
        is_match: Box::new(|name| policy.packages.names.is_match(name)),
    }
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
    let mut raw = github::fetch_inventory(client, scope, &governed(policy), Utc::now()).await?;
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
        note(&report.summary());
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
        note(&format!("warning: {s} (GitHub listed one image under two ids): both are kept, and the package's untagged versions with them"));
    }
}

/// The line that says what was listed: "listed 2 packages, 311 versions of the user acme (4 API
/// requests)".
pub fn say_listed(inventory: &Inventory, scope: &impl std::fmt::Display, requests: u64) {
    use crate::plural::count;
    let versions: usize = inventory.packages.iter().map(|p| p.versions.len()).sum();
    note(&format!(
        "listed {}, {} of {scope} ({})",
        count(inventory.packages.len(), "package", "packages"),
        count(versions, "version", "versions"),
        count(requests, "API request", "API requests")
    ));
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
    note(&format!("registry: {} ({})", choice.url, choice.source));
    settings.registry_client()
}

/// A line for standard error that does not break the spinner when one is shown.
pub fn note(line: &str) {
    crate::printer::status(line);
}

/// On a terminal, a spinner while `plan` lists packages and reads manifests (seconds, on a large
/// owner): what it is doing, the API requests so far and the time spent, as `apply` shows its
/// progress. Nothing elsewhere (an Actions log gets the lines of [`note`]). Cleared on drop.
pub struct Working {
    bar: Option<indicatif::ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Working {
    /// Start the spinner (inside the runtime): `what` and the client's request count.
    pub fn start(what: String, client: &GithubClient) -> Working {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() || crate::printer::quiet() {
            return Working {
                bar: None,
                ticker: None,
            };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} · {elapsed}") {
            bar.set_style(style);
        }
        bar.set_message(what.clone());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        crate::printer::show_bar(&bar);
        let (ticking, client) = (bar.clone(), client.clone());
        let ticker = tokio::spawn(async move {
            loop {
                ticking.set_message(format!(
                    "{what} · {}",
                    crate::plural::count(client.requests(), "API request", "API requests")
                ));
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        });
        Working {
            bar: Some(bar),
            ticker: Some(ticker),
        }
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
        crate::printer::hide_bar();
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
