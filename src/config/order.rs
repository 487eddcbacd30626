//! The order a module's blocks are evaluated in: a graph of their references (`var.*` and
//! `count`/`each` are checked, not ordered), sorted with Tarjan's algorithm; a cycle is an error
//! naming every member, whose members then evaluate to null so the rest is still checked.

use super::diag::{self, Loc};
use super::eval;
use super::module::{Key, Loader, Node};
use super::types::Variable;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{BTreeMap, BTreeSet};

impl Loader<'_> {
    /// Orders a module's nodes by their references; cycles and undefined names are errors.
    pub(super) fn order(
        &mut self,
        nodes: &BTreeMap<Key, Node>,
        variables: &BTreeMap<String, Variable>,
        cyclic: &mut BTreeSet<Key>,
    ) -> Vec<Key> {
        let mut graph: DiGraph<Key, ()> = DiGraph::new();
        let index: BTreeMap<Key, NodeIndex> = nodes.keys().map(|k| (k.clone(), graph.add_node(k.clone()))).collect();
        let mut locs: BTreeMap<Key, Loc> = BTreeMap::new();
        for (key, node) in nodes {
            let (loc, repeated) = match node {
                Node::Local(a) => (a.key_loc.clone(), false),
                Node::Block(b) => (b.loc.clone(), b.attrs.contains_key("count") || b.attrs.contains_key("for_each")),
            };
            let file = loc.file;
            locs.insert(key.clone(), loc);
            for expr in node.exprs() {
                for r in eval::references(expr) {
                    let loc = Loc { file, range: r.range.clone() };
                    let Some(target) = self.reference(&r, &loc, node, repeated, nodes, &index, variables) else {
                        continue;
                    };
                    graph.update_edge(index[key], index[&target], ());
                }
            }
        }
        // Tarjan yields components in reverse topological order of "refers to" edges: what is
        // referred to comes first, which is the evaluation order. A component with more than one
        // member (or a self-reference) is a cycle: reported, and its members evaluate to null so
        // the rest of the configuration is still checked.
        let mut order = Vec::new();
        for scc in petgraph::algo::tarjan_scc(&graph) {
            let is_cycle = scc.len() > 1 || graph.contains_edge(scc[0], scc[0]);
            if !is_cycle {
                order.push(graph[scc[0]].clone());
                continue;
            }
            let mut members: Vec<&Key> = scc.iter().map(|i| &graph[*i]).collect();
            members.sort();
            let names: Vec<String> = members.iter().map(|(k, n)| format!("{k}.{n}")).collect();
            let places: Vec<String> =
                members.iter().map(|m| format!("{}.{} at {}", m.0, m.1, self.sources.position(&locs[*m]))).collect();
            self.error(
                &locs[members[0]],
                format!("reference cycle: {} refer to each other", names.join(", ")),
                "part of the cycle",
                format!("break the cycle; its members are: {}", places.join("; ")),
            );
            cyclic.extend(members.into_iter().cloned());
        }
        // Jobs after clusters they may name with a plain string; order is otherwise kept.
        order.sort_by_key(|k| k.0 == "job");
        order
    }

    /// What one reference in `node` refers to, among the blocks and locals that are ordered
    /// (variables, `path`, `count` and `each` are not); an undefined name, or a reference a
    /// block may not make, is reported and gives None.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        &mut self,
        r: &eval::Reference,
        loc: &Loc,
        node: &Node,
        repeated: bool,
        nodes: &BTreeMap<Key, Node>,
        index: &BTreeMap<Key, NodeIndex>,
        variables: &BTreeMap<String, Variable>,
    ) -> Option<Key> {
        let target = match r.namespace.as_str() {
            "var" => {
                if !variables.contains_key(&r.name) {
                    self.errors.push(super::undefined(
                        &self.sources,
                        loc,
                        "variable",
                        &format!("var.{}", r.name),
                        &r.name,
                        variables.keys().map(String::as_str),
                        &format!("declare it: `variable \"{}\" {{}}`", r.name),
                    ));
                }
                return None;
            }
            "path" => return None,
            "count" | "each" => {
                let wanted = if r.namespace == "count" { "count" } else { "for_each" };
                let ok = matches!(node, Node::Block(b) if b.attrs.contains_key(wanted));
                if !ok || !repeated {
                    self.error(
                        loc,
                        format!("`{}.{}` is only available in a block with `{wanted}`", r.namespace, r.name),
                        "not repeated",
                        format!("add `{wanted} = …` to the block, or remove this reference"),
                    );
                }
                return None;
            }
            ns => (ns.to_string(), r.name.clone()),
        };
        if !index.contains_key(&target) {
            let names: Vec<&str> = nodes.keys().filter(|k| k.0 == target.0).map(|k| k.1.as_str()).collect();
            let help = if target.0 == "local" {
                format!("define it in a `locals {{ {} = … }}` block", r.name)
            } else {
                format!("declare it: `{} \"{}\" {{ … }}`", target.0, r.name)
            };
            self.errors.push(super::undefined(
                &self.sources,
                loc,
                &target.0,
                &format!("{}.{}", r.namespace, r.name),
                &r.name,
                names,
                &help,
            ));
            return None;
        }
        if target.0 == "cluster"
            && let Some(a) = &r.attribute
            && !super::CLUSTER_ATTRIBUTES.contains(&a.as_str())
        {
            let help = diag::suggest(a, super::CLUSTER_ATTRIBUTES.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("available: {}", super::CLUSTER_ATTRIBUTES.join(", ")));
            self.error(loc, format!("cluster \"{}\" has no attribute `{a}`", r.name), "unknown attribute", help);
        }
        Some(target)
    }
}
