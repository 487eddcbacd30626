//! `moved` blocks — Terraform's refactoring without destroy: `from` and `to` are addresses
//! (written as references, read from the source, never evaluated), relative to the module the
//! block is in. A block renamed, put under `count`/`for_each`, or moved into or out of a module
//! keeps what its old address recorded; the plan moves the state's records before deciding.

use super::diag::Loc;
use super::module::{Loader, Scope};
use super::raw::RawBlock;
use super::types::Move;
use crate::address::Address;

impl Loader<'_> {
    /// Reads one `moved` block of a module; errors are reported, the move dropped.
    pub(super) fn moved(&mut self, scope: &Scope, b: &RawBlock) {
        let (Some(from), Some(to)) = (self.moved_end(scope, b, "from"), self.moved_end(scope, b, "to")) else { return };
        let kind = |a: &Address| a.steps.last().map(|s| s.kind.clone()).unwrap_or_default();
        if kind(&from.0) != kind(&to.0) {
            self.error(
                &to.1,
                format!("`moved` cannot turn a {} into a {}", kind(&from.0), kind(&to.0)),
                "another kind",
                "a move keeps the kind: cluster to cluster, container to container, module to module".into(),
            );
            return;
        }
        if from.0 == to.0 {
            self.error(&to.1, "`from` and `to` are the same address", "no move", "remove the block".into());
            return;
        }
        if self.out.moves.iter().any(|m| m.from == from.0) {
            self.error(
                &from.1,
                format!("{} is moved by two `moved` blocks", from.0),
                "ambiguous move",
                "keep one `moved` block per address".into(),
            );
            return;
        }
        self.out.moves.push(Move { from: from.0, to: to.0, loc: b.loc.clone() });
    }

    /// `from` or `to`: a block or module address (no cluster part), prefixed with the module's.
    fn moved_end(&mut self, scope: &Scope, b: &RawBlock, name: &str) -> Option<(Address, Loc)> {
        let Some(attr) = b.attrs.get(name) else {
            self.error(
                &b.loc,
                format!("`moved` needs `{name}`"),
                "incomplete",
                "write `moved {\n  from = cluster.old\n  to   = cluster.new\n}`".into(),
            );
            return None;
        };
        let text = self.sources.files[attr.value_loc.file].text.get(attr.value_loc.range.clone()).unwrap_or_default();
        let parsed = Address::parse(&format!("{}{}", scope.prefix, text.trim()));
        match parsed {
            Ok(a) if a.part.is_none() => Some((a, attr.value_loc.clone())),
            Ok(_) => {
                self.error(
                    &attr.value_loc,
                    "a cluster's parts move with their cluster",
                    "a part",
                    "move the cluster: `from = cluster.old`, `to = cluster.new`".into(),
                );
                None
            }
            Err(e) => {
                self.error(
                    &attr.value_loc,
                    format!("`{name}` must be an address: {e}"),
                    "not an address",
                    "write it as a reference, without quotes: `cluster.old`, `module.m[\"eu\"]`".into(),
                );
                None
            }
        }
    }
}

/// A move whose `from` the configuration still declares is a mistake (Terraform's "moved
/// object still exists"): the block was renamed in one place and not the other.
pub(super) fn still_declared<'a>(moves: &'a [Move], declared: &[&str]) -> Vec<(&'a Move, String)> {
    let mut out = Vec::new();
    for m in moves {
        let hit = declared.iter().filter_map(|a| Address::parse(a).ok()).find(|a| m.from.selects(a));
        if let Some(a) = hit {
            out.push((m, a.to_string()));
        }
    }
    out
}
