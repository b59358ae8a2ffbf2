//! Reports list images, not manifests: one row per top-level image with its parts counted.
//!
//! A reviewer thinks in images, but on ghcr.io a multi-platform image is several package
//! versions (the index, its platform manifests, attestations, signatures). The text and Markdown
//! reports group a list of versions under the top-level image each is part of (the plan's
//! `part_of`), and say "+ 2 platform manifests, 1 attestation" instead of a row for each. A
//! part whose image is not in the same list (a deleted child of a kept image), and a version
//! decided on its own, stay rows of their own. The parts themselves are in the JSON plan and in
//! the verbose reports.

use std::collections::HashMap;

use crate::plan::{PartKind, PartOf};

/// One row: a version, and the parts of it found in the same list (in list order).
pub struct Row<'a, T> {
    pub head: &'a T,
    pub parts: Vec<&'a T>,
}

/// Group `items` (in their order) under the top-level image each is part of, when that image
/// is in `items` too.
pub fn rows<'a, T>(
    items: &[&'a T],
    id: impl Fn(&T) -> u64,
    part_of: impl Fn(&T) -> Option<PartOf>,
) -> Vec<Row<'a, T>> {
    let position: HashMap<u64, usize> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (id(item), i))
        .collect();
    let head_of = |item: &T| -> Option<usize> {
        let p = part_of(item)?;
        let &i = position.get(&p.image)?;
        // The image itself must be a head (not a part of something else in the list).
        (part_of(items[i]).is_none_or(|q| !position.contains_key(&q.image))).then_some(i)
    };
    let mut rows: Vec<Row<T>> = Vec::new();
    let mut row_of: HashMap<usize, usize> = HashMap::new();
    let mut parts: Vec<(usize, &T)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match head_of(item) {
            Some(h) if h != i => parts.push((h, item)),
            _ => {
                row_of.insert(i, rows.len());
                rows.push(Row {
                    head: item,
                    parts: Vec::new(),
                });
            }
        }
    }
    for (h, item) in parts {
        match row_of.get(&h) {
            Some(&r) => rows[r].parts.push(item),
            None => rows.push(Row {
                head: item,
                parts: Vec::new(),
            }),
        }
    }
    rows
}

/// What a part is, singular and plural.
pub fn kind_names(kind: PartKind) -> (&'static str, &'static str) {
    match kind {
        PartKind::PlatformManifest => ("platform manifest", "platform manifests"),
        PartKind::Attestation => ("attestation", "attestations"),
        PartKind::Signature => ("signature", "signatures"),
        PartKind::CosignAttestation => ("cosign attestation", "cosign attestations"),
        PartKind::Sbom => ("SBOM", "SBOMs"),
        PartKind::Referrer => ("referrer", "referrers"),
        PartKind::ReferrersIndex => ("referrers index", "referrers indexes"),
    }
}

const ORDER: [PartKind; 7] = [
    PartKind::PlatformManifest,
    PartKind::Attestation,
    PartKind::Signature,
    PartKind::CosignAttestation,
    PartKind::Sbom,
    PartKind::Referrer,
    PartKind::ReferrersIndex,
];

/// "+ 2 platform manifests, 1 attestation, 1 signature"; empty when there is no part.
pub fn parts_label(kinds: impl IntoIterator<Item = PartKind>) -> String {
    let mut counts: HashMap<PartKind, usize> = HashMap::new();
    for k in kinds {
        *counts.entry(k).or_default() += 1;
    }
    let words: Vec<String> = ORDER
        .iter()
        .filter_map(|k| {
            let n = *counts.get(k)?;
            let (one, many) = kind_names(*k);
            Some(crate::plural::count(n, one, many))
        })
        .collect();
    if words.is_empty() {
        String::new()
    } else {
        format!("+ {}", words.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct V(u64, Option<u64>, PartKind);

    fn part(v: &V) -> Option<PartOf> {
        v.1.map(|image| PartOf { image, kind: v.2 })
    }

    #[test]
    fn parts_go_under_their_image_and_loose_parts_stay_rows() {
        let items = [
            V(10, None, PartKind::PlatformManifest),
            V(11, Some(10), PartKind::PlatformManifest),
            V(12, Some(10), PartKind::Attestation),
            V(13, Some(99), PartKind::PlatformManifest), // its image is not in the list
            V(14, None, PartKind::PlatformManifest),
            V(15, Some(10), PartKind::Signature),
        ];
        let refs: Vec<&V> = items.iter().collect();
        let rows = rows(&refs, |v| v.0, part);
        let heads: Vec<u64> = rows.iter().map(|r| r.head.0).collect();
        assert_eq!(heads, vec![10, 13, 14]);
        let parts: Vec<u64> = rows[0].parts.iter().map(|v| v.0).collect();
        assert_eq!(parts, vec![11, 12, 15]);
        assert_eq!(
            parts_label(rows[0].parts.iter().filter_map(|v| part(v)).map(|p| p.kind)),
            "+ 1 platform manifest, 1 attestation, 1 signature"
        );
        assert!(rows[1].parts.is_empty() && rows[2].parts.is_empty());
    }

    #[test]
    fn no_parts_no_label() {
        assert_eq!(parts_label([]), "");
    }
}
