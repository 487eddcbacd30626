//! Attributes, the reviewer's view of a resource: which changed between state and
//! configuration, and how each change reads in a plan (`slots: 2 → 4`).

use std::collections::{BTreeMap, BTreeSet};

pub(super) fn changed_keys(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter().filter(|k| before.get(*k) != after.get(*k)).cloned().collect()
}

/// `env` covers `env.KEY`; `port` covers `port.80/tcp`.
pub(super) fn ignored(key: &str, ignore: &[String]) -> bool {
    ignore.iter().any(|i| key == i || key.strip_prefix(i.as_str()).is_some_and(|rest| rest.starts_with('.')))
}

/// `slots: 2 → 4`, one per changed attribute; multi-line values list the keys that changed.
pub fn attribute_changes(before: Option<&BTreeMap<String, String>>, after: &BTreeMap<String, String>) -> Vec<String> {
    let Some(before) = before else { return Vec::new() };
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        let (b, a) = (before.get(k), after.get(k));
        if b == a {
            continue;
        }
        let (bs, as_) = (b.map(String::as_str).unwrap_or("(none)"), a.map(String::as_str).unwrap_or("(none)"));
        if bs.contains('\n') || as_.contains('\n') {
            let bl: BTreeSet<&str> = bs.lines().collect();
            let al: BTreeSet<&str> = as_.lines().collect();
            let changed: BTreeSet<&str> =
                bl.symmetric_difference(&al).map(|l| l.split(':').next().unwrap_or(l).trim()).collect();
            out.push(format!("{k} changed ({})", changed.into_iter().collect::<Vec<_>>().join(", ")));
        } else {
            out.push(crate::model::sensitive::display(&format!("{k}: {bs} → {as_}")));
        }
    }
    out
}
