//! The journal: one JSON line per deletion (or restore) outcome, appended, written and fsynced as
//! soon as the outcome is known, so that a killed run still tells exactly what it deleted and
//! `retention restore` can undo it.
//!
//! A line: `{"owner","scope","package","type","id","name","tags","outcome","message","time"}`;
//! `scope` is the API path prefix (`/orgs/acme`, `/users/bob`, `/user`). The lines of a tag
//! removal (`untag_attempted`, `untagged`, `untag_failed`, then `retagged` or `retag_failed` from
//! `restore`) name the version that keeps the image (`id`, `name`: its digest) and add
//! `"untag": {"tag","placeholder","placeholder_id","registry"}` (see [`crate::apply::untag`], [`crate::apply::retag`]).
//!
//! So that "why was version 123 deleted?" can be answered once the plan file is gone, the first
//! line a run writes about a version it deletes (its `attempted` line; a `skipped` one when it is
//! held back or re-checked away before any DELETE) also says why ([`Why`]): `"reasons"` (the
//! plan's), `"policy_sha256"` (the policy that decided) and `"registry"` (where the run read the
//! manifests). The command layer tells the journal before handing the targets over
//! ([`Journal::explain`]), so the executor writes lines as it always did. Journals of earlier
//! builds have no such fields and read the same; readers of earlier builds ignore them.
//! [`history`] renders a journal for `retention journal show`.

pub mod history;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead as _, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::inventory::PackageType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalOutcome {
    /// Written just before a deletion is sent: a run killed before its outcome line still says
    /// that this version may have been deleted (`restore` tries it).
    Attempted,
    /// Closes an `attempted` line whose DELETE deleted nothing and went back to the queue (the
    /// run stopped on a rate limit or a permission error before it was answered with a deletion),
    /// or that `restore` found still there after a killed run.
    NotSent,
    Deleted,
    AlreadyGone,
    Skipped,
    Failed,
    Restored,
    RestoreFailed,
    /// Written just before the placeholder is pushed under a tag: a run killed after it may have
    /// moved the tag (`restore` puts it back, the next `apply` deletes the placeholder).
    UntagAttempted,
    /// The tag was removed: the placeholder that took it is deleted.
    Untagged,
    /// The tag was not removed, or its placeholder not deleted (the message says which).
    UntagFailed,
    /// `restore` put the tag back on the original image.
    Retagged,
    RetagFailed,
}

impl JournalOutcome {
    /// The outcome in words, for the log.
    pub fn word(self) -> &'static str {
        use JournalOutcome::*;
        match self {
            Attempted => "attempted",
            NotSent => "not sent",
            Deleted => "deleted",
            AlreadyGone => "already gone",
            Skipped => "skipped",
            Failed => "failed",
            Restored => "restored",
            RestoreFailed => "restore failed",
            UntagAttempted => "untag attempted",
            Untagged => "untagged",
            UntagFailed => "untag failed",
            Retagged => "retagged",
            RetagFailed => "retag failed",
        }
    }

    /// Log one outcome (info level): "app sha256:…: already gone: Package version not found."
    pub fn log(self, package: &str, label: &str, message: &str) {
        if message.is_empty() {
            tracing::info!("{package} {label}: {}", self.word());
        } else {
            tracing::info!("{package} {label}: {}: {message}", self.word());
        }
    }

    /// Whether the line is about a tag removal (and carries [`Entry::untag`]).
    pub fn is_untag(self) -> bool {
        matches!(
            self,
            JournalOutcome::UntagAttempted
                | JournalOutcome::Untagged
                | JournalOutcome::UntagFailed
                | JournalOutcome::Retagged
                | JournalOutcome::RetagFailed
        )
    }
}

/// What a tag removal line adds: the tag, and the placeholder manifest pushed under it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UntagRecord {
    pub tag: String,
    /// The placeholder's digest.
    pub placeholder: String,
    /// The placeholder's package version id, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder_id: Option<u64>,
    /// The registry the tag was moved on (`https://ghcr.io`): where `restore` puts it back
    /// unless `--registry` says otherwise. Absent in journals written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
}

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub owner: String,
    pub scope: String,
    pub package: String,
    #[serde(rename = "type")]
    pub package_type: PackageType,
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub outcome: JournalOutcome,
    #[serde(default)]
    pub message: String,
    pub time: DateTime<Utc>,
    /// For a tag removal: which tag, and the placeholder. Absent on deletion lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untag: Option<UntagRecord>,
}

/// Why a run deleted a version: what its first line about the version adds to [`Entry`]. Each
/// field is absent in journals written before it was recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Why {
    /// The plan's reasons (the rules and guards that decided, `VersionPlan::reasons`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
    /// The sha256 of the policy file that decided (the plan's `policy_sha256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_sha256: Option<String>,
    /// The registry the run read the manifests from (`https://ghcr.io`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
}

impl Why {
    /// Whether the line records nothing of why (every line of an earlier build).
    pub fn is_empty(&self) -> bool {
        self.reasons.is_none() && self.policy_sha256.is_none() && self.registry.is_none()
    }
}

/// A journal line as written and as [`read_explained`] reads it: the entry and, on the first
/// line a run writes about a version it deletes, why.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Line {
    #[serde(flatten)]
    pub entry: Entry,
    #[serde(flatten)]
    pub why: Why,
}

/// The journal cannot be opened, written or read: names the file (and the line). Cheap to clone
/// (the executor's report keeps it as the reason a run stopped).
#[derive(Clone, Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot open the journal {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
    #[error("cannot lock the journal {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
    /// Another process holds the lock.
    #[error("the journal {} is in use by another `retention apply` or `restore`; nothing was done\n  help: wait for that run to finish (in GitHub Actions, give the workflow a `concurrency:` group so that runs queue)", path.display())]
    InUse { path: PathBuf },
    #[error("cannot write the journal {}: {source}", path.display())]
    Encode {
        path: PathBuf,
        source: Arc<serde_json::Error>,
    },
    #[error("cannot write the journal {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
    #[error("cannot read the journal {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
    #[error("{}:{line}: not a journal line: longer than {} KB\n  help: the journal is what `apply` writes; give the file it wrote (--journal)", path.display(), MAX_LINE_BYTES / 1024)]
    LineTooLong { path: PathBuf, line: usize },
    #[error("{}:{line}: not a journal line: {source}", path.display())]
    BadLine {
        path: PathBuf,
        line: usize,
        source: Arc<serde_json::Error>,
    },
}

impl JournalError {
    /// Whether the file given is not a journal or cannot be read (the user's to fix), rather
    /// than one that cannot be opened for writing, locked or written.
    pub fn is_unreadable(&self) -> bool {
        matches!(
            self,
            JournalError::Read { .. }
                | JournalError::LineTooLong { .. }
                | JournalError::BadLine { .. }
        )
    }
}

/// An open journal, appended to by concurrent deletions.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    /// Why each version given to [`Journal::explain`] is deleted, by (package, id): written on
    /// the first line about it, then forgotten.
    why: Mutex<HashMap<(String, u64), Why>>,
    /// The run's registry, written with each [`Why`].
    registry: Option<String>,
}

impl Journal {
    /// Open `path` for appending (created when missing), locked for this process: a second
    /// `apply` or `restore` on the same journal is refused while this one runs (two runs would
    /// both delete, and interleave their lines).
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| JournalError::Open {
                path: path.to_path_buf(),
                source: Arc::new(e),
            })?;
        lock_exclusive(&file).map_err(|e| match e {
            Some(e) => JournalError::Lock {
                path: path.to_path_buf(),
                source: Arc::new(e),
            },
            None => JournalError::InUse {
                path: path.to_path_buf(),
            },
        })?;
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            why: Mutex::new(HashMap::new()),
            registry: None,
        })
    }

    /// The journal's file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Append one line and flush it to the disk before returning.
    /// The first line about a version given to [`Journal::explain`] (not a tag removal's) carries why.
    pub fn append(&self, entry: &Entry) -> Result<(), JournalError> {
        let why = if entry.outcome.is_untag() {
            None
        } else {
            crate::sync::lock(&self.why).remove(&(entry.package.clone(), entry.id))
        };
        #[derive(Serialize)]
        struct Written<'a> {
            #[serde(flatten)]
            entry: &'a Entry,
            #[serde(flatten)]
            why: Option<Why>,
        }
        let line = Written { entry, why };
        let mut line = serde_json::to_string(&line).map_err(|e| JournalError::Encode {
            path: self.path.clone(),
            source: Arc::new(e),
        })?;
        line.push('\n');
        let mut file = crate::sync::lock(&self.file);
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| JournalError::Write {
                path: self.path.clone(),
                source: Arc::new(e),
            })
    }

    /// The registry this run reads manifests from (and removes tags on), recorded with why each
    /// version is deleted.
    pub fn with_registry(mut self, registry: Option<&str>) -> Journal {
        self.registry = registry.map(|r| r.trim_end_matches('/').to_string());
        self
    }

    /// Why version `id` of `package` is to be deleted (the plan's `reasons` and
    /// `policy_sha256`): the first line written about it says so. Call it before handing the
    /// version to the executor.
    pub fn explain(&self, package: &str, id: u64, reasons: &[String], policy_sha256: &str) {
        let why = Why {
            reasons: Some(reasons.to_vec()),
            policy_sha256: Some(policy_sha256.to_string()),
            registry: self.registry.clone(),
        };
        crate::sync::lock(&self.why).insert((package.to_string(), id), why);
    }
}

/// Take an exclusive advisory lock on `file` without waiting; `Err(None)` when another process
/// holds it. The lock goes with the file descriptor (closed at exit, even on a kill).
#[cfg(unix)]
fn lock_exclusive(file: &File) -> Result<(), Option<std::io::Error>> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this `File` owns and keeps open.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    if e.kind() == std::io::ErrorKind::WouldBlock {
        Err(None)
    } else {
        Err(Some(e))
    }
}

/// Elsewhere no lock is taken (the example workflows' `concurrency:` still serialises runs).
#[cfg(not(unix))]
fn lock_exclusive(_file: &File) -> Result<(), Option<std::io::Error>> {
    Ok(())
}

/// The longest journal line read. A line is a few hundred bytes (tags included).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Read every line of a journal; a line that does not parse is an error naming its number
/// (except a last line cut short by a kill, which is skipped with a warning). A line longer
/// than [`MAX_LINE_BYTES`] is an error, found without reading it whole.
pub fn read(path: &Path) -> Result<Vec<Entry>, JournalError> {
    read_as(path)
}

/// [`read`], with why each version was deleted where a line says it ([`Line`]).
pub fn read_explained(path: &Path) -> Result<Vec<Line>, JournalError> {
    read_as(path)
}

fn read_as<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, JournalError> {
    use std::io::Read as _;
    let unreadable = |e: std::io::Error| JournalError::Read {
        path: path.to_path_buf(),
        source: Arc::new(e),
    };
    let file = File::open(path).map_err(unreadable)?;
    let mut reader = std::io::BufReader::new(file);
    let mut lines: Vec<String> = Vec::new();
    loop {
        let mut buf = Vec::new();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(unreadable)?;
        if n == 0 {
            break;
        }
        if buf.len() > MAX_LINE_BYTES {
            return Err(JournalError::LineTooLong {
                path: path.to_path_buf(),
                line: lines.len() + 1,
            });
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        lines.push(String::from_utf8_lossy(&buf).into_owned());
    }
    let mut out = Vec::new();
    let last = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(line) {
            Ok(e) => out.push(e),
            Err(e) if i + 1 == last => {
                tracing::warn!(
                    "{}:{}: an incomplete last line is ignored: {e}",
                    path.display(),
                    i + 1
                );
            }
            Err(e) => {
                return Err(JournalError::BadLine {
                    path: path.to_path_buf(),
                    line: i + 1,
                    source: Arc::new(e),
                })
            }
        }
    }
    Ok(out)
}

/// A journal given to read that is not one is a usage error (1); one that cannot be opened,
/// locked or written is a run error (2).
impl From<JournalError> for crate::outcome::Failure {
    fn from(e: JournalError) -> crate::outcome::Failure {
        use crate::outcome::Failure;
        let failure = if e.is_unreadable() {
            Failure::usage(e.to_string())
        } else {
            Failure::run(e.to_string())
        };
        failure.caused_by(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Entry {
        fn with_time(mut self, time: DateTime<Utc>) -> Entry {
            self.time = time;
            self
        }
    }

    #[test]
    fn lines_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::open(&path).unwrap();
        let e = Entry {
            owner: "acme".into(),
            scope: "/orgs/acme".into(),
            package: "tools/cli".into(),
            package_type: PackageType::Npm,
            id: 7,
            name: "1.0.0".into(),
            tags: vec![],
            outcome: JournalOutcome::AlreadyGone,
            message: "Package version not found.".into(),
            time: Utc::now(),
            untag: None,
        };
        j.append(&e).unwrap();
        j.append(&e).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"owner\":")
            .unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back, vec![e.clone(), e]);
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("\"outcome\":\"already_gone\""));
    }

    fn deletion(id: u64, outcome: JournalOutcome) -> Entry {
        Entry {
            owner: "acme".into(),
            scope: "/orgs/acme".into(),
            package: "app".into(),
            package_type: PackageType::Container,
            id,
            name: format!("sha256:{id:064x}"),
            tags: vec!["v1".into()],
            outcome,
            message: String::new(),
            time: Utc::now(),
            untag: None,
        }
    }

    /// The first line about an explained version carries why (reasons, policy, registry); the
    /// lines after it, a tag removal's line about the same id, and unexplained versions do not.
    #[test]
    fn the_first_line_about_an_explained_version_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::open(&path)
            .unwrap()
            .with_registry(Some("https://ghcr.io/"));
        let reasons = vec!["delete rule 'old'".to_string(), "untagged".to_string()];
        j.explain("app", 1, &reasons, "5f3a");
        j.explain("app", 2, &reasons, "5f3a");
        let mut untag = deletion(1, JournalOutcome::UntagAttempted);
        untag.untag = Some(UntagRecord {
            tag: "pr-1".into(),
            placeholder: "sha256:00".into(),
            placeholder_id: None,
            registry: None,
        });
        j.append(&untag).unwrap();
        j.append(&deletion(1, JournalOutcome::Attempted)).unwrap();
        j.append(&deletion(1, JournalOutcome::Deleted)).unwrap();
        j.append(&deletion(3, JournalOutcome::Attempted)).unwrap();
        let lines = read_explained(&path).unwrap();
        let whys: Vec<&Why> = lines.iter().map(|l| &l.why).collect();
        let explained = Why {
            reasons: Some(reasons.clone()),
            policy_sha256: Some("5f3a".into()),
            registry: Some("https://ghcr.io".into()),
        };
        assert_eq!(
            whys,
            vec![
                &Why::default(),
                &explained,
                &Why::default(),
                &Why::default()
            ]
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let second = text.lines().nth(1).unwrap();
        assert!(
            second.ends_with(r#""reasons":["delete rule 'old'","untagged"],"policy_sha256":"5f3a","registry":"https://ghcr.io"}"#),
            "{second}"
        );
        // `read` (restore's) reads the new lines as it read the old ones.
        let entries = read(&path).unwrap();
        assert_eq!(
            entries[1],
            deletion(1, JournalOutcome::Attempted).with_time(entries[1].time)
        );
    }

    /// A line of an earlier build (no reasons, no policy, no registry) reads with an empty why.
    #[test]
    fn a_line_of_an_earlier_build_reads_with_nothing_of_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.jsonl");
        std::fs::write(&path, "{\"owner\":\"acme\",\"scope\":\"/orgs/acme\",\"package\":\"app\",\"type\":\"container\",\"id\":7,\"name\":\"sha256:aa\",\"tags\":[],\"outcome\":\"attempted\",\"message\":\"\",\"time\":\"2026-11-01T00:00:00Z\"}\n").unwrap();
        let lines = read_explained(&path).unwrap();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].why.is_empty());
        assert_eq!(lines[0].entry.id, 7);
        assert_eq!(read(&path).unwrap()[0], lines[0].entry);
    }

    #[test]
    fn a_second_open_of_a_journal_is_refused_while_the_first_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let first = Journal::open(&path).unwrap();
        let e = Journal::open(&path).unwrap_err();
        assert!(matches!(e, JournalError::InUse { .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains("is in use by another `retention apply` or `restore`"),
            "{e}"
        );
        drop(first);
        assert!(Journal::open(&path).is_ok());
    }

    #[test]
    fn a_huge_line_is_refused_without_being_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, vec![b'x'; 3 << 20]).unwrap();
        let e = read(&path).unwrap_err();
        assert!(e.is_unreadable());
        let e = e.to_string();
        assert!(e.ends_with(":1: not a journal line: longer than 64 KB\n  help: the journal is what `apply` writes; give the file it wrote (--journal)"), "{e}");
    }

    fn code(f: impl Into<crate::outcome::Failure>) -> (u8, String) {
        let f = f.into();
        (f.code().exit(), f.to_string())
    }

    #[test]
    fn a_journal_that_is_not_one_is_a_usage_error_and_one_that_cannot_be_written_a_run_error() {
        let path = PathBuf::from("j.jsonl");
        let io = || Arc::new(std::io::Error::other("disk full"));
        assert_eq!(
            code(JournalError::LineTooLong {
                path: path.clone(),
                line: 3
            })
            .0,
            1
        );
        assert_eq!(
            code(JournalError::Read {
                path: path.clone(),
                source: io()
            }),
            (
                1,
                "error: cannot read the journal j.jsonl: disk full".to_string()
            )
        );
        assert_eq!(
            code(JournalError::Write {
                path: path.clone(),
                source: io()
            }),
            (
                2,
                "error: cannot write the journal j.jsonl: disk full".to_string()
            )
        );
        assert_eq!(code(JournalError::InUse { path }).0, 2);
    }
}
