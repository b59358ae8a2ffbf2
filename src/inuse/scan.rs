//! Reading the sources a policy declares (`in_use.files`, `in_use.lists`) and the `--in-use`
//! lists: walk the files under a root with the `ignore` crate (`.gitignore`, `.ignore` and
//! `.git/info/exclude` respected, hidden files such as `.env` read, `.git/` skipped), keep those
//! a `files` glob matches (`globset`, `*` within a path component, `**` across), and extract the
//! references of every file and list.
//!
//! Every declared pattern must match a file and every list must be readable: a policy that keeps
//! what is in use must not keep nothing because a path moved.

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
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    for entry in walk {
        let entry = entry.map_err(|e| ScanError::Walk {
            root: root.display().to_string(),
            reason: e.to_string(),
        })?;
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let hits = set.matches(rel);
        if hits.is_empty() {
            continue;
        }
        for i in hits {
            matched[i] = true;
        }
        let name = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        files.push((name, entry.into_path()));
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
