//! `apply --plan --policy`: delete and untag only what both the saved plan and the policy,
//! evaluated now, agree on. The graph may have changed since the plan was made (a new image
//! sharing a platform manifest, a tag moved): the fresh evaluation can only hold things back,
//! never add any. Pure, so that the intersection is tested on plans alone.

use std::collections::HashMap;

use super::{Action, Plan, VersionPlan};

/// The plan evaluated now, looked up by version id.
pub struct Recheck<'a> {
    now: HashMap<u64, &'a VersionPlan>,
}

impl<'a> Recheck<'a> {
    pub fn new(now: &'a Plan) -> Recheck<'a> {
        Recheck {
            now: now
                .packages
                .iter()
                .flat_map(|p| p.versions.iter())
                .map(|v| (v.id, v))
                .collect(),
        }
    }

    /// Why the planned deletion of version `id` is held back (`None`: the policy deletes it now
    /// too).
    pub fn deletion_hold(&self, id: u64) -> Option<String> {
        match self.now.get(&id) {
            Some(v) if v.action == Action::Delete => None,
            Some(v) => Some(format!(
                "not deleted: the policy, evaluated now, keeps it ({})",
                v.reasons.join("; ")
            )),
            None => Some("not deleted: the policy, evaluated now, does not see it".to_string()),
        }
    }

    /// Why the planned removal of `tag` from version `id` is held back (`None`: the policy
    /// removes that tag now too).
    pub fn untag_hold(&self, id: u64, tag: &str) -> Option<String> {
        match self.now.get(&id) {
            Some(v) if v.untag.iter().any(|t| t == tag) => None,
            Some(v) => Some(format!(
                "not untagged: the policy, evaluated now, does not remove tag {tag} ({})",
                v.reasons.join("; ")
            )),
            None => {
                Some("not untagged: the policy, evaluated now, does not see the image".to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PackagePlan, Summary};

    fn version(id: u64, action: Action, untag: &[&str], reason: &str) -> VersionPlan {
        let t = "2026-01-01T00:00:00Z".parse().expect("time");
        VersionPlan {
            id,
            name: format!("sha256:{id:064x}"),
            tags: vec![],
            created_at: t,
            updated_at: t,
            action,
            reasons: vec![reason.to_string()],
            withheld: false,
            after: vec![],
            untag: untag.iter().map(|s| s.to_string()).collect(),
            part_of: None,
            in_use: Vec::new(),
        }
    }

    fn plan(versions: Vec<VersionPlan>) -> Plan {
        let mut package: PackagePlan = serde_json::from_value(serde_json::json!({
            "name": "api", "type": "container", "versions": []
        }))
        .expect("package");
        package.versions = versions;
        Plan {
            schema: 1,
            owner: "acme".into(),
            generated_at: "2026-01-01T00:00:00Z".parse().expect("time"),
            policy_sha256: "x".into(),
            max_deletions: None,
            summary: Summary::default(),
            packages: vec![package],
        }
    }

    #[test]
    fn deletes_only_what_both_delete() {
        let now = plan(vec![
            version(1, Action::Delete, &[], "rule 'old'"),
            version(2, Action::Keep, &[], "keep rule 'latest'"),
        ]);
        let r = Recheck::new(&now);
        assert_eq!(r.deletion_hold(1), None);
        assert_eq!(
            r.deletion_hold(2).as_deref(),
            Some("not deleted: the policy, evaluated now, keeps it (keep rule 'latest')")
        );
        assert_eq!(
            r.deletion_hold(3).as_deref(),
            Some("not deleted: the policy, evaluated now, does not see it")
        );
    }

    #[test]
    fn untags_only_what_both_untag() {
        let now = plan(vec![version(1, Action::Keep, &["pr-1"], "rule 'prs'")]);
        let r = Recheck::new(&now);
        assert_eq!(r.untag_hold(1, "pr-1"), None);
        assert_eq!(
            r.untag_hold(1, "pr-2").as_deref(),
            Some("not untagged: the policy, evaluated now, does not remove tag pr-2 (rule 'prs')")
        );
        assert_eq!(
            r.untag_hold(9, "pr-1").as_deref(),
            Some("not untagged: the policy, evaluated now, does not see the image")
        );
    }
}
