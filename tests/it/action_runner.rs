//! End to end: the real binary inside a simulated GitHub Actions runner (`GITHUB_ACTIONS=true`
//! with temporary `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY` and `RUNNER_TEMP`), checking the exact
//! content of the files the runner reads and the annotations it turns into pull-request comments.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::snap::{self, Filters, Run};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/action");

/// A fresh runner environment in a temporary directory.
struct FakeRunner {
    dir: tempfile::TempDir,
}

impl FakeRunner {
    fn new() -> FakeRunner {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir(dir.path().join("temp")).expect("RUNNER_TEMP");
        std::fs::create_dir(dir.path().join("workspace")).expect("GITHUB_WORKSPACE");
        std::fs::write(dir.path().join("output"), "").expect("GITHUB_OUTPUT");
        std::fs::write(dir.path().join("summary"), "").expect("GITHUB_STEP_SUMMARY");
        FakeRunner { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn workspace(&self) -> PathBuf {
        self.path("workspace")
    }
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect("a runner file")
    }
    fn run(&self, args: &[&str]) -> Run {
        snap::run(
            Command::new(env!("CARGO_BIN_EXE_retention"))
                .args(args)
                .current_dir(self.workspace())
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_OUTPUT", self.path("output"))
                .env("GITHUB_STEP_SUMMARY", self.path("summary"))
                .env("RUNNER_TEMP", self.path("temp"))
                .env("GITHUB_WORKSPACE", self.workspace()),
        )
    }
}

fn copy_fixture(name: &str, to: &Path) -> PathBuf {
    let target = to.join(name);
    std::fs::copy(Path::new(FIXTURES).join(name), &target).expect("copy a fixture");
    target
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn plan_writes_outputs_summary_and_plan_file() {
    let _filters = Filters::new().bind();
    let runner = FakeRunner::new();
    let policy = copy_fixture("policy.yml", &runner.workspace());
    let inventory = Path::new(FIXTURES).join("inventory.json");
    let out = runner.run(&[
        "plan",
        "--policy",
        &policy.to_string_lossy(),
        "--inventory",
        &inventory.to_string_lossy(),
        "--now",
        "2026-11-20T00:00:00Z",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    // The deletions are listed in a collapsed group of the log.
    insta::assert_snapshot!(out.transcript());

    let plan_path = runner.path("temp").join("retention-plan.json");
    let report_path = runner.path("temp").join("retention-plan.md");
    assert_eq!(
        runner.read("output"),
        format!(
            "to-delete=2\nplan={}\nbytes-freed=496\nreport={}\ncomment={}\ndeleted=0\nfailed=0\nuntagged=0\n",
            plan_path.display(),
            report_path.display(),
            runner.path("temp").join("retention-comment.md").display()
        )
    );

    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).expect("the plan file"))
            .expect("the plan file is JSON");
    assert_eq!(plan["schema"], 1);
    assert_eq!(plan["summary"]["delete"], 2);
    assert_eq!(plan["summary"]["keep"], 3);
    // The library reads it back as a plan (what `apply --plan` does).
    let loaded = retention::plan::Plan::load(&plan_path).expect("a valid plan, schema 1");
    assert_eq!(loaded.deletions().count(), 2);

    // The summary is the Markdown report, then where the plan file is.
    let summary = runner.read("summary");
    let markdown = retention::render::render(&loaded, retention::render::Format::Markdown, false);
    assert!(
        summary.starts_with(markdown.trim_end()),
        "summary:\n{summary}"
    );
    assert!(summary.contains(&format!("Plan JSON: `{}`", plan_path.display())));
    // The same report in a file, for a later step (each step has its own summary file).
    let report = std::fs::read_to_string(&report_path).expect("the report file");
    assert_eq!(report.trim_end(), markdown.trim_end());
}

#[test]
fn a_second_step_appends_to_the_runner_files() {
    let _filters = Filters::new().bind();
    let runner = FakeRunner::new();
    std::fs::write(runner.path("output"), "earlier=1\n").expect("seed");
    let policy = copy_fixture("policy.yml", &runner.workspace());
    let inventory = Path::new(FIXTURES).join("inventory.json");
    let out = runner.run(&[
        "plan",
        "--policy",
        &policy.to_string_lossy(),
        "--inventory",
        &inventory.to_string_lossy(),
        "--now",
        "2026-11-20T00:00:00Z",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    insta::assert_snapshot!(out.transcript());
    assert!(runner
        .read("output")
        .starts_with("earlier=1\nto-delete=2\n"));
    // Standard output is still clean JSON: workflow commands go to standard error.
    let stdout: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is the JSON plan");
    assert_eq!(stdout["schema"], 1);
}

#[test]
fn check_annotates_policy_errors_on_their_line() {
    let _filters = Filters::new().bind();
    let runner = FakeRunner::new();
    std::fs::create_dir(runner.workspace().join("policies")).expect("mkdir");
    copy_fixture("bad-policy.yml", &runner.workspace().join("policies"));
    let out = runner.run(&["check", "policies/bad-policy.yml"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // `older_than: fortnight` on line 8, column 43; the unknown key `tagz` on line 10, column 13:
    // each an `::error` annotation, and in the plain FILE:LINE:COL form for people reading the log.
    insta::assert_snapshot!(out.transcript());
    // Nothing was planned, so no outputs.
    assert_eq!(runner.read("output"), "");
}

#[test]
fn an_absolute_policy_path_inside_the_workspace_is_made_relative() {
    let _filters = Filters::new().bind();
    let runner = FakeRunner::new();
    let policy = copy_fixture("bad-policy.yml", &runner.workspace());
    let out = runner.run(&[
        "plan",
        "--policy",
        &policy.to_string_lossy(),
        "--inventory",
        &Path::new(FIXTURES).join("inventory.json").to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    // `::error file=bad-policy.yml,...`: relative to the workspace.
    insta::assert_snapshot!(out.transcript());
}

#[test]
fn outside_a_runner_nothing_is_written() {
    let _filters = Filters::new().bind();
    let runner = FakeRunner::new();
    let policy = copy_fixture("policy.yml", &runner.workspace());
    let out = snap::run(
        Command::new(env!("CARGO_BIN_EXE_retention"))
            .args(["plan", "--policy"])
            .arg(&policy)
            .arg("--inventory")
            .arg(Path::new(FIXTURES).join("inventory.json"))
            .args(["--now", "2026-11-20T00:00:00Z"])
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_ACTIONS")
            .env("GITHUB_OUTPUT", runner.path("output"))
            .env("GITHUB_STEP_SUMMARY", runner.path("summary"))
            .env("RUNNER_TEMP", runner.path("temp")),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    insta::assert_snapshot!(out.transcript());
    assert_eq!(runner.read("output"), "");
    assert_eq!(runner.read("summary"), "");
    assert!(!text(&out.stderr).contains("::"));
}

#[test]
fn a_plan_over_max_deletions_still_reports_in_the_runner_and_annotates_the_refusal() {
    let _filters = Filters::new().bind();
    let runner = FakeRunner::new();
    let fixture = std::fs::read_to_string(Path::new(FIXTURES).join("policy.yml")).expect("fixture");
    let policy = runner.workspace().join("over.yml");
    std::fs::write(
        &policy,
        fixture.replace("max_deletions: 100", "max_deletions: 1"),
    )
    .expect("write the policy");
    let inventory = Path::new(FIXTURES).join("inventory.json");
    let base = copy_fixture("policy.yml", &runner.workspace());
    for with_base in [false, true] {
        std::fs::write(runner.path("output"), "").expect("reset GITHUB_OUTPUT");
        std::fs::write(runner.path("summary"), "").expect("reset GITHUB_STEP_SUMMARY");
        let mut args = vec![
            "plan".to_string(),
            "--policy".into(),
            policy.to_string_lossy().into_owned(),
            "--inventory".into(),
            inventory.to_string_lossy().into_owned(),
            "--now".into(),
            "2026-11-20T00:00:00Z".into(),
        ];
        if with_base {
            args.extend(["--base".into(), base.to_string_lossy().into_owned()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = runner.run(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("::error title=Plan refused::refused: the plan deletes 2 versions, 1 version more than safety.max_deletions (1)"),
            "{stderr}"
        );
        // Every output a dry run sets, `untagged` included (with a base policy too).
        let outputs = runner.read("output");
        for name in [
            "to-delete=2\n",
            "plan=",
            "report=",
            "deleted=0\n",
            "failed=0\n",
            "untagged=0\n",
        ] {
            assert!(
                outputs.contains(name),
                "{name} missing (base: {with_base}):\n{outputs}"
            );
        }
        let summary = runner.read("summary");
        assert!(
            summary.starts_with("> [!CAUTION]\n> **Refused: the plan deletes 2 versions"),
            "{summary}"
        );
        let report = std::fs::read_to_string(runner.path("temp").join("retention-plan.md"))
            .expect("the report file");
        assert!(report.starts_with("> [!CAUTION]"), "{report}");
        let heading = if with_base {
            "## Policy change"
        } else {
            "## Retention plan"
        };
        assert!(
            report.contains(heading),
            "the whole report follows: {report}"
        );
    }
}

/// The action's second step (`action/run.sh`) as a runner runs it, against the local GitHub
/// server (which is ghcr.io too): the install step's output `bin` is this build.
fn run_step(
    runner: &FakeRunner,
    server: &crate::support::github_server::GithubServer,
    inputs: &[(&str, &str)],
) -> Run {
    let mut cmd = Command::new("bash");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("action/run.sh"))
        .current_dir(runner.workspace())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", runner.path("output"))
        .env("GITHUB_STEP_SUMMARY", runner.path("summary"))
        .env("RUNNER_TEMP", runner.path("temp"))
        .env("GITHUB_WORKSPACE", runner.workspace())
        .env("GITHUB_ACTION_PATH", env!("CARGO_MANIFEST_DIR"))
        .env("RETENTION_BIN", env!("CARGO_BIN_EXE_retention"))
        // What the workflow gives: the workflow token, the repository's owner, the API.
        .env("GITHUB_TOKEN", "ghs_workflowTOKEN0123456789")
        .env("GITHUB_REPOSITORY_OWNER", "acme")
        .env("GITHUB_API_URL", server.url())
        .env("RETENTION_TEST_TIME_SCALE", "0.01")
        .env("RUST_LOG", "warn");
    for (k, v) in inputs {
        cmd.env(k, v);
    }
    snap::run(&mut cmd)
}

/// An output of the step, the last value written under `name`.
fn output(runner: &FakeRunner, name: &str) -> Option<String> {
    runner
        .read("output")
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_string))
}

#[test]
fn the_quick_start_applies_with_the_workflow_token_and_restore_undoes_it_from_the_journal() {
    use crate::support::github_server::{Config, GithubServer};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let inventory: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("examples/inventory.json")).expect("the example inventory"),
    )
    .expect("JSON");
    // The workflow token: listing the owner's packages is refused, as GitHub does.
    let server = GithubServer::start(
        &inventory,
        Config {
            refuse_listing: true,
            ..Config::default()
        },
    );
    let runner = FakeRunner::new();
    std::fs::create_dir(runner.workspace().join("policies")).expect("mkdir");
    std::fs::copy(
        root.join("policies/quickstart.yml"),
        runner.workspace().join("policies/quickstart.yml"),
    )
    .expect("copy the quick start's policy");
    let cache = runner.path("cache");
    let cache = cache.to_string_lossy();
    let url = server.url();
    // The quick start's nightly step: `mode: apply` with the policy, the cache, nothing else.
    let out = run_step(
        &runner,
        &server,
        &[
            ("INPUT_MODE", "apply"),
            ("INPUT_POLICY", "policies/quickstart.yml"),
            ("INPUT_CACHE_DIR", &cache),
            ("INPUT_NOW", "2026-11-20T00:00:00Z"),
            ("INPUT_REGISTRY", &url),
        ],
    );
    let log = format!("{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.endpoint == "GET packages"),
        "nothing listed the owner's packages"
    );
    // The plan's 48 deletions, and the placeholder that carried the removed tag away.
    let deleted = server.deleted_ids();
    assert_eq!(output(&runner, "deleted").as_deref(), Some("48"), "{log}");
    assert_eq!(deleted.len(), 48 + 1, "{deleted:?}");
    assert_eq!(output(&runner, "failed").as_deref(), Some("0"));
    assert_eq!(output(&runner, "untagged").as_deref(), Some("1"));
    let journal = output(&runner, "journal").expect("the journal output");
    assert!(
        runner.read("summary").contains("\n### Applied\n"),
        "{}",
        runner.read("summary")
    );

    // restore.yml's step: `mode: restore` with the journal (downloaded from the artifact).
    std::fs::write(runner.path("output"), "").expect("a new step's GITHUB_OUTPUT");
    std::fs::write(runner.path("summary"), "").expect("a new step's summary");
    let out = run_step(
        &runner,
        &server,
        &[
            ("INPUT_MODE", "restore"),
            ("INPUT_JOURNAL", &journal),
            ("INPUT_CACHE_DIR", &cache),
            ("INPUT_REGISTRY", &url),
        ],
    );
    let log = format!("{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{log}");
    // Every deleted version is back; only the placeholder stays gone.
    assert_eq!(server.deleted_ids().len(), 1, "{log}");
    let summary = runner.read("summary");
    assert!(
        summary.starts_with("\n### Restored\n\n<pre>\n"),
        "{summary}"
    );
    // The removed tag is back on its image: plan again, with the token that cannot list.
    let plan = Command::new(env!("CARGO_BIN_EXE_retention"))
        .args([
            "plan",
            "--policy",
            "policies/quickstart.yml",
            "--format",
            "json",
        ])
        .args(["--now", "2026-11-20T00:00:00Z", "--registry", &url])
        .current_dir(runner.workspace())
        .env("GITHUB_TOKEN", "ghs_workflowTOKEN0123456789")
        .env("GITHUB_REPOSITORY_OWNER", "acme")
        .env("GITHUB_API_URL", &url)
        .env("RETENTION_CACHE_DIR", runner.path("cache"))
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("run plan");
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap_or_default();
    let tags_of_release: Vec<&serde_json::Value> = plan["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["versions"].as_array().into_iter().flatten())
        .filter(|v| {
            v["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "v1.4.2"))
        })
        .map(|v| &v["tags"])
        .collect();
    assert_eq!(
        tags_of_release,
        vec![&serde_json::json!(["v1.4.2", "pr-39"])],
        "{}",
        serde_json::to_string(&plan["summary"]).unwrap_or_default()
    );
}
