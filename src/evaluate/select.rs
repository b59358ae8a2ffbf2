//! Selection: which versions, and which of their tags, each rule selects.
//!
//! A rule with `tags` or `tag_regex` selects **tags** (those matching every tag condition);
//! its other conditions are conditions on the version. A rule without tag conditions selects
//! the whole version, every tag with it. `newest` (and its `group_by` groups) counts only
//! top-level images of a container package, never their platform manifests, attestations,
//! signatures or referrers, which follow their image's fate.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::graph::{tag_subject, ImageGraph};
use crate::inventory::{PackageEntry, Version};
use crate::plan::BrokenKind;
use crate::policy::{parse_version, GroupBy, Policy, Rule, RuleKind, Selector, Timestamp};

/// Per-package facts the rules and guards read.
pub(super) struct Ctx<'a> {
    pub package: &'a str,
    pub versions: &'a [Version],
    pub is_image: bool,
    /// Age of each version on the policy's timestamp (negative when in the future).
    pub age: Vec<chrono::Duration>,
    /// Version indices, newest first (ties: higher id first).
    pub order: Vec<usize>,
    /// The image graph (isolated versions for packages that are not images).
    pub graph: ImageGraph,
    /// The listing did not add up: a version may be missing ([`crate::inventory::ListingGap`]).
    pub listing_gap: Option<crate::inventory::ListingGap>,
    /// Per version: how the references `in_use` found name it.
    pub in_use: Vec<Option<super::in_use::Hit>>,
    /// The warnings for references to this package that name none of its versions.
    pub in_use_missing: Vec<String>,
}

/// What a rule selects in one version: all of it, or some of its tags (indices into `tags()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Selection {
    Whole,
    Tags(Vec<usize>),
}

/// What the rules select in one version.
#[derive(Clone, Debug, Default)]
pub(super) struct Selected<'p> {
    /// Keep rules that select the version or one of its tags.
    pub keep: Vec<&'p Rule>,
    /// Delete rules that select the version or one of its tags.
    pub delete: Vec<&'p Rule>,
    /// Per tag: the delete rules that select it.
    pub delete_tags: Vec<Vec<&'p Rule>>,
    /// Per tag: whether a keep rule selects it.
    pub keep_tags: Vec<bool>,
    /// Per tag: the delete rules with tag conditions (`tags`, `tag_regex`) that select it. Only
    /// these remove a tag from an image that stays; a rule without tag conditions speaks of
    /// whole versions.
    pub untag_tags: Vec<Vec<&'p Rule>>,
}

impl Selected<'_> {
    /// A delete rule selects the version and every one of its tags (an untagged version: when a
    /// delete rule selects it). Only then may the version itself be deleted.
    pub fn every_tag_deleted(&self) -> bool {
        !self.delete.is_empty() && self.delete_tags.iter().all(|r| !r.is_empty())
    }

    /// Its own tags (not artifact tags) that no delete rule selects: a version with such a tag
    /// is an image someone named, which never goes as a part of another image.
    pub fn tags_no_delete_rule_selects(&self, tags: &[String]) -> Vec<usize> {
        (0..tags.len())
            .filter(|&j| self.delete_tags[j].is_empty() && tag_subject(&tags[j]).is_none())
            .collect()
    }

    /// Tags a delete rule with tag conditions selects and no keep rule does, leaving out artifact tags
    /// (`sha256-<hex>[.sig|.att|.sbom]`), which follow their subject and are never removed on
    /// their own.
    pub fn tags_to_remove(&self, tags: &[String]) -> Vec<usize> {
        (0..tags.len())
            .filter(|&j| !self.untag_tags[j].is_empty() && !self.keep_tags[j])
            .filter(|&j| tag_subject(&tags[j]).is_none())
            .collect()
    }
}

impl<'a> Ctx<'a> {
    pub fn new(policy: &Policy, entry: &'a PackageEntry, now: DateTime<Utc>) -> Ctx<'a> {
        Ctx::new_in(policy, entry, now, &|_| false)
    }

    /// [`Ctx::new`], where `elsewhere(digest)` says whether another package listed in the run
    /// has that digest (an artifact's subject there is no orphan: [`ImageGraph::build_in`]).
    pub fn new_in(
        policy: &Policy,
        entry: &'a PackageEntry,
        now: DateTime<Utc>,
        elsewhere: &dyn Fn(&str) -> bool,
    ) -> Ctx<'a> {
        let versions = &entry.versions[..];
        let ts = |v: &Version| match policy.timestamp {
            Timestamp::UpdatedAt => v.updated_at,
            Timestamp::CreatedAt => v.created_at,
        };
        let age = versions.iter().map(|v| now - ts(v)).collect();
        let mut order: Vec<usize> = (0..versions.len()).collect();
        order.sort_by(|&a, &b| {
            ts(&versions[b])
                .cmp(&ts(&versions[a]))
                .then(versions[b].id.cmp(&versions[a].id))
        });
        let is_image = entry.package.package_type.is_image();
        let mut graph = if is_image {
            ImageGraph::build_in(versions, &entry.manifests, elsewhere)
        } else {
            ImageGraph::isolated(versions.len())
        };
        let listing_gap = entry.listing_gap.filter(|_| is_image);
        if listing_gap.is_some() {
            // A version the listing missed may be the index of any untagged version, as an
            // unread manifest may: its parents are unknown (and it is no image of its own).
            for (unknown, v) in graph.parents_unknown.iter_mut().zip(versions) {
                *unknown |= v.tags().is_empty();
            }
        }
        let (in_use, missing) = super::in_use::hits(policy, entry);
        Ctx {
            package: &entry.package.name,
            versions,
            is_image,
            age,
            order,
            graph,
            listing_gap,
            in_use,
            in_use_missing: missing
                .into_iter()
                .map(super::in_use::missing_warning)
                .collect(),
        }
    }

    /// For each version, what the keep and delete rules select of it.
    pub fn rule_selections<'p>(&self, policy: &'p Policy) -> Vec<Selected<'p>> {
        let mut out: Vec<Selected<'p>> = self
            .versions
            .iter()
            .map(|v| Selected {
                delete_tags: vec![Vec::new(); v.tags().len()],
                untag_tags: vec![Vec::new(); v.tags().len()],
                keep_tags: vec![false; v.tags().len()],
                ..Selected::default()
            })
            .collect();
        for rule in &policy.rules {
            let by_tag = rule.selector.selects_tags();
            for (i, selection) in self.select(&rule.selector) {
                let s = &mut out[i];
                let whole = 0..s.keep_tags.len();
                let tags: &mut dyn Iterator<Item = usize> = match &selection {
                    Selection::Whole => &mut whole.clone(),
                    Selection::Tags(t) => &mut t.iter().copied(),
                };
                match rule.kind {
                    RuleKind::Keep => {
                        s.keep.push(rule);
                        for j in tags {
                            s.keep_tags[j] = true;
                        }
                    }
                    RuleKind::Delete => {
                        s.delete.push(rule);
                        for j in tags {
                            s.delete_tags[j].push(rule);
                            if by_tag {
                                s.untag_tags[j].push(rule);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The versions a selector selects, newest first, with what it selects of each.
    pub fn select(&self, s: &Selector) -> Vec<(usize, Selection)> {
        if let Some(p) = &s.packages {
            if !p.is_match(self.package) {
                return Vec::new();
            }
        }
        let matching = self
            .order
            .iter()
            .copied()
            .filter_map(|i| self.matches(s, i).map(|sel| (i, sel)));
        let Some(n) = s.newest else {
            return matching.collect();
        };
        // `newest` counts images: parts of an image follow it and are not counted.
        let matching = matching.filter(|&(i, _)| self.graph.is_top_level(i));
        // `order` is newest first, so the first N of each group are its newest.
        let mut taken: HashMap<Option<String>, usize> = HashMap::new();
        let mut out = Vec::new();
        for (i, sel) in matching {
            let key = match &s.group_by {
                None => None,
                Some(g) => match self.group_key(g, i) {
                    Some(k) => Some(k),
                    None => continue,
                },
            };
            let count = taken.entry(key).or_insert(0);
            if *count < n {
                *count += 1;
                out.push((i, sel));
            }
        }
        out
    }

    /// Every condition but `newest`: what the selector selects of version `i`, if anything.
    fn matches(&self, s: &Selector, i: usize) -> Option<Selection> {
        let v = &self.versions[i];
        let tags = v.tags();
        if let Some(untagged) = s.untagged {
            if tags.is_empty() != untagged {
                return None;
            }
        }
        let broken = self.graph.broken[i].as_ref().map(|(k, _)| *k);
        for (want, kind) in [
            (s.ghost, BrokenKind::Ghost),
            (s.partial, BrokenKind::Partial),
            (s.orphaned, BrokenKind::Orphaned),
        ] {
            if want.is_some_and(|w| (broken == Some(kind)) != w) {
                return None;
            }
        }
        if let Some(g) = &s.versions {
            if !g.is_match(&v.name) {
                return None;
            }
        }
        let in_use = self.in_use[i].as_ref();
        if s.in_use.is_some_and(|want| in_use.is_some() != want) {
            return None;
        }
        if s.semver.is_some() || s.prerelease.is_some() {
            let parsed: Vec<semver::Version> =
                self.version_strings(i).filter_map(parse_version).collect();
            if let Some(req) = &s.semver {
                if !parsed.iter().any(|p| req.matches(p)) {
                    return None;
                }
            }
            if let Some(pre) = s.prerelease {
                if !parsed.iter().any(|p| p.pre.is_empty() != pre) {
                    return None;
                }
            }
        }
        if let Some(d) = s.older_than {
            if self.age[i] <= chrono_duration(d) {
                return None;
            }
        }
        if let Some(d) = s.newer_than {
            if self.age[i] >= chrono_duration(d) {
                return None;
            }
        }
        // In use by tag only: the rule selects those tags (the image, and the tags it is used by).
        let by_tag = match (s.in_use, in_use) {
            (Some(true), Some(hit)) if !hit.whole => Some(&hit.tags),
            _ => None,
        };
        if !s.selects_tags() && by_tag.is_none() {
            return Some(Selection::Whole);
        }
        let selected: Vec<usize> = tags
            .iter()
            .enumerate()
            .filter(|(_, t)| s.tags.as_ref().is_none_or(|g| g.is_match(t)))
            .filter(|(_, t)| s.tag_regex.as_ref().is_none_or(|r| r.is_match(t)))
            .filter(|(j, _)| by_tag.is_none_or(|used| used.contains(j)))
            .map(|(j, _)| j)
            .collect();
        (!selected.is_empty()).then_some(Selection::Tags(selected))
    }

    /// The strings that name a version: its tags for images, its name otherwise.
    fn version_strings(&self, i: usize) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        let v: &'a Version = &self.versions[i];
        if self.is_image {
            Box::new(v.tags().iter().map(String::as_str))
        } else {
            Box::new(std::iter::once(v.name.as_str()))
        }
    }

    fn group_key(&self, g: &GroupBy, i: usize) -> Option<String> {
        match g {
            GroupBy::Major => self
                .version_strings(i)
                .filter_map(parse_version)
                .next()
                .map(|v| v.major.to_string()),
            GroupBy::Minor => self
                .version_strings(i)
                .filter_map(parse_version)
                .next()
                .map(|v| format!("{}.{}", v.major, v.minor)),
            GroupBy::Regex(r) => self.version_strings(i).find_map(|s| {
                r.captures(s)
                    .and_then(|c| c.get(1))
                    .map(|m| m.as_str().to_string())
            }),
        }
    }
}

pub(super) fn chrono_duration(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
