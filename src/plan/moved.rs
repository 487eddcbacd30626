//! `moved` blocks applied to the state before the plan is decided (Terraform's refactoring):
//! each record under a move's `from` is renamed to the matching address under `to`, and so are
//! the references other records hold (dependencies, a job's cluster). What is recorded keeps its
//! container ids, so an object whose Docker name and configuration did not change is kept.

use crate::address::{Address, Key};
use crate::config::Move;
use crate::state::State;

/// One record moved: shown in the plan (`# cluster.a has moved to cluster.b`), and as
/// `previous_address` in its JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Moved {
    pub from: String,
    pub to: String,
}

/// Renames the state's records as `moves` say; a record whose new address is already recorded
/// stays where it is (nothing is overwritten).
pub fn apply(state: &mut State, moves: &[Move]) -> Vec<Moved> {
    if moves.is_empty() {
        return Vec::new();
    }
    let mut renames: Vec<Moved> = Vec::new();
    for r in &state.resources {
        let Ok(address) = Address::parse(&r.address) else { continue };
        let Some(to) = follow(moves, &address) else { continue };
        let to = to.to_string();
        if state.resource(&to).is_none() && !renames.iter().any(|m| m.to == to) {
            renames.push(Moved { from: r.address.clone(), to });
        }
    }
    let renamed = |a: &str| renames.iter().find(|m| m.from == a).map(|m| m.to.clone());
    let mut moved_records = Vec::new();
    for m in &renames {
        if let Some(mut r) = state.resource(&m.from).cloned() {
            state.remove(&m.from);
            r.address = m.to.clone();
            moved_records.push(r);
        }
    }
    for r in moved_records {
        state.put(r);
    }
    // What other records name by address: their dependencies, a job's cluster.
    for r in &mut state.resources {
        for d in &mut r.dependencies {
            if let Some(to) = renamed(d) {
                *d = to;
            }
        }
        if let Some(job) = r.job.as_mut() {
            let cluster = Address::parse(&job.cluster).ok();
            if let Some(to) = cluster.and_then(|c| follow(moves, &c)) {
                job.cluster = to.to_string();
            }
        }
    }
    renames
}

/// Where `address` ends after every move that applies, in a chain (`a` → `b`, `b` → `c`: `c`, as
/// Terraform follows them); None when no move applies. A circle stops after one turn.
fn follow(moves: &[Move], address: &Address) -> Option<Address> {
    let mut at: Option<Address> = None;
    for _ in 0..moves.len() {
        let current = at.as_ref().unwrap_or(address);
        match moves.iter().find_map(|m| rewrite(&m.from, &m.to, current)) {
            Some(next) if next != *address => at = Some(next),
            _ => break,
        }
    }
    at
}

/// `address` under `from`, rewritten under `to`; None when `from` does not select it. A `from`
/// without a key matches every instance, which keeps its key unless `to` names one (a block
/// put under `count`: `from = cluster.a`, `to = cluster.a[0]` moves only the unkeyed one).
fn rewrite(from: &Address, to: &Address, address: &Address) -> Option<Address> {
    let n = from.steps.len();
    if address.steps.len() < n {
        return None;
    }
    for (i, (f, a)) in from.steps.iter().zip(&address.steps).enumerate() {
        let last = i == n - 1;
        let key_ok = f.key == a.key || (last && f.key.is_none() && to.steps.last()?.key.is_none());
        if f.kind != a.kind || f.name != a.name || !key_ok {
            return None;
        }
    }
    let mut steps = to.steps.clone();
    let carried: Option<Key> = address.steps[n - 1].key.clone();
    if from.steps[n - 1].key.is_none()
        && let Some(last) = steps.last_mut()
        && last.key.is_none()
    {
        last.key = carried;
    }
    steps.extend(address.steps[n..].iter().cloned());
    Some(Address { steps, part: address.part.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(from: &str, to: &str, a: &str) -> Option<String> {
        rewrite(&from.parse().unwrap(), &to.parse().unwrap(), &a.parse().unwrap()).map(|a| a.to_string())
    }

    #[test]
    fn rewrites_blocks_instances_and_modules() {
        assert_eq!(rw("cluster.a", "cluster.b", "cluster.a.jobmanager[0]").as_deref(), Some("cluster.b.jobmanager[0]"));
        assert_eq!(rw("cluster.a", "cluster.b", "cluster.ab.network"), None);
        assert_eq!(rw("container.x", "container.y", "container.x[2]").as_deref(), Some("container.y[2]"));
        assert_eq!(rw("container.x", "container.x[0]", "container.x").as_deref(), Some("container.x[0]"));
        assert_eq!(rw("container.x", "container.x[0]", "container.x[1]"), None);
        assert_eq!(rw("container.x[\"a\"]", "container.y", "container.x[\"a\"]").as_deref(), Some("container.y"));
        assert_eq!(
            rw("cluster.flink", "module.m[\"eu\"].cluster.flink", "cluster.flink.taskmanager[1]").as_deref(),
            Some("module.m[\"eu\"].cluster.flink.taskmanager[1]")
        );
        assert_eq!(rw("module.a", "module.b", "module.a.container.c").as_deref(), Some("module.b.container.c"));
        assert_eq!(rw("module.a", "module.b", "module.a[0].container.c").as_deref(), Some("module.b[0].container.c"));
    }

    #[test]
    fn follows_a_chain_of_moves() {
        let m = |f: &str, t: &str| Move {
            from: f.parse().unwrap(),
            to: t.parse().unwrap(),
            loc: crate::config::Loc::new(0, None),
        };
        let moves = [m("container.b", "container.c"), m("container.a", "container.b")];
        let at = |a: &str| follow(&moves, &a.parse().unwrap()).map(|a| a.to_string());
        assert_eq!(at("container.a").as_deref(), Some("container.c"));
        assert_eq!(at("container.b").as_deref(), Some("container.c"));
        assert_eq!(at("container.c"), None);
        let circle = [m("container.a", "container.b"), m("container.b", "container.a")];
        assert_eq!(
            follow(&circle, &"container.a".parse().unwrap()).map(|a| a.to_string()).as_deref(),
            Some("container.b")
        );
    }
}
