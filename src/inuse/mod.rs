//! What is in use: the image references found in a repository's files and in lists of running
//! images, so that a policy can keep what is deployed (`keep: { in_use: true }`).
//!
//! GitHub's API has no pull dates, but the truth of what runs is usually in the repository
//! (Kubernetes manifests, compose files, Helm values, Terraform) or one command away
//! (`kubectl get pods -A -o jsonpath='{..imageID}'`). [`extract`] finds every
//! `REGISTRY/OWNER/PACKAGE[:TAG][@sha256:DIGEST]` of the run's registry in a text, with its line;
//! [`scan`] walks the files a policy names (with the `ignore` crate: `.gitignore` respected) and
//! reads the lists, failing when a declared pattern matches nothing or a list cannot be read
//! (silently keeping nothing is the failure this exists to prevent).
//!
//! The result, [`Found`], is a plain value: commands scan before evaluating, and the evaluator
//! (pure) reads it from the policy ([`crate::policy::InUse::found`]).

mod extract;
pub mod mine;
mod scan;
mod split;

pub use extract::{extract, registry_host, Extractor};
pub use scan::{scan, ScanError, Sources};

/// Where a reference was found: a file (as the user named it, relative to the root the scan
/// started from) and a 1-based line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One reference to an image of the run's registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The owner, lower case (owners are case-insensitive).
    pub owner: String,
    /// The package (image) name, lower case; may contain `/`.
    pub package: String,
    /// The tag, when given (in the reference, or beside it in its YAML mapping: Helm's `tag:`,
    /// kustomize's `newTag:`).
    pub tag: Option<String>,
    /// The digest (`sha256:<64 hex>`, lower case), when given. A digest decides: a pull by
    /// `name:tag@digest` uses the digest.
    pub digest: Option<String>,
    /// Why no version can be read from it, for a reference with neither tag nor digest (a bare
    /// `ghcr.io/acme/api`, or one whose `tag:` beside it is empty or a template). It is never
    /// taken for `:latest`: a pull of the bare name means `latest`, but a Helm or kustomize file
    /// deploys the tag written elsewhere, and taking `latest` for it deletes the build that runs.
    pub unresolved: Option<String>,
    /// The reference as written, with the tag or digest read beside it (for messages).
    pub text: String,
    pub at: Location,
}

impl Reference {
    /// Neither a tag nor a digest: it names no version.
    pub fn is_bare(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }
}

/// Every reference found by a scan, of any owner of the run's registry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub references: Vec<Reference>,
    /// Links to directories the walk did not enter, where a `files` pattern may have matched
    /// (relative paths).
    pub unfollowed: Vec<String>,
}

impl Found {
    /// The references to `owner`'s images (case-insensitive), the ones a run's packages can be
    /// in use by.
    pub fn for_owner(&self, owner: &str) -> Found {
        let owner = owner.to_ascii_lowercase();
        Found {
            references: self
                .references
                .iter()
                .filter(|r| r.owner == owner)
                .cloned()
                .collect(),
            unfollowed: self.unfollowed.clone(),
        }
    }

    /// The references to one package (its name compared in lower case).
    pub fn of_package<'a>(&'a self, package: &str) -> impl Iterator<Item = &'a Reference> + 'a {
        let package = package.to_ascii_lowercase();
        self.references.iter().filter(move |r| r.package == package)
    }
}

#[cfg(test)]
mod tests;
