//! The command line (a contract: tests and the action call it exactly like this; docs/operations.md, "Command line"):
//! the clap arguments here, and [`settings`]: what the shared flags and the environment resolve
//! to for one run (as ripgrep turns its low-level arguments into `HiArgs`).

pub mod settings;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};

pub use crate::render::Format;
pub use settings::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "retention",
    version,
    about = "Apply a declarative retention policy to GitHub Packages",
    long_about = "Apply a declarative retention policy to GitHub Packages.\n\n\
        retention lists an owner's packages and versions, reads container manifests so that \
        multi-platform images, signatures and attestations are never broken, decides the fate of \
        every version with a reason, and prints the plan or carries it out.",
    after_help = "Start offline, on the example inventory:\n  retention plan --policy policies/nightly-ghcr.yml \\\n    --inventory examples/inventory.json --now 2026-11-20T00:00:00Z"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print only errors and warnings on standard error (no notes, progress or summary lines).
    /// Standard output (the plan, the counts) is unchanged.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate policy files; print FILE:LINE:COL errors.
    Check(CheckArgs),
    /// Decide the fate of every version and print the plan (a dry run: nothing is deleted).
    Plan(PlanArgs),
    /// Plan, then delete what the plan deletes (or carry out a saved plan with --plan).
    Apply(ApplyArgs),
    /// Restore the versions a journal says were deleted (within GitHub's 30 days), and put back
    /// the tags it says were removed.
    Restore(RestoreArgs),
    /// Read a journal an `apply` wrote: what was done to each version, when and why. Sends
    /// nothing.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Save the listed inventory (packages, versions, manifests) for offline work.
    Snapshot(SnapshotArgs),
    /// Check that every image the policy keeps is whole (all its platform manifests present);
    /// exit 3 when one is not. Deletes nothing.
    Verify(VerifyArgs),
    /// Propose a first policy from the packages' tags (listed, or a saved inventory), and print
    /// what it would do. Deletes nothing.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Policy files to validate.
    #[arg(required = true, value_name = "POLICY")]
    pub policies: Vec<PathBuf>,
    /// A policy variable: `${NAME}` in the policy's strings becomes VALUE (letters, digits, . _ - /).
    /// Repeatable. Variables never come from the environment.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = crate::policy::vars::parse_var)]
    pub vars: Vec<(String, String)>,
}

/// Where and as of when a command works: the flags shared by every command that reads the
/// GitHub API or the registry (`plan`, `snapshot`, `verify`, `apply`). `cli::settings`
/// resolves them, with the environment, once per run.
#[derive(Debug, Args, Clone)]
pub struct Context {
    /// The owner (organisation or user); default the policy's `owner`, then GITHUB_REPOSITORY_OWNER.
    #[arg(long, value_name = "OWNER")]
    pub owner: Option<String>,
    /// Evaluate as if it were this time (RFC 3339); default the clock.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<DateTime<Utc>>,
    /// The container registry; an http:// URL is allowed for a local registry. Default: the
    /// one of GITHUB_SERVER_URL (github.com: ghcr.io; GHES and GHE.com: containers.HOST).
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
    /// Where manifests are cached (immutable by digest).
    #[arg(long, value_name = "DIR", env = crate::env::RETENTION_CACHE_DIR)]
    pub cache_dir: Option<PathBuf>,
    /// The name of the environment variable that holds the token.
    #[arg(long, value_name = "NAME", default_value = crate::env::GITHUB_TOKEN)]
    pub token_env: String,
}

/// Flags shared by every command that evaluates a policy.
#[derive(Debug, Args, Clone)]
pub struct EvalArgs {
    /// The policy file.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub policy: PathBuf,
    /// A policy variable: `${NAME}` in the policy's strings becomes VALUE (letters, digits, . _ - /).
    /// Repeatable. Variables never come from the environment.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = crate::policy::vars::parse_var)]
    pub vars: Vec<(String, String)>,
    /// A list of images in use (one reference a line, e.g. written by `kubectl get pods -A -o
    /// jsonpath='{..imageID}'`), read with the policy's `in_use` sources. Repeatable.
    #[arg(long = "in-use", value_name = "FILE")]
    pub in_use: Vec<PathBuf>,
    #[command(flatten)]
    pub ctx: Context,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub eval: EvalArgs,
    /// Evaluate against a saved inventory (what `snapshot` writes), with no network at all.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// With --inventory: read the container manifests that a decision needs and the inventory
    /// lacks from --registry (through the cache), instead of keeping what they could protect.
    #[arg(long, requires = "inventory")]
    pub read_manifests: bool,
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the plan to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Report what changes from this policy (the current one, `-` for standard input) to
    /// --policy, on the same inventory: newly deleted, no longer deleted, newly untagged.
    #[arg(long, value_name = "FILE")]
    pub base: Option<PathBuf>,
    /// List the parts of each image (platform manifests, attestations, signatures) as rows of
    /// their own instead of only counting them.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The policy file (or give --plan). With --plan too: the policy is evaluated now, and only
    /// what both the saved plan and the policy now delete is deleted.
    #[arg(
        long,
        short = 'p',
        value_name = "FILE",
        required_unless_present = "plan"
    )]
    pub policy: Option<PathBuf>,
    /// A policy variable: `${NAME}` in the policy's strings becomes VALUE (letters, digits, . _ - /).
    /// Repeatable. Variables never come from the environment.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = crate::policy::vars::parse_var)]
    pub vars: Vec<(String, String)>,
    /// A list of images in use (one reference a line), read with the policy's `in_use`
    /// sources. Repeatable.
    #[arg(long = "in-use", value_name = "FILE")]
    pub in_use: Vec<PathBuf>,
    /// Carry out a saved plan (JSON) instead of planning now; each version is re-checked first.
    #[arg(long, value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub ctx: Context,
    /// Refuse plans that delete more than this (overrides the policy's safety.max_deletions).
    #[arg(long, value_name = "N")]
    pub max_deletions: Option<u64>,
    /// Refuse plans that remove more than this many tags (overrides the policy's
    /// safety.max_untags; default 1000).
    #[arg(long, value_name = "N")]
    pub max_untags: Option<u64>,
    /// The journal: one JSON line per deletion outcome, appended.
    #[arg(long, value_name = "FILE", default_value = "retention-journal.jsonl")]
    pub journal: PathBuf,
    /// Deletions a minute at most (default 60: one a second, serially, as GitHub asks; up to
    /// the documented 180). Overrides the policy's safety.deletions_per_minute. A run goes
    /// slower when GitHub refuses, never faster.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=180))]
    pub deletions_per_minute: Option<u32>,
    /// Stop deleting after this long (e.g. `50m`), exit 3, and leave the rest to the next run:
    /// keep a job inside its `timeout-minutes`.
    #[arg(long, value_name = "DURATION", value_parser = parse_max_duration)]
    pub max_duration: Option<std::time::Duration>,
}

/// A `--max-duration`: `90s`, `50m`, `2h` (humantime), more than zero.
fn parse_max_duration(s: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(s.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be more than zero".to_string()),
        Err(e) => Err(format!("{e} (write e.g. 90s, 50m or 2h)")),
    }
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The journal an `apply` wrote.
    #[arg(long, value_name = "FILE")]
    pub journal: PathBuf,
    /// The container registry where removed tags are put back; an http:// URL is allowed for a
    /// local registry. Default: the registry of the GitHub instance in GITHUB_SERVER_URL
    /// (ghcr.io for github.com).
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
    /// Where manifests are cached (a removed tag is put back from its image's cached manifest).
    #[arg(long, value_name = "DIR", env = crate::env::RETENTION_CACHE_DIR)]
    pub cache_dir: Option<PathBuf>,
    /// The name of the environment variable that holds the token.
    #[arg(long, value_name = "NAME", default_value = crate::env::GITHUB_TOKEN)]
    pub token_env: String,
}

impl RestoreArgs {
    /// The shared settings' flags of `restore`: the registry, the cache and the token; the
    /// owners come from the journal, and nothing is decided as of a time.
    pub fn context(&self) -> Context {
        Context {
            owner: None,
            now: None,
            registry: self.registry.clone(),
            cache_dir: self.cache_dir.clone(),
            token_env: self.token_env.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// Print what each version (or VERSION) went through, when, and why it was deleted: the
    /// plan's reasons, the policy's sha256 and the registry.
    Show(JournalShowArgs),
}

#[derive(Debug, Args)]
pub struct JournalShowArgs {
    /// Only this version: its id, or its name (a digest, an npm version).
    #[arg(value_name = "VERSION")]
    pub version: Option<String>,
    /// The journal an `apply` wrote.
    #[arg(long, value_name = "FILE", default_value = "retention-journal.jsonl")]
    pub journal: PathBuf,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub eval: EvalArgs,
    /// Where to write the inventory.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub eval: EvalArgs,
    /// Check a saved inventory (what `snapshot` writes) instead, with no network at all.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Read a saved inventory (what `snapshot` writes) instead of listing the owner's packages.
    #[arg(long, value_name = "FILE", conflicts_with = "owner")]
    pub inventory: Option<PathBuf>,
    /// Write the policy to this file (refused when it exists) instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub write: Option<PathBuf>,
    /// Also write the nightly and pull-request workflows that run the policy into this
    /// directory (e.g. .github/workflows).
    #[arg(long, value_name = "DIR")]
    pub workflows: Option<PathBuf>,
    #[command(flatten)]
    pub ctx: Context,
}
