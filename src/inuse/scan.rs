//! Reading the sources a policy declares (`in_use.files`, `in_use.lists`) and the `--in-use`
//! lists: walk the files under a root with the `ignore` crate (`.gitignore`, `.ignore` and
//! `.git/info/exclude` respected, hidden files such as `.env` read, `.git/` skipped), keep those
//! a `files` glob matches (`globset`, `*` within a path component, `**` across), and extract the
//! references of every file and list.
//!
//! Every declared pattern must match a file and every list must be readable: a policy that keeps
//! what is in use must not keep nothing because a path moved.
//!
//! The user's global git excludes are not read (they differ between a laptop and CI). A link to
//! a file is read; a link to a directory is not entered (it may lead out of the repository, or
//! loop), and one that a pattern may reach is named in [`Found::unfollowed`], so that the caller
//! says so.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSetBuilder};

use super::{Extractor, Found};

/// Where references live.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Globs of files, relative to the root (`deploy/**/*.yaml`).
    pub files: Vec<String>,
    /// Files of references (one a line, or any text that holds them), relative to the root
    /// unless absolute.
    pub lists: Vec<PathBuf>,
}

impl Sources {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.lists.is_empty()
    }
}

/// A source that cannot be read, or that matches nothing.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("in_use.files: the pattern `{pattern}` matches no file under {root}\n  help: the patterns are relative to the repository root (the working directory); check the path, or check the repository out before the run (actions/checkout)")]
    NoMatch { pattern: String, root: String },
    #[error("in_use.files: bad glob `{pattern}`: {reason}\n  help: globs use * (within a directory), ** (across directories), ? [abc] {{a,b}}")]
    BadPattern { pattern: String, reason: String },
    #[error("in_use: cannot read {path}: {source}\n  help: {help}")]
    Unreadable {
        path: String,
        help: &'static str,
        source: std::io::Error,
    },
    #[error("in_use: cannot walk {root}: {reason}\n  help: check that the directory exists and can be read")]
    Walk { root: String, reason: String },
    #[error("in_use: the registry `{registry}` cannot be searched for: {reason}")]
    Registry { registry: String, reason: String },
}

const LIST_HELP: &str = "an in-use list is written by an earlier step (e.g. `kubectl get pods -A -o jsonpath='{..imageID}' > running-images.txt`); check that the step ran and the path";
const FILE_HELP: &str = "check the file's permissions";

/// Scan `sources` under `root` for references to `registry` (a URL or host).
pub fn scan(root: &Path, sources: &Sources, registry: &str) -> Result<Found, ScanError> {
    let extractor = Extractor::new(registry).map_err(|e| ScanError::Registry {
        registry: registry.to_string(),
        reason: e.to_string(),
    })?;
    let mut found = Found::default();
    if !sources.files.is_empty() {
        scan_files(root, &sources.files, &extractor, &mut found)?;
    }
    for list in &sources.lists {
        let path = if list.is_absolute() {
            list.clone()
        } else {
            root.join(list)
        };
        let bytes = std::fs::read(&path).map_err(|source| ScanError::Unreadable {
            path: list.display().to_string(),
            help: LIST_HELP,
            source,
        })?;
        found
            .references
            .extend(extractor.extract(&list.display().to_string(), &bytes));
    }
    Ok(found)
}

fn scan_files(
    root: &Path,
    patterns: &[String],
    extractor: &Extractor,
    found: &mut Found,
) -> Result<(), ScanError> {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        let glob = GlobBuilder::new(p.trim_start_matches("./"))
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| ScanError::BadPattern {
                pattern: p.clone(),
                reason: e.kind().to_string(),
            })?;
        set.add(glob);
    }
    let set = set.build().map_err(|e| ScanError::BadPattern {
        pattern: patterns.join(", "),
        reason: e.kind().to_string(),
    })?;
    let mut matched = vec![false; patterns.len()];
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let walk = ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        // The user's global excludes file is of one machine: the same policy must read the same
        // files on a laptop and in CI.
        .git_global(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    for entry in walk {
        let entry = entry.map_err(|e| ScanError::Walk {
            root: root.display().to_string(),
            reason: e.to_string(),
        })?;
        let Some(kind) = entry.file_type() else {
            continue;
        };
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        if kind.is_symlink() {
            // A link to a file is read (its target; a dangling one fails to read, loudly). A
            // link to a directory is not entered: it may lead out of the repository, or loop.
            if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
                let name = slash_path(rel);
                if patterns.iter().any(|p| may_reach(p, &name)) {
                    found.unfollowed.push(name);
                }
                continue;
            }
        } else if !kind.is_file() {
            continue;
        }
        let hits = set.matches(rel);
        if hits.is_empty() {
            continue;
        }
        for i in hits {
            matched[i] = true;
        }
        files.push((slash_path(rel), entry.into_path()));
    }
    if let Some(i) = matched.iter().position(|m| !m) {
        return Err(ScanError::NoMatch {
            pattern: patterns[i].clone(),
            root: root.display().to_string(),
        });
    }
    // In path order, so that the references (and the reasons naming them) come out the same
    // whatever order the file system lists directories in.
    files.sort();
    for (name, path) in files {
        let bytes = std::fs::read(&path).map_err(|source| ScanError::Unreadable {
            path: name.clone(),
            help: FILE_HELP,
            source,
        })?;
        found.references.extend(extractor.extract(&name, &bytes));
    }
    Ok(())
}

/// A relative path with `/` between its components (as globs and messages write it).
fn slash_path(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `pattern` may match a file under the directory `dir`: the pattern's literal leading
/// directories (those before the first `*?[{\\`) and `dir` agree as far as both go.
fn may_reach(pattern: &str, dir: &str) -> bool {
    let literal = pattern
        .trim_start_matches("./")
        .split('/')
        .take_while(|c| !c.contains(['*', '?', '[', '{', '\\']));
    literal.zip(dir.split('/')).all(|(a, b)| a == b)
}

/// A source of `in_use` that cannot be read: a usage error (1).
impl From<ScanError> for crate::outcome::Failure {
    fn from(e: ScanError) -> crate::outcome::Failure {
        crate::outcome::Failure::usage(e.to_string()).caused_by(e)
    }
}
