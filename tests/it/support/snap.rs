//! Whole command outputs as snapshots: what the user sees of one run of the binary (its command
//! line, exit code, stdout and stderr) becomes one text that `insta` compares with a reviewed
//! `.snap` file in `tests/it/snapshots/`, so that every word of every message is specified, not
//! only the fragment a `contains` happened to pick.
//!
//! What varies from run to run is replaced by a placeholder, with filters as narrow as possible
//! (a filter that also hid a digest, a count or a version id would make the test unable to fail):
//!
//! - a temporary directory (`tempfile`'s `<tmp>/.tmpXXXXXX`) -> `[TMP]`;
//! - the local stand-ins' origins, which have a random port: the GitHub stand-in -> `[API]`, the
//!   registry (or its proxy) -> `[REGISTRY]`, given to [`Filters::api`] and [`Filters::registry`];
//! - elapsed times (`in 1.2s`, `0.35s`, `1m 2s`) -> `[ELAPSED]`, only where the binary prints
//!   an elapsed time ([`Filters::elapsed`]), never a duration of the policy.
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
        Filters { settings }
    }

    /// The GitHub stand-in at `url` (`http://127.0.0.1:PORT`) -> `[API]`.
    pub fn api(self, url: &str) -> Filters {
        self.origin(url, "[API]")
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
