//! GitHub Actions runner integration: outputs, job summary, annotations and log groups.
//!
//! Active when `GITHUB_ACTIONS=true`, whatever the command (docs/action.md). Outside a
//! runner [`Runner::detect`] returns `None` and nothing here does anything, so the commands call it
//! unconditionally with one line each:
//!
//! ```text
//! check  -> annotate_policy_errors(&errors)        ::error file=…,line=…,col=…,title=…::message
//! plan   -> report_dry_run(&plan, refusal)         plan file, outputs, summary, listing
//!           report_diff(&doc, refusal)             the same for `plan --base`
//! apply  -> report_plan(&plan) … report_apply(&ApplyResult { deleted, …, failure })
//! ```
//!
//! What goes where (GitHub's "workflow commands" documentation):
//! - outputs are appended to the file named by `GITHUB_OUTPUT`, all through [`Runner::set_output`]
//!   ([`output_entry`]): `name=value` lines, or the heredoc form `name<<DELIMITER` … `DELIMITER`
//!   for a value with a line break (a delimiter the value does not contain), so that no value can
//!   add an output of its own. Writing an environment variable or the deprecated `::set-output`
//!   does not reach the workflow (a known complaint about other tools);
//! - the Markdown report is appended to the file named by `GITHUB_STEP_SUMMARY` (GitHub refuses a
//!   step summary over 1 MiB, so a longer report is cut and says where the full plan is);
//! - workflow commands (`::error`, `::warning`, `::group::`) go to standard error, which the runner
//!   scans like standard output, so that `retention plan --format json` on stdout stays clean JSON.
//!
//! The outputs: `to-delete` (versions the plan deletes), `deleted` and `failed` (counts after
//! apply; 0 for a dry run), `untagged` (tags removed from images that stay; 0 for a dry run),
//! `journal` (apply), `plan` (path of the plan JSON), `report` (path of the Markdown report,
//! `$RUNNER_TEMP/retention-plan.md`, for a later step: each step has its own
//! `GITHUB_STEP_SUMMARY`, so a later step cannot read this one's), `comment` (the same report cut
//! to fit a pull-request comment, [`cut_markdown`]). A plan over its limits is reported all the
//! same, opening with the refusal, with an `::error`; an apply that failed or stopped says so in
//! the summary's heading and an annotation. The plan JSON is written to
//! `$RUNNER_TEMP/retention-plan.json`, whatever `--format` and `--output` say: later steps of the
//! job can read it (upload it as an artifact to keep it), and the runner empties `RUNNER_TEMP`
//! after the job. A second run in the same job overwrites it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::env;
use crate::plan::Plan;
use crate::policy::PolicyErrors;

/// A runner file (`GITHUB_OUTPUT`, the job summary, the plan or report file under
/// `RUNNER_TEMP`) that could not be written; the message names the file and says how to fix it.
/// The commands turn it into a run error (exit 2).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RunnerError(pub String);

/// The file name of the plan JSON inside `RUNNER_TEMP`.
pub const PLAN_FILE_NAME: &str = "retention-plan.json";

/// The file name of the Markdown report inside `RUNNER_TEMP` (the `report` output): each step
/// has its own job-summary file, so a later step (a pull-request comment) reads this one.
pub const REPORT_FILE_NAME: &str = "retention-plan.md";

/// The file name of the report cut to fit a pull-request comment (the `comment` output).
pub const COMMENT_FILE_NAME: &str = "retention-comment.md";

/// A pull-request comment holds at most 65,536 characters: the report for one is cut below
/// that, with room for the workflow's own header.
pub const COMMENT_LIMIT: usize = 60_000;

/// GitHub refuses a step summary larger than 1 MiB; stay below it with room for the note.
const SUMMARY_LIMIT: usize = 1000 * 1024;

/// Deletions listed one per line in the log (inside a group); the rest are counted.
const LISTING_LIMIT: usize = 5000;

/// The runner's environment, read once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Runner {
    /// `GITHUB_OUTPUT`: the step's outputs file.
    pub output_file: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`: the step's Markdown summary file.
    pub summary_file: Option<PathBuf>,
    /// `RUNNER_TEMP`, else the system's temporary directory: where the plan JSON goes.
    pub temp_dir: PathBuf,
    /// `GITHUB_WORKSPACE`: annotation paths are made relative to it, as GitHub expects.
    pub workspace: Option<PathBuf>,
    /// The run's page (`GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID`): where
    /// a cut comment sends the reader for the whole report.
    pub run_url: Option<String>,
}

impl Runner {
    /// The runner integration, when running inside GitHub Actions (`GITHUB_ACTIONS=true`).
    pub fn detect() -> Option<Runner> {
        Runner::from_env(|name| std::env::var_os(name).filter(|v| !v.is_empty()))
    }

    /// Like [`Runner::detect`], reading variables through `var` (tests pass a map).
    pub fn from_env(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<Runner> {
        if var(env::GITHUB_ACTIONS)? != "true" {
            return None;
        }
        Some(Runner {
            output_file: var(env::GITHUB_OUTPUT).map(PathBuf::from),
            summary_file: var(env::GITHUB_STEP_SUMMARY).map(PathBuf::from),
            temp_dir: var(env::RUNNER_TEMP)
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir),
            workspace: var(env::GITHUB_WORKSPACE).map(PathBuf::from),
            run_url: match (
                var(env::GITHUB_SERVER_URL),
                var(env::GITHUB_REPOSITORY),
                var(env::GITHUB_RUN_ID),
            ) {
                (Some(server), Some(repo), Some(id)) => Some(format!(
                    "{}/{}/actions/runs/{}",
                    server.to_string_lossy().trim_end_matches('/'),
                    repo.to_string_lossy(),
                    id.to_string_lossy()
                )),
                _ => None,
            },
        })
    }

    /// One `::error` annotation per diagnostic, on the policy file's line and column, so that
    /// it shows on the pull request's diff.
    pub fn annotate_policy_errors(&self, errors: &PolicyErrors) {
        let mut out = String::new();
        for d in &errors.diagnostics {
            let mut message = d.message.clone();
            if let Some(hint) = &d.hint {
                let _ = write!(message, "\nhelp: {hint}");
            }
            out.push_str(&command(
                "error",
                &[
                    ("file", &self.annotation_path(&d.file)),
                    ("line", &d.line.to_string()),
                    ("col", &d.column.to_string()),
                    ("title", "Invalid retention policy"),
                ],
                &message,
            ));
        }
        emit(&out);
    }

    /// A `::warning::` annotation.
    pub fn warning(&self, title: &str, message: &str) {
        emit(&command("warning", &[("title", title)], message));
    }

    /// Print `lines` in a collapsed group of the log.
    pub fn group(&self, title: &str, lines: &str) {
        let mut out = command("group", &[], title);
        out.push_str(lines);
        if !lines.is_empty() && !lines.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("::endgroup::\n");
        emit(&out);
    }

    /// Append one output to `GITHUB_OUTPUT`. Without the variable (a runner from before the
    /// file commands), warn once per output and carry on: the run itself did not fail.
    pub fn set_output(&self, name: &str, value: &str) -> Result<(), RunnerError> {
        let Some(path) = &self.output_file else {
            self.warning(
                "retention cannot set outputs",
                &format!(
                    "{} is not set, so the output `{name}` cannot be set; update the runner",
                    env::GITHUB_OUTPUT
                ),
            );
            return Ok(());
        };
        append(path, &output_entry(name, value), env::GITHUB_OUTPUT)
    }

    /// Append Markdown to the job summary (`GITHUB_STEP_SUMMARY`), cut to GitHub's limit.
    pub fn append_summary(&self, markdown: &str) -> Result<(), RunnerError> {
        let Some(path) = &self.summary_file else {
            return Ok(());
        };
        let mut text = truncate_summary(markdown, SUMMARY_LIMIT);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        append(path, &text, env::GITHUB_STEP_SUMMARY)
    }

    /// Where the plan JSON goes: `$RUNNER_TEMP/retention-plan.json`.
    pub fn plan_path(&self) -> PathBuf {
        self.temp_dir.join(PLAN_FILE_NAME)
    }

    /// Write a plan already rendered as JSON (a plan, or a plan with its `diff`).
    fn write_plan_json(&self, json: &str) -> Result<PathBuf, RunnerError> {
        let path = self.plan_path();
        if let Err(e) = std::fs::create_dir_all(&self.temp_dir) {
            return Err(RunnerError(format!(
                "cannot create {} for the plan file: {e}\n  help: RUNNER_TEMP must name a writable directory",
                self.temp_dir.display()
            )));
        }
        write_temp_file(&path, "the plan", json)?;
        Ok(path)
    }

    /// Report a computed plan: write the plan JSON, set the `to-delete`, `plan` and `report`
    /// outputs, write the Markdown report to a file and append it to the job summary, turn the plan's warnings into `::warning`
    /// annotations and list the deletions in a log group. Returns the plan file's path.
    ///
    /// `apply` calls this before deleting, then [`Runner::report_apply`]; `plan` calls
    /// [`Runner::report_dry_run`].
    pub fn report_plan(&self, plan: &Plan) -> Result<PathBuf, RunnerError> {
        let markdown = crate::render::render(plan, crate::render::Format::Markdown, false);
        self.report_rendered(plan, &crate::render::json(plan), markdown)
    }

    /// `retention plan --base`: report the new policy's plan with its diff (the JSON plan has
    /// the `diff` object; the report is the diff's), and the outputs of a dry run. `refusal`:
    /// the new policy is over its limits (see [`Runner::report_dry_run`]).
    pub fn report_diff(
        &self,
        doc: &crate::diff::DiffDocument,
        refusal: Option<&str>,
    ) -> Result<PathBuf, RunnerError> {
        let json = crate::render::render_diff(
            doc,
            crate::render::Format::Json,
            crate::render::Options::default(),
        );
        let markdown = crate::render::render_diff(
            doc,
            crate::render::Format::Markdown,
            crate::render::Options::default(),
        );
        let markdown =
            crate::render::with_refusal(markdown, crate::render::Format::Markdown, refusal);
        let path = self.report_rendered(&doc.plan, &json, markdown)?;
        self.dry_run_outputs(refusal)?;
        Ok(path)
    }

    /// A dry run changed nothing: `deleted`, `failed` and `untagged` are 0. A plan over its
    /// limits is also an `::error` annotation (the run exits 1).
    fn dry_run_outputs(&self, refusal: Option<&str>) -> Result<(), RunnerError> {
        self.set_output("deleted", "0")?;
        self.set_output("failed", "0")?;
        self.set_output("untagged", "0")?;
        if let Some(refusal) = refusal {
            self.error("Plan refused", refusal);
        }
        Ok(())
    }

    /// What [`Runner::report_plan`] does, with the JSON and Markdown already rendered.
    fn report_rendered(
        &self,
        plan: &Plan,
        json: &str,
        mut markdown: String,
    ) -> Result<PathBuf, RunnerError> {
        let path = self.write_plan_json(json)?;
        let to_delete = plan.deletions().count();
        self.set_output("to-delete", &to_delete.to_string())?;
        self.set_output("plan", &path.to_string_lossy())?;
        // Estimated bytes freed by the plan's deletions; not set (empty) when unknown.
        if let Some(b) = plan.summary.bytes_freed {
            self.set_output("bytes-freed", &b.to_string())?;
        }

        for p in &plan.packages {
            for w in &p.warnings {
                self.warning(&format!("Package {}", p.name), w);
            }
        }
        if to_delete > 0 {
            self.group(
                &format!(
                    "retention: {} to delete",
                    crate::plural::count(to_delete, "version", "versions")
                ),
                &deletion_listing(plan),
            );
        }
        if !markdown.ends_with('\n') {
            markdown.push('\n');
        }
        let report = self.temp_dir.join(REPORT_FILE_NAME);
        write_temp_file(&report, "the report", &markdown)?;
        self.set_output("report", &report.to_string_lossy())?;
        // The same report cut to fit a pull-request comment, its sections closed before the note.
        let whole = match &self.run_url {
            Some(url) => format!("in the [run's job summary]({url}), and the JSON plan in its artifacts when the workflow uploads it"),
            None => "in the run's job summary, and the JSON plan in its artifacts when the workflow uploads it".to_string(),
        };
        let comment = cut_markdown(
            &markdown,
            COMMENT_LIMIT,
            &format!("> [!NOTE]\n> **The report was cut here**: a pull-request comment holds 65,536 characters. The whole report is {whole}."),
        );
        let comment_path = self.temp_dir.join(COMMENT_FILE_NAME);
        write_temp_file(&comment_path, "the comment", &comment)?;
        self.set_output("comment", &comment_path.to_string_lossy())?;
        let _ = writeln!(
            markdown,
            "\n<sub>Plan JSON: `{}` (the step's `plan` output).</sub>",
            path.display()
        );
        self.append_summary(&markdown)?;
        Ok(path)
    }

    /// `retention plan`: report the plan, and `deleted=0`, `failed=0`, `untagged=0` since
    /// nothing was changed. `refusal`: the plan is over `max_deletions` or `max_untags` (the
    /// report opens with it, and it is also an `::error` annotation).
    pub fn report_dry_run(
        &self,
        plan: &Plan,
        refusal: Option<&str>,
    ) -> Result<PathBuf, RunnerError> {
        let markdown = crate::render::render(plan, crate::render::Format::Markdown, false);
        let markdown =
            crate::render::with_refusal(markdown, crate::render::Format::Markdown, refusal);
        let path = self.report_rendered(plan, &crate::render::json(plan), markdown)?;
        self.dry_run_outputs(refusal)?;
        Ok(path)
    }

    /// After `apply`, whatever happened: the `deleted`, `failed`, `untagged` and `journal`
    /// outputs, and the result in the summary. A run that failed or stopped says so in the
    /// summary's heading ("Apply failed: …", "Apply stopped: …") and in an `::error` or
    /// `::warning` annotation, so that it never reads as a success.
    pub fn report_apply(&self, result: &ApplyResult<'_>) -> Result<(), RunnerError> {
        let ApplyResult {
            deleted,
            failed,
            untagged,
            journal,
            failure,
        } = *result;
        self.set_output("deleted", &deleted.to_string())?;
        self.set_output("failed", &failed.to_string())?;
        self.set_output("untagged", &untagged.to_string())?;
        if let Some(journal) = journal {
            self.set_output("journal", &journal.to_string_lossy())?;
        }
        let counts = format!(
            "{} deleted, {} removed from images that stay, {failed} failed.",
            crate::plural::count(deleted, "version", "versions"),
            crate::plural::count(untagged, "tag", "tags"),
        );
        let mut md = match failure {
            None => format!("\n### Applied\n\n{counts}\n"),
            Some(failure) => {
                // A stop leaves work for the next run; anything else failed.
                let label = if failure.stopped() {
                    "stopped"
                } else {
                    "failed"
                };
                let text = failure.to_string();
                let text = text
                    .strip_prefix(failure.severity().label())
                    .and_then(|t| t.strip_prefix(": "))
                    .unwrap_or(&text);
                let first = text.lines().next().unwrap_or_default();
                if failure.stopped() {
                    self.warning(&format!("Apply {label}"), text);
                } else {
                    self.error(&format!("Apply {label}"), text);
                }
                format!(
                    "\n### Apply {label}: {}\n\n{counts}\n\n<pre>{}</pre>\n",
                    html_escape(first),
                    html_escape(text)
                )
            }
        };
        if (failure.is_some() || failed > 0) && deleted + untagged + failed > 0 {
            md.push_str("\nThe journal lists what was deleted and untagged: `retention restore --journal FILE` (or the action's `mode: restore`) undoes it.\n");
        }
        if failure.is_none() && failed > 0 {
            self.warning(
                "Some deletions failed",
                &format!(
                    "{} failed and {deleted} succeeded; see the log",
                    crate::plural::count(failed, "deletion", "deletions")
                ),
            );
        }
        self.append_summary(&md)
    }

    /// An `::error::` annotation.
    pub fn error(&self, title: &str, message: &str) {
        emit(&command("error", &[("title", title)], message));
    }

    /// A path as GitHub wants it in an annotation: relative to the workspace when inside it.
    fn annotation_path(&self, file: &str) -> String {
        let path = Path::new(file);
        let Some(workspace) = &self.workspace else {
            return file.to_string();
        };
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            match std::env::current_dir() {
                Ok(cwd) => cwd.join(path),
                Err(_) => return file.to_string(),
            }
        };
        match absolute.strip_prefix(workspace) {
            Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
            Err(_) => file.to_string(),
        }
    }
}

/// After `apply`, in a runner: the counts (zero when nothing ran) and how the run ended reach
/// the workflow whatever happened. A runner file that cannot be written is said, not fatal: the
/// run's own outcome stands.
pub fn report_apply_run(
    results: &crate::apply::results::ApplyResults,
    journal: &Path,
    outcome: &crate::outcome::Outcome,
) {
    let Some(runner) = Runner::detect() else {
        return;
    };
    let result = ApplyResult {
        deleted: results.deleted,
        failed: results.failed,
        untagged: results.untagged,
        journal: Some(journal),
        failure: outcome.as_ref().err(),
    };
    if let Err(f) = runner.report_apply(&result) {
        crate::printer::failure(&f.into());
    }
}

/// What an `apply` did, for [`Runner::report_apply`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ApplyResult<'a> {
    pub deleted: u64,
    pub failed: u64,
    /// Tags removed from images that stay.
    pub untagged: u64,
    /// The journal, when the run got as far as naming one.
    pub journal: Option<&'a Path>,
    /// Why the run did not succeed.
    pub failure: Option<&'a crate::outcome::Failure>,
}

/// Write one of the step's files (`what`: "the plan", "the report") under RUNNER_TEMP.
fn write_temp_file(path: &Path, what: &str, text: &str) -> Result<(), RunnerError> {
    std::fs::write(path, text).map_err(|e| {
        RunnerError(format!(
            "cannot write {what} to {}: {e}\n  help: RUNNER_TEMP must name a writable directory",
            path.display()
        ))
    })
}

/// `&`, `<` and `>` as HTML entities: a message inside `<pre>` in the summary.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Annotate policy errors when inside a runner; a no-op elsewhere. For commands that load a
/// policy: `Policy::load(p).map_err(|e| { actions::annotate(&e); Failure::usage(e.to_string()) })`.
pub fn annotate(errors: &PolicyErrors) {
    if let Some(runner) = Runner::detect() {
        runner.annotate_policy_errors(errors);
    }
}

/// An `::error` annotation titled `title`, in a runner (nothing elsewhere).
pub fn annotate_error(title: &str, message: &str) {
    if Runner::detect().is_some() {
        emit(&command("error", &[("title", title)], message));
    }
}

/// One workflow command line: `::name key=value,key=value::message\n`.
pub fn command(name: &str, properties: &[(&str, &str)], message: &str) -> String {
    let mut s = format!("::{name}");
    for (i, (key, value)) in properties.iter().enumerate() {
        s.push(if i == 0 { ' ' } else { ',' });
        s.push_str(key);
        s.push('=');
        s.push_str(&escape_property(value));
    }
    s.push_str("::");
    s.push_str(&escape_data(message));
    s.push('\n');
    s
}

/// Escape a workflow command's message: `%`, `\r`, `\n` (as @actions/core does).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow command's property value: as [`escape_data`], plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One entry of the outputs file: `name=value`, or the heredoc form for a multi-line value,
/// with a delimiter that the value does not contain.
pub fn output_entry(name: &str, value: &str) -> String {
    if !value.contains('\n') && !value.contains('\r') {
        return format!("{name}={value}\n");
    }
    let mut delimiter = String::from("ghadelimiter_retention");
    while value.contains(&delimiter) {
        let _ = write!(delimiter, "_{:016x}", fastrand::u64(..));
    }
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// Cut `markdown` at a line boundary so that it and a closing note fit in `limit` bytes.
fn truncate_summary(markdown: &str, limit: usize) -> String {
    cut_markdown(
        markdown,
        limit,
        "> **The report was cut here**: GitHub limits a job summary to 1 MiB. The whole plan is in the file named by the step's `plan` output.",
    )
}

/// Cut `markdown` at a line boundary so that it, what closes the blocks left open (a code
/// fence, `<details>` sections) and `note` fit in `limit` bytes. The note comes after the
/// closing tags, so it is never hidden inside a collapsed section. Unchanged when it fits.
pub fn cut_markdown(markdown: &str, limit: usize, note: &str) -> String {
    if markdown.len() <= limit {
        return markdown.to_string();
    }
    let opened = |head: &str| {
        let details = head.matches("<details").count();
        let closed = head.matches("</details>").count();
        let fences = head
            .lines()
            .filter(|l| l.trim_start().starts_with("```"))
            .count();
        (details.saturating_sub(closed), fences % 2 == 1)
    };
    let closing = |(details, fence): (usize, bool)| {
        let mut c = String::new();
        if fence {
            c.push_str("\n```");
        }
        for _ in 0..details {
            c.push_str("\n\n</details>");
        }
        c
    };
    // The closing tags depend on where the cut falls: leave room for every section there is.
    let worst = closing((markdown.matches("<details").count(), true)).len();
    let budget = limit.saturating_sub(note.len() + worst + 4);
    let mut cut = budget.min(markdown.len());
    while !markdown.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &markdown[..cut];
    let head = match head.rfind('\n') {
        Some(i) => &head[..i],
        None => head,
    };
    format!("{head}{}\n\n{note}\n", closing(opened(head)))
}

/// The deletions, one per line: `package  id  name  [tags]  (reasons)`.
fn deletion_listing(plan: &Plan) -> String {
    let mut out = String::new();
    let total = plan.deletions().count();
    for (package, version) in plan.deletions().take(LISTING_LIMIT) {
        let tags = if version.tags.is_empty() {
            "untagged".to_string()
        } else {
            version.tags.join(", ")
        };
        let line = format!(
            "{}  {}  {}  [{}]  ({})",
            package.name,
            version.id,
            version.name,
            tags,
            version.reasons.join("; ")
        );
        // Rule names are the policy author's text: one line each, so that none can start a
        // workflow command of its own.
        out.extend(line.chars().map(|c| if c.is_control() { ' ' } else { c }));
        out.push('\n');
    }
    if total > LISTING_LIMIT {
        let _ = writeln!(
            out,
            "… and {} more (the plan file lists them all)",
            total - LISTING_LIMIT
        );
    }
    out
}

/// Append text to a runner file (each step's files are created by the runner).
fn append(path: &Path, text: &str, what: &str) -> Result<(), RunnerError> {
    let result = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.flush()));
    result.map_err(|e| {
        RunnerError(format!(
            "cannot append to {what} ({}): {e}\n  help: the runner sets {what} to a writable file; when running in a container, mount it",
            path.display()
        ))
    })
}

/// Workflow commands go to standard error (the runner reads both streams); a closed stream is
/// not worth failing the run for.
fn emit(text: &str) {
    if text.is_empty() {
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// A runner file that cannot be written: a run error (2).
impl From<RunnerError> for crate::outcome::Failure {
    fn from(e: RunnerError) -> crate::outcome::Failure {
        crate::outcome::Failure::run(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::ffi::OsString;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn detects_only_inside_actions() {
        assert_eq!(Runner::from_env(env(&[])), None);
        assert_eq!(Runner::from_env(env(&[("GITHUB_ACTIONS", "false")])), None);
        let r = Runner::from_env(env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", "/o"),
            ("GITHUB_STEP_SUMMARY", "/s"),
            ("RUNNER_TEMP", "/t"),
        ]));
        let r = r.as_ref();
        assert_eq!(r.and_then(|r| r.output_file.clone()), Some("/o".into()));
        assert_eq!(
            r.map(|r| r.plan_path()),
            Some("/t/retention-plan.json".into())
        );
    }

    #[test]
    fn escapes_as_github_documents() {
        assert_eq!(escape_data("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(
            command(
                "error",
                &[
                    ("file", "p,1.yml"),
                    ("line", "3"),
                    ("col", "5"),
                    ("title", "t: x")
                ],
                "bad: key\nhelp: y"
            ),
            "::error file=p%2C1.yml,line=3,col=5,title=t%3A x::bad: key%0Ahelp: y\n"
        );
        assert_eq!(command("group", &[], "title"), "::group::title\n");
    }

    #[test]
    fn multi_line_outputs_use_a_heredoc() {
        assert_eq!(output_entry("to-delete", "12"), "to-delete=12\n");
        assert_eq!(
            output_entry("x", "a\nb"),
            "x<<ghadelimiter_retention\na\nb\nghadelimiter_retention\n"
        );
        let tricky = output_entry("x", "a\nghadelimiter_retention\nb");
        let first = tricky.lines().next().unwrap_or_default();
        let delimiter = first.trim_start_matches("x<<");
        assert_ne!(delimiter, "ghadelimiter_retention");
        assert!(tricky.ends_with(&format!("\n{delimiter}\n")));
    }

    #[test]
    fn long_summaries_are_cut_at_a_line() {
        let md = "line\n".repeat(1000);
        let cut = truncate_summary(&md, 1000);
        assert!(cut.len() <= 1000, "{}", cut.len());
        assert!(cut.contains("The report was cut here"));
        assert!(cut.starts_with("line\nline\n"));
        assert_eq!(truncate_summary("short", 1000), "short");
    }

    #[test]
    fn apply_results_reach_outputs_and_summary() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let r = Runner {
            output_file: Some(dir.path().join("output")),
            summary_file: Some(dir.path().join("summary")),
            temp_dir: dir.path().join("temp"),
            workspace: None,
            run_url: None,
        };
        let plan = Plan {
            schema: crate::plan::SCHEMA,
            owner: "acme".into(),
            generated_at: chrono::DateTime::UNIX_EPOCH,
            policy_sha256: String::new(),
            max_deletions: None,
            summary: crate::plan::Summary::default(),
            packages: vec![],
        };
        let path = r.report_plan(&plan).map_err(|f| f.0)?;
        assert_eq!(path, dir.path().join("temp").join(PLAN_FILE_NAME));
        assert_eq!(Plan::load(&path)?, plan);
        let journal = dir.path().join("journal.jsonl");
        r.report_apply(&ApplyResult {
            deleted: 3,
            failed: 1,
            untagged: 1,
            journal: Some(&journal),
            failure: None,
        })
        .map_err(|f| f.0)?;
        assert_eq!(
            std::fs::read_to_string(dir.path().join("output"))?,
            format!(
                "to-delete=0\nplan={}\nreport={}\ncomment={}\ndeleted=3\nfailed=1\nuntagged=1\njournal={}\n",
                path.display(),
                dir.path().join("temp").join(REPORT_FILE_NAME).display(),
                dir.path().join("temp").join(COMMENT_FILE_NAME).display(),
                journal.display()
            )
        );
        let summary = std::fs::read_to_string(dir.path().join("summary"))?;
        assert!(
            summary.contains(
                "### Applied\n\n3 versions deleted, 1 tag removed from images that stay, 1 failed."
            ),
            "{summary}"
        );
        Ok(())
    }

    fn runner_in(dir: &Path) -> Runner {
        Runner {
            output_file: Some(dir.join("output")),
            summary_file: Some(dir.join("summary")),
            temp_dir: dir.join("temp"),
            workspace: None,
            run_url: Some("https://github.com/acme/app/actions/runs/7".into()),
        }
    }

    #[test]
    fn a_failed_or_stopped_apply_says_so_in_the_summary() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let r = runner_in(dir.path());
        r.report_apply(&ApplyResult {
            failure: Some(&crate::outcome::Failure::run(
                "deleting api 7: 403 <Forbidden>\n  help: give the token delete:packages",
            )),
            ..ApplyResult::default()
        })
        .map_err(|f| f.0)?;
        r.report_apply(&ApplyResult {
            deleted: 4,
            failure: Some(
                &crate::outcome::Failure::partial(
                    "the rate budget ran out: the next run continues",
                )
                .warning(),
            ),
            ..ApplyResult::default()
        })
        .map_err(|f| f.0)?;
        let summary = std::fs::read_to_string(dir.path().join("summary"))?;
        assert!(
            summary.contains("### Apply failed: deleting api 7: 403 &lt;Forbidden&gt;\n"),
            "{summary}"
        );
        assert!(
            summary.contains("  help: give the token delete:packages</pre>"),
            "{summary}"
        );
        assert!(
            summary.contains("### Apply stopped: the rate budget ran out: the next run continues\n\n4 versions deleted"),
            "{summary}"
        );
        assert!(!summary.contains("### Applied"), "{summary}");
        Ok(())
    }

    #[test]
    fn a_value_with_a_line_break_cannot_add_an_output() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let r = runner_in(dir.path());
        let journal = Path::new("/tmp/j\nto-delete=999999\n.jsonl");
        r.report_apply(&ApplyResult {
            journal: Some(journal),
            ..ApplyResult::default()
        })
        .map_err(|f| f.0)?;
        let written = std::fs::read_to_string(dir.path().join("output"))?;
        // Parse the file as the runner does: `name=value` lines and `name<<DELIMITER` blocks.
        let mut outputs = Vec::new();
        let mut lines = written.lines();
        while let Some(line) = lines.next() {
            if let Some((name, delimiter)) = line.split_once("<<") {
                let mut value = Vec::new();
                for l in lines.by_ref() {
                    if l == delimiter {
                        break;
                    }
                    value.push(l);
                }
                outputs.push((name.to_string(), value.join("\n")));
            } else if let Some((name, value)) = line.split_once('=') {
                outputs.push((name.to_string(), value.to_string()));
            }
        }
        let names: Vec<&str> = outputs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["deleted", "failed", "untagged", "journal"],
            "{written}"
        );
        assert_eq!(outputs[3].1, journal.to_string_lossy());
        Ok(())
    }

    #[test]
    fn a_refused_plan_is_reported_whole_with_an_error() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let r = runner_in(dir.path());
        let plan = Plan {
            schema: crate::plan::SCHEMA,
            owner: "acme".into(),
            generated_at: chrono::DateTime::UNIX_EPOCH,
            policy_sha256: String::new(),
            max_deletions: Some(1),
            summary: crate::plan::Summary::default(),
            packages: vec![],
        };
        r.report_dry_run(&plan, Some("refused: the plan deletes 3 versions, 2 more than safety.max_deletions (1)\n  help: raise it"))
            .map_err(|f| f.0)?;
        let report = std::fs::read_to_string(dir.path().join("temp").join(REPORT_FILE_NAME))?;
        assert!(
            report.starts_with("> [!CAUTION]\n> **Refused: the plan deletes 3 versions, 2 more than safety.max_deletions (1)**\n> - raise it\n\n## Retention plan for acme"),
            "{report}"
        );
        let summary = std::fs::read_to_string(dir.path().join("summary"))?;
        assert!(summary.starts_with("> [!CAUTION]"), "{summary}");
        let outputs = std::fs::read_to_string(dir.path().join("output"))?;
        assert!(outputs.contains("\nuntagged=0\n"), "{outputs}");
        Ok(())
    }

    #[test]
    fn a_cut_closes_open_sections_and_keeps_its_note_visible() {
        let mut md = String::from("## Retention plan\n\n| a | b |\n| --- | --- |\n");
        for p in 0..3 {
            md.push_str(&format!(
                "\n<details><summary>pkg-{p}</summary>\n\n| Version | Tags |\n| --- | --- |\n"
            ));
            for i in 0..200 {
                md.push_str(&format!("| `sha256:{i:012}` | pr-{i} |\n"));
            }
            md.push_str("\n</details>\n");
        }
        md.push_str("```mermaid\npie title x\n    \"a\" : 1\n```\n");
        let note = "> **cut**";
        for limit in [300, 2_000, 6_000, md.len() - 20] {
            let cut = cut_markdown(&md, limit, note);
            assert!(cut.len() <= limit, "{limit}: {}", cut.len());
            assert!(cut.ends_with("\n\n> **cut**\n"), "{cut}");
            // Every section opened is closed before the note; no code block is left open.
            let head = cut.trim_end_matches("\n\n> **cut**\n");
            assert_eq!(
                head.matches("<details").count(),
                head.matches("</details>").count(),
                "{limit}: {cut}"
            );
            assert_eq!(
                head.lines().filter(|l| l.starts_with("```")).count() % 2,
                0,
                "{cut}"
            );
        }
        assert_eq!(cut_markdown(&md, md.len(), note), md);
    }

    #[test]
    fn the_comment_report_is_cut_with_a_link_to_the_run() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let r = runner_in(dir.path());
        let plan = Plan {
            schema: crate::plan::SCHEMA,
            owner: "acme".into(),
            generated_at: chrono::DateTime::UNIX_EPOCH,
            policy_sha256: String::new(),
            max_deletions: None,
            summary: crate::plan::Summary::default(),
            packages: vec![],
        };
        let long = format!(
            "<details><summary>x</summary>\n\n{}",
            "| row |\n".repeat(20_000)
        );
        r.report_rendered(&plan, "{}", long)?;
        let comment = std::fs::read_to_string(dir.path().join("temp").join(COMMENT_FILE_NAME))?;
        assert!(comment.len() <= COMMENT_LIMIT, "{}", comment.len());
        assert!(
            comment.ends_with("\n\n</details>\n\n> [!NOTE]\n> **The report was cut here**: a pull-request comment holds 65,536 characters. The whole report is in the [run's job summary](https://github.com/acme/app/actions/runs/7), and the JSON plan in its artifacts when the workflow uploads it.\n"),
            "{}",
            &comment[comment.len() - 400..]
        );
        Ok(())
    }

    #[test]
    fn annotation_paths_are_relative_to_the_workspace() {
        let r = Runner {
            workspace: Some("/ws".into()),
            ..Runner::default()
        };
        assert_eq!(r.annotation_path("/ws/policies/a.yml"), "policies/a.yml");
        assert_eq!(r.annotation_path("/elsewhere/a.yml"), "/elsewhere/a.yml");
    }
}
