//! The tag of a bare reference (`ghcr.io/acme/api`, neither tag nor digest) written beside it,
//! in the same YAML mapping: Helm's `image: { repository: ghcr.io/acme/api, tag: v1.2.3 }`,
//! kustomize's `images: [{ name: …, newName: ghcr.io/acme/api, newTag: v1.2.3 }]` (or `digest:`).
//!
//! Read only where it is unambiguous: the reference is the whole string value of a key, and its
//! mapping holds a `tag`/`newTag` (a string that is a valid tag) or a `digest` (`sha256:…`). A
//! tag that is empty (Helm's `tag: ""`: the chart's appVersion decides), a template, or a YAML
//! number (`tag: 1.10` is the number 1.1 to Helm) leaves the reference unresolved, with the
//! reason: a bare reference never silently means `:latest`, because taking the build that runs
//! for `latest` deletes it. The caller decides what an unresolved reference does
//! ([`super::Reference::unresolved`]). A kustomize `name:` beside a `newName:` is the image being
//! replaced, not the one deployed: it is dropped.
//!
//! The YAML is parsed (saphyr) only for a text that has a bare reference, so the scan of a
//! repository whose references carry their tags parses nothing.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::Reference;

/// Keys whose value is the tag of a repository in the same mapping (Helm, kustomize).
const TAG_KEYS: [&str; 2] = ["tag", "newTag"];
/// Keys whose value is the digest of a repository in the same mapping (Helm, kustomize).
const DIGEST_KEYS: [&str; 1] = ["digest"];

/// Resolve the bare references of `refs` (found in `text`) from their YAML mappings; drop a
/// kustomize `name:` that a `newName:` replaces.
pub(super) fn resolve(text: &[u8], refs: &mut Vec<Reference>) {
    if !refs.iter().any(Reference::is_bare) {
        return;
    }
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    // Not YAML (a Dockerfile, a list): every bare reference stays unresolved.
    let Ok(docs) = MarkedYaml::load_from_str(text) else {
        return;
    };
    let mut mappings = Vec::new();
    for doc in &docs {
        collect(doc, &mut mappings);
    }
    let mut replaced = vec![false; refs.len()];
    for (i, r) in refs.iter_mut().enumerate() {
        if !r.is_bare() {
            continue;
        }
        let Some((key, map)) = mappings.iter().find_map(|m| holder(m, r)) else {
            continue;
        };
        if key == "name" && lookup(map, "newName").is_some() {
            replaced[i] = true;
            continue;
        }
        apply(map, r);
    }
    let mut keep = replaced.into_iter().map(|x| !x);
    refs.retain(|_| keep.next().unwrap_or(true));
}

/// Every mapping of a document, depth first.
fn collect<'a, 'n>(node: &'n MarkedYaml<'a>, out: &mut Vec<&'n MarkedYaml<'a>>) {
    match &node.data {
        YamlData::Mapping(map) => {
            out.push(node);
            for (k, v) in map {
                collect(k, out);
                collect(v, out);
            }
        }
        YamlData::Sequence(seq) => {
            for v in seq {
                collect(v, out);
            }
        }
        YamlData::Tagged(_, inner) => collect(inner, out),
        _ => {}
    }
}

/// The key under which `map` holds `r` as its whole value, on `r`'s line.
fn holder<'n, 'a>(map: &'n MarkedYaml<'a>, r: &Reference) -> Option<(String, &'n MarkedYaml<'a>)> {
    let YamlData::Mapping(m) = &map.data else {
        return None;
    };
    m.iter().find_map(|(k, v)| {
        let YamlData::Value(Scalar::String(s)) = &v.data else {
            return None;
        };
        let on_line = v.span.start.line() == r.at.line;
        if !(on_line && s.trim().eq_ignore_ascii_case(&r.text)) {
            return None;
        }
        Some((key_of(k)?, map))
    })
}

fn key_of(k: &MarkedYaml) -> Option<String> {
    match &k.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

/// The value of `key` in a mapping node.
fn lookup<'n, 'a>(map: &'n MarkedYaml<'a>, key: &str) -> Option<&'n MarkedYaml<'a>> {
    let YamlData::Mapping(m) = &map.data else {
        return None;
    };
    m.iter()
        .find(|(k, _)| key_of(k).as_deref() == Some(key))
        .map(|(_, v)| v)
}

/// Take the tag and digest written beside `r` in `map`, or say why they cannot be taken.
fn apply(map: &MarkedYaml, r: &mut Reference) {
    let repository = r.text.clone();
    let digest = DIGEST_KEYS
        .iter()
        .find_map(|k| lookup(map, k).map(|v| (k, v)));
    let tag = TAG_KEYS.iter().find_map(|k| lookup(map, k).map(|v| (k, v)));
    if digest.is_none() && tag.is_none() {
        return;
    }
    let mut why = None;
    if let Some((key, node)) = digest {
        match string(node) {
            Some(d) if is_digest(&d) => r.digest = Some(d.to_ascii_lowercase()),
            Some(d) if d.is_empty() => {}
            _ => {
                why = Some(format!(
                    "its `{key}:` (line {}) is not a sha256 digest",
                    line(node)
                ))
            }
        }
    }
    if let Some((key, node)) = tag {
        match (&node.data, string(node)) {
            (_, Some(t)) if is_tag(&t) => r.tag = Some(t),
            (_, Some(t)) if t.is_empty() && r.digest.is_some() => {}
            (_, Some(t)) if t.is_empty() => {
                why = Some(format!(
                    "its `{key}:` (line {}) is empty (a Helm chart then uses its appVersion)",
                    line(node)
                ))
            }
            (YamlData::Value(Scalar::Integer(_) | Scalar::FloatingPoint(_)), _) => {
                why = Some(format!(
                    "its `{key}:` (line {}) is a YAML number, which may not read as written (1.10 is 1.1): quote it",
                    line(node)
                ))
            }
            _ => {
                why = Some(format!(
                    "its `{key}:` (line {}) is not a tag (a template, or not a string)",
                    line(node)
                ))
            }
        }
    }
    if let Some(why) = why {
        // One part unreadable: the reference is unresolved, whatever the other part says.
        r.tag = None;
        r.digest = None;
        r.unresolved = Some(why);
        return;
    }
    r.unresolved = None;
    r.text = match (&r.tag, &r.digest) {
        (Some(t), Some(d)) => format!("{repository}:{t}@{d}"),
        (Some(t), None) => format!("{repository}:{t}"),
        (None, Some(d)) => format!("{repository}@{d}"),
        (None, None) => repository,
    };
}

fn string(node: &MarkedYaml) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.trim().to_string()),
        YamlData::Value(Scalar::Null) => Some(String::new()),
        _ => None,
    }
}

fn line(node: &MarkedYaml) -> usize {
    node.span.start.line().max(1)
}

/// A valid OCI tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()))
}
