use chrono::{DateTime, Utc};

use super::render;
use crate::apply::journal::{Entry, JournalOutcome, Line, UntagRecord, Why};
use crate::inventory::PackageType;

fn at(second: u32) -> DateTime<Utc> {
    format!("2026-12-01T10:00:{second:02}Z").parse().unwrap()
}

fn line(package: &str, id: u64, outcome: JournalOutcome, second: u32, why: Why) -> Line {
    Line {
        entry: Entry {
            owner: "acme".into(),
            scope: "/orgs/acme".into(),
            package: package.into(),
            package_type: PackageType::Npm,
            id,
            name: format!("1.0.{id}"),
            tags: Vec::new(),
            outcome,
            message: String::new(),
            time: at(second),
            untag: None,
        },
        why,
    }
}

fn why(reason: &str) -> Why {
    Why {
        reasons: Some(vec![reason.into(), "older than 1d".into()]),
        policy_sha256: Some("5f3a".into()),
        registry: Some("https://ghcr.io".into()),
    }
}

/// Every version in package and id order whatever the file's order, its events in time order,
/// and why under the line that recorded it.
#[test]
fn each_version_says_what_was_done_when_and_why() {
    let mut skipped = line(
        "api",
        7,
        JournalOutcome::Skipped,
        3,
        why("delete rule 'old go'"),
    );
    skipped.entry.message = "not deleted: version 5, which it is part of, was not deleted".into();
    let lines = vec![
        line("api", 9, JournalOutcome::Deleted, 2, Why::default()),
        skipped,
        line(
            "api",
            9,
            JournalOutcome::Attempted,
            1,
            why("delete rule 'old go'"),
        ),
        line("web", 1, JournalOutcome::Attempted, 4, why("untagged")),
    ];
    let text = render(&lines, None, "j.jsonl").unwrap();
    assert_eq!(
        text,
        "journal j.jsonl, owner acme: 3 versions (1 deleted, 1 skipped, 1 unfinished)

api 1.0.7 (version 7)
  2026-12-01 10:00:03 UTC  skipped: not deleted: version 5, which it is part of, was not deleted
      why the plan deletes it: delete rule 'old go'; older than 1d
      decided by: policy sha256 5f3a, registry https://ghcr.io

api 1.0.9 (version 9)
  2026-12-01 10:00:01 UTC  attempted
      why the plan deletes it: delete rule 'old go'; older than 1d
      decided by: policy sha256 5f3a, registry https://ghcr.io
  2026-12-01 10:00:02 UTC  deleted

web 1.0.1 (version 1)
  2026-12-01 10:00:04 UTC  attempted
      why the plan deletes it: untagged; older than 1d
      decided by: policy sha256 5f3a, registry https://ghcr.io
"
    );
}

/// A journal of an earlier build (nothing of why) says so, and only where a run deleted.
#[test]
fn an_earlier_builds_attempt_says_its_reason_was_not_recorded() {
    let lines = vec![
        line("api", 9, JournalOutcome::Attempted, 1, Why::default()),
        line("api", 9, JournalOutcome::Deleted, 2, Why::default()),
        line("api", 9, JournalOutcome::Restored, 5, Why::default()),
    ];
    let text = render(&lines, None, "old.jsonl").unwrap();
    assert_eq!(
        text,
        "journal old.jsonl, owner acme: 1 version (1 restored)

api 1.0.9 (version 9)
  2026-12-01 10:00:01 UTC  attempted
      why the plan deletes it: reason not recorded (journal of an earlier build)
  2026-12-01 10:00:02 UTC  deleted
  2026-12-01 10:00:05 UTC  restored
"
    );
}

/// `show ID` keeps the lines of that version (by id or name), tag removals included; a version
/// the journal does not name gives nothing to print.
#[test]
fn one_version_is_picked_by_id_or_name() {
    let mut untag = line("api", 3, JournalOutcome::Untagged, 6, Why::default());
    untag.entry.untag = Some(UntagRecord {
        tag: "pr-4".into(),
        placeholder: "sha256:00ff".into(),
        placeholder_id: Some(44),
        registry: Some("https://ghcr.io".into()),
    });
    let lines = vec![
        line("api", 9, JournalOutcome::Attempted, 1, why("old")),
        line("api", 9, JournalOutcome::Deleted, 2, Why::default()),
        untag,
    ];
    let by_id = render(&lines, Some("9"), "j.jsonl").unwrap();
    assert_eq!(render(&lines, Some("1.0.9"), "j.jsonl").unwrap(), by_id);
    assert!(
        by_id.contains("(1 deleted)") && !by_id.contains("pr-4"),
        "{by_id}"
    );
    assert_eq!(
        render(&lines, Some("3"), "j.jsonl").unwrap(),
        "journal j.jsonl, owner acme: 1 tag removal (1 removed)

api 1.0.3 (version 3): tag pr-4, placeholder sha256:00ff
  2026-12-01 10:00:06 UTC  untagged
"
    );
    assert_eq!(render(&lines, Some("10"), "j.jsonl"), None);
}
