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
    /// Where each tag in use is pulled: (index into its tags, `file:line`).
    pub tag_at: Vec<(usize, String)>,
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
            // A bare reference names no version; `inuse::mine` keeps it out.
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
        if let Some(j) = tag {
            if !hit.tag_at.contains(&(j, at.clone())) {
                hit.tag_at.push((j, at.clone()));
            }
        }
        if !hit.at.contains(&at) {
            hit.at.push(at);
        }
    }
    (out, missing)
}

/// A warning per tag the plan removes from a version it keeps while a reference pulls that tag
/// (no rule keeps what is in use, or untag is asked of a tag in use): the image stays, but the
/// deployment's next pull of the tag fails. `order` is the order to report in; `removed` and
/// `kept` per version, as the plan has them.
pub(super) fn untag_warnings(
    versions: &[crate::inventory::Version],
    order: &[usize],
    hits: &[Option<Hit>],
    removed: &[Vec<String>],
    kept: &[bool],
) -> Vec<String> {
    let mut out = Vec::new();
    for &i in order {
        let (Some(hit), true) = (&hits[i], kept[i]) else {
            continue;
        };
        let tags = versions[i].tags();
        for (j, tag) in tags.iter().enumerate() {
            if !removed[i].contains(tag) {
                continue;
            }
            let places: Vec<String> = hit
                .tag_at
                .iter()
                .filter(|(k, _)| *k == j)
                .map(|(_, at)| at.clone())
                .collect();
            if places.is_empty() {
                continue;
            }
            out.push(format!(
                "the plan removes tag {tag} from {}, which {} pulls by that tag: its next pull fails (help: keep what is in use, tags included, with a rule `keep: {{ in_use: true }}`)",
                super::words::image(&super::reason::ImageRef {
                    digest: &versions[i].name,
                    tags,
                }),
                super::words::in_use_places(&places)
            ));
        }
    }
    out
}

/// The warning for a reference that names nothing in the package.
pub(super) fn missing_warning(r: &Reference) -> String {
    format!("{} uses {}, which is not in the package", r.at, r.text)
}

#[cfg(test)]
mod tests;
