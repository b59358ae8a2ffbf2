//! Whole command outputs as snapshots: what the user sees of one run of the binary (its command
//! line, exit code, stdout and stderr) becomes one text that `insta` compares with a reviewed
//! `.snap` file in `tests/it/snapshots/`, so that every word of every message is specified, not
//! only the fragment a `contains` happened to pick.
//!
//! What varies from run to run is replaced by a placeholder, with filters as narrow as possible
//! (a filter that also hid a digest, a count or a version id would make the test unable to fail):
//!
//! - a temporary directory (`tempfile`'s `<tmp>/.tmpXXXXXX`) -> `[TMP]`; the crate's directory
//!   (fixtures) -> `[CRATE]`;
//! - the local stand-ins' origins, which have a random port: the GitHub stand-in -> `[API]`, the
//!   registry (or its proxy) -> `[REGISTRY]`, given to [`Filters::api`] and [`Filters::registry`];
//!   with the API, the rate budget left at the end of a run, which concurrency makes vary;
//! - the progress lines of `apply` (`retention: 12/138 versions: ...`, `retention: 3/9 tags:
//!   ...`) are removed: one is printed every few seconds, so how many there are and what they
//!   count depends on the machine's speed (a test whose point is progress counts them itself).
//!
//! Where concurrent workers make the order of some lines vary (the `skipped`/`failed` lines of
//! an apply summary, retry warnings), a test sorts those lines with [`Run::sort_stderr_lines`],
//! saying why.
//!
//! A test binds the filters for its scope, then snapshots each run:
//!
//! ```ignore
//! let _filters = snap::Filters::new().api(&server.url()).bind();
//! let run = snap::run(cmd);
//! insta::assert_snapshot!(run.transcript());
//! ```
//!
//! With `CI=true` insta fails on a difference (or a missing snapshot) and writes nothing; locally
//! it writes a `.snap.new` beside the snapshot to review (README, "Run the tests").

use std::ffi::OsStr;
use std::ops::Deref;
use std::process::{Command, Output};

/// One run of the binary: its command line and its output. Derefs to the [`Output`], so that
/// the asserts on the exit status and the parsed stdout read as before.
pub struct Run {
    args: Vec<String>,
    output: Output,
}

impl Deref for Run {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.output
    }
}

/// Runs `cmd` (the `retention` binary) to completion.
/// The binary, run in `dir` against a local GitHub server at `api` with `token`: time scaled by
/// 0.01, its own cache in `dir/cache`, and none of the runner's variables that would change what
/// it does (the owner, GitHub Actions, the log level).
pub fn against(api: &str, token: &str, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retention"));
    cmd.current_dir(dir)
        .env("GITHUB_API_URL", api)
        .env("GITHUB_TOKEN", token)
        .env("RETENTION_TEST_TIME_SCALE", "0.01")
        .env("RETENTION_CACHE_DIR", dir.join("cache"))
        .env_remove("GITHUB_REPOSITORY_OWNER")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("RUST_LOG");
    cmd
}

pub fn run(cmd: &mut Command) -> Run {
    let args: Vec<String> = cmd.get_args().map(quote).collect();
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run retention {}: {e}", args.join(" ")));
    Run { args, output }
}

/// Wraps an output obtained some other way (a child spawned and waited on) with its arguments.
pub fn of(args: &[&str], output: Output) -> Run {
    Run {
        args: args.iter().map(|a| quote(OsStr::new(a))).collect(),
        output,
    }
}

impl Run {
    /// The whole run as one text: command line, exit code, stdout, stderr.
    pub fn transcript(&self) -> String {
        let code = match self.output.status.code() {
            Some(c) => c.to_string(),
            None => format!("killed ({})", self.output.status),
        };
        format!(
            "$ retention {}\nexit: {code}\n--- stdout\n{}--- stderr\n{}",
            self.args.join(" "),
            block(&self.output.stdout),
            block(&self.output.stderr),
        )
    }

    /// Sorts the lines of stderr for which `pick` holds among themselves, each sorted line
    /// taking the place of one picked line: for lines whose order depends on which concurrent
    /// worker finished first. The other lines stay where they are.
    pub fn sort_stderr_lines(self, pick: impl Fn(&str) -> bool) -> Run {
        self.sort_stderr_lines_by_key(pick, str::to_string)
    }

    /// [`Run::sort_stderr_lines`] by a key of each line: for lines that also name what varies
    /// (a filter then hides it; the key must not depend on it, or the order would still vary).
    pub fn sort_stderr_lines_by_key(
        mut self,
        pick: impl Fn(&str) -> bool,
        key: impl Fn(&str) -> String,
    ) -> Run {
        let text = String::from_utf8_lossy(&self.output.stderr).into_owned();
        let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
        let at: Vec<usize> = (0..lines.len()).filter(|&i| pick(lines[i])).collect();
        let mut picked: Vec<&str> = at.iter().map(|&i| lines[i]).collect();
        picked.sort_by_cached_key(|l| (key(l), l.to_string()));
        for (&i, line) in at.iter().zip(picked) {
            lines[i] = line;
        }
        self.output.stderr = lines.concat().into_bytes();
        self
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
}

/// A stream's text, ending with a newline, with a marker when it does not end with one (the
/// snapshot would otherwise not show it).
fn block(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    if s.is_empty() || s.ends_with('\n') {
        s.into_owned()
    } else {
        format!("{s}\n[no newline at end]\n")
    }
}

/// An argument as a shell would need it: quoted when it has a space or a quote.
fn quote(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=.,:/@+[]%*".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The filters of a test's snapshots (module doc).
pub struct Filters {
    settings: insta::Settings,
}

impl Default for Filters {
    fn default() -> Self {
        Self::new()
    }
}

impl Filters {
    /// The filters every snapshot needs: temporary directories.
    pub fn new() -> Filters {
        let mut settings = insta::Settings::clone_current();
        let tmp = std::env::temp_dir();
        let tmp = tmp.to_string_lossy();
        let tmp = regex::escape(tmp.trim_end_matches('/'));
        // `tempfile`'s names: `.tmp` and 6 random characters from [A-Za-z0-9].
        settings.add_filter(
            &format!(r"(?:/private)?{tmp}/\.tmp[A-Za-z0-9]{{6}}"),
            "[TMP]",
        );
        // The crate's directory (fixtures are read from it): each checkout has its own.
        settings.add_filter(&regex::escape(env!("CARGO_MANIFEST_DIR")), "[CRATE]");
        // Progress lines (module doc).
        settings.add_filter(r"(?m)^retention: \d+/\d+ (?:versions|tags): [^\n]*\n", "");
        Filters { settings }
    }

    /// The GitHub stand-in at `url` (`http://127.0.0.1:PORT`) -> `[API]`; and the rate budget
    /// a run reports at its end (`rate budget: 4852 requests left`) -> `[B]`: it is the
    /// `x-ratelimit-remaining` of whichever concurrent answer came last.
    pub fn api(self, url: &str) -> Filters {
        self.origin(url, "[API]").add(
            r"rate budget: \d+ requests left",
            "rate budget: [B] requests left",
        )
    }

    /// The registry (or the proxy in front of it) at `url` -> `[REGISTRY]`.
    pub fn registry(self, url: &str) -> Filters {
        self.origin(url, "[REGISTRY]")
    }

    /// `http://HOST:PORT` and the bare `HOST:PORT` (in image references) -> `placeholder`.
    fn origin(mut self, url: &str, placeholder: &str) -> Filters {
        let url = url.trim_end_matches('/');
        let host = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .unwrap_or(url);
        self.settings
            .add_filter(&format!(r"https?://{}\b", regex::escape(host)), placeholder);
        self.settings
            .add_filter(&format!(r"\b{}\b", regex::escape(host)), placeholder);
        self
    }

    /// Any other filter: `regex` (narrow: module doc) -> `replacement`.
    pub fn add(mut self, regex: &str, replacement: &str) -> Filters {
        self.settings.add_filter(regex, replacement.to_string());
        self
    }

    /// Binds the filters until the guard is dropped (the end of the test).
    pub fn bind(self) -> insta::internals::SettingsBindDropGuard {
        self.settings.bind_to_scope()
    }
}

/// The snapshot filters of a test against the GitHub stand-in `server`, bound for the test's
/// scope (the registry, when a test has one, is added with [`Filters::registry`]).
pub fn api_filters(
    server: &super::github_server::GithubServer,
) -> insta::internals::SettingsBindDropGuard {
    Filters::new().api(&server.url()).bind()
}

/// A run's exit status and both outputs, for an assert's failure message.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
