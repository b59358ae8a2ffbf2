//! Listing what a policy governs and reading the manifests its decisions need: the inventory
//! every online command starts from (`plan`, `apply`, `snapshot`, `verify`, `init`), the two
//! policies' of `plan --base` ([`inventory_of_both`]), and the lines that say what was listed.
//!
//! The listing is GitHub's (`github::fetch`); here it is asked only for the governed
//! packages ([`governed`]), its repeated ids are dropped, and a digest GitHub listed under two
//! ids of a package loses its manifest ([`forget_shared`]): which of the two the graph means
//! cannot be told, so the evaluator's guards keep both. On a terminal, a spinner shows the
//! listing and the reads as they go ([`Working`]).

use chrono::{DateTime, Utc};

use super::FillScope;
use crate::github::{self, GithubClient, RawInventory, Scope};
use crate::inventory::{Inventory, SharedDigest};
use crate::outcome::Failure;
use crate::policy::Policy;
use crate::registry::{ManifestCache, RegistryClient};

/// The packages `policy` governs, as the listing asks for them.
pub fn governed(policy: &Policy) -> github::fetch::Governed<'_> {
    github::fetch::Governed {
        package_type: policy.packages.package_type.as_str(),
        exact_names: policy.packages.names.exact_names(),
        is_match: Box::new(|name| policy.packages.names.is_match(name)),
    }
}

/// Where the manifests are read: the cache, and the registry client, made only when an image
/// package is listed (making it says which registry is used).
pub struct Reader<'a> {
    pub cache: &'a ManifestCache,
    pub client: &'a (dyn Fn() -> Result<RegistryClient, Failure> + Sync),
}

/// List the governed packages and versions, and fill the manifests decisions as of `now` need
/// (or, for a snapshot, every governed container package's).
pub async fn inventory(
    client: &GithubClient,
    scope: &Scope,
    policy: &Policy,
    now: DateTime<Utc>,
    reader: &Reader<'_>,
    fill: FillScope,
) -> Result<(RawInventory, Inventory), Failure> {
    let mut raw = github::fetch_inventory(client, scope, &governed(policy), Utc::now()).await?;
    let mut typed = raw.typed()?;
    typed.drop_repeated_ids();
    let shared = typed.shared_digests();
    if typed
        .packages
        .iter()
        .any(|p| p.package.package_type.is_image())
    {
        let reg = (reader.client)()?;
        let report =
            super::fill_manifests_scoped(&reg, reader.cache, policy, &mut typed, now, fill).await;
        crate::printer::status(&report.summary());
        forget_shared(&mut typed, &shared);
        raw.take_manifests(&typed);
    }
    say_listed(&typed, scope, client.requests());
    Ok((raw, typed))
}

/// What `plan --base` lists for two policies of one owner: what `policy` governs, with the
/// manifests its decisions need, and what the `base` policy needs in addition. The same packages:
/// only the manifests the base policy needs besides (none when no image is among them); other
/// packages: those listed too.
pub async fn inventory_of_both(
    client: &GithubClient,
    scope: &Scope,
    policy: &Policy,
    base: Option<&Policy>,
    now: DateTime<Utc>,
    reader: &Reader<'_>,
) -> Result<Inventory, Failure> {
    let fill = FillScope::Needed;
    let (_, mut typed) = inventory(client, scope, policy, now, reader, fill).await?;
    let images = typed
        .packages
        .iter()
        .any(|p| p.package.package_type.is_image());
    match base {
        None => {}
        // The same packages, no image among them: nothing more to read.
        Some(base) if same_selection(policy, base) && !images => {}
        Some(base) if same_selection(policy, base) => {
            // The same packages: read only the manifests the base policy needs in addition.
            let reg = (reader.client)()?;
            let report =
                super::fill_manifests_scoped(&reg, reader.cache, base, &mut typed, now, fill).await;
            crate::printer::status(&format!("base policy: {}", report.summary()));
        }
        Some(base) => {
            // The base policy governs other packages: list those too.
            let (_, other) = inventory(client, scope, base, now, reader, fill).await?;
            typed.merge(other);
        }
    }
    Ok(typed)
}

/// Whether two policies govern the same packages (the same listing serves both).
fn same_selection(a: &Policy, b: &Policy) -> bool {
    a.packages.package_type == b.packages.package_type
        && a.packages.names.patterns == b.packages.names.patterns
}

/// Drop the manifest of each digest GitHub listed under two ids of a package, with a warning.
/// Without it both versions are kept by the evaluator's guards (a version selected for deletion
/// whose manifest is unknown is kept, and so is every untagged version of the package): which of
/// the two the graph means cannot be told.
pub fn forget_shared(inventory: &mut Inventory, shared: &[SharedDigest]) {
    for s in shared {
        inventory.packages[s.package_index]
            .manifests
            .remove(&s.digest);
        crate::printer::warning(&format!("{s} (GitHub listed one image under two ids): both are kept, and the package's untagged versions with them"));
    }
}

/// The line that says what was listed: "listed 2 packages, 311 versions of the user acme (4 API
/// requests)".
pub fn say_listed(inventory: &Inventory, scope: &impl std::fmt::Display, requests: u64) {
    use crate::plural::count;
    let versions: usize = inventory.packages.iter().map(|p| p.versions.len()).sum();
    crate::printer::status(&format!(
        "listed {}, {} of {scope} ({})",
        count(inventory.packages.len(), "package", "packages"),
        count(versions, "version", "versions"),
        count(requests, "API request", "API requests")
    ));
}

/// On a terminal, a spinner while `plan` lists packages and reads manifests (seconds, on a large
/// owner): what it is doing, the API requests so far and the time spent, as `apply` shows its
/// progress. Nothing elsewhere (an Actions log gets the status lines). Cleared on drop.
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
