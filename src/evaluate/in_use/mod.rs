//! Which versions of a package the references found by `in_use` name, and the references that
//! name nothing in it: a digest names exactly that version (an index, whose parts the graph then
//! keeps; a platform manifest alone); a tag names the version that carries it now, and the tag.

use std::collections::HashMap;

use crate::inuse::Reference;
use crate::inventory::PackageEntry;
use crate::policy::Policy;

/// How one version is in use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Hit {
    /// Named by its digest: the whole version.
    pub whole: bool,
    /// Named by these tags (indices into its tags).
    pub tags: Vec<usize>,
    /// Where, `file:line`, in the order found, without repeats.
    pub at: Vec<String>,
}

/// Per version (indexed like `versions`) how it is in use, and the references to this package
/// that name no version of it (a deployment that can no longer pull).
pub(super) fn hits<'p>(
    policy: &'p Policy,
    entry: &PackageEntry,
) -> (Vec<Option<Hit>>, Vec<&'p Reference>) {
    let versions = &entry.versions;
    let mut out: Vec<Option<Hit>> = vec![None; versions.len()];
    let mut missing: Vec<&Reference> = Vec::new();
    let Some(found) = &policy.in_use.found else {
        return (out, missing);
    };
    if !entry.package.package_type.is_image() {
        return (out, missing);
    }
    let refs: Vec<&Reference> = found.of_package(&entry.package.name).collect();
    if refs.is_empty() {
        return (out, missing);
    }
    // Looked up once per package: a package may have 200,000 versions and a repository
    // hundreds of references.
    let mut by_digest: HashMap<String, usize> = HashMap::new();
    let mut by_tag: HashMap<&str, (usize, usize)> = HashMap::new();
    for (i, v) in versions.iter().enumerate() {
        by_digest.entry(v.name.to_ascii_lowercase()).or_insert(i);
        for (j, t) in v.tags().iter().enumerate() {
            by_tag.entry(t.as_str()).or_insert((i, j));
        }
    }
    for r in refs {
        let named = match (&r.digest, &r.tag) {
            (Some(d), _) => by_digest.get(d).map(|&i| (i, None)),
            (None, Some(t)) => by_tag.get(t.as_str()).map(|&(i, j)| (i, Some(j))),
            // A bare reference names no version; the commands keep it out (`commands::in_use`).
            (None, None) => continue,
        };
        let Some((i, tag)) = named else {
            missing.push(r);
            continue;
        };
        let hit = out[i].get_or_insert_with(Hit::default);
        match tag {
            None => hit.whole = true,
            Some(j) if !hit.tags.contains(&j) => hit.tags.push(j),
            Some(_) => {}
        }
        let at = r.at.to_string();
        if !hit.at.contains(&at) {
            hit.at.push(at);
        }
    }
    (out, missing)
}

/// The warning for a reference that names nothing in the package.
pub(super) fn missing_warning(r: &Reference) -> String {
    format!("{} uses {}, which is not in the package", r.at, r.text)
}

#[cfg(test)]
mod tests;
