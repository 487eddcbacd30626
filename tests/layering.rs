//! The crate's layering, checked from its source (docs/ARCHITECTURE.md, "Rooms and layers"):
//! a module refers only to modules on its own layer's right-hand side of
//! cli → pipeline → apply → plan → observe → state/docker/flink → model → config → names/graph,
//! and no two files import each other, directly or around a circle. Reads `crate::…` and
//! `super::…` paths as text: cheap, and enough for a crate that names its imports that way.

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module's layer: a module may use modules of a lower layer only.
const LAYERS: &[(&str, u32)] = &[
    ("cli", 9),
    ("pipeline", 8),
    ("apply", 7),
    ("plan", 6),
    ("observe", 5),
    ("state", 4),
    ("docker", 4),
    ("flink", 4),
    ("model", 3),
    ("config", 2),
    ("names", 1),
    ("address", 1),
    ("graph", 1),
    ("key", 1),
    ("clock", 1),
    ("cores", 0),
    ("ui", 2),
    ("tls", 2),
    ("policy", 1),
];

fn layer(module: &str) -> u32 {
    LAYERS
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, l)| *l)
        .unwrap_or_else(|| panic!("src/{module} has no layer: add it to LAYERS here and to docs/ARCHITECTURE.md"))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's module path: `src/plan/diff.rs` → ["plan", "diff"], `src/plan/mod.rs` → ["plan"].
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix("src").unwrap();
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib" || p == "main") {
        parts.pop();
    }
    parts
}

/// Module paths a file refers to (`crate::a::b…`, `super::b…`), outside comments and tests.
fn references(file: &Path) -> BTreeSet<Vec<String>> {
    let text = std::fs::read_to_string(file).unwrap();
    let here = module_path(file);
    let mut out = BTreeSet::new();
    // A file's unit tests (at its end) may use whatever they test with.
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    for line in code.lines().map(str::trim_start).filter(|l| !l.starts_with("//")) {
        for (prefix, base) in [("crate::", Vec::new()), ("super::", parent(&here))] {
            let mut rest = line;
            while let Some(i) = rest.find(prefix) {
                let path: Vec<String> = rest[i + prefix.len()..]
                    .split("::")
                    .map(|s| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
                    .take_while(|s| !s.is_empty() && s.chars().next().is_some_and(|c| c.is_lowercase()))
                    .collect();
                let mut full = base.clone();
                full.extend(path);
                out.insert(full);
                rest = &rest[i + prefix.len()..];
            }
        }
    }
    out
}

/// The module `super` names from a file.
fn parent(here: &[String]) -> Vec<String> {
    here[..here.len().saturating_sub(1)].to_vec()
}

/// The longest prefix of `path` that is a file of the crate.
fn resolve(path: &[String], files: &BTreeMap<Vec<String>, PathBuf>) -> Option<Vec<String>> {
    (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| files.contains_key(p))
}

#[test]
fn no_module_imports_one_above_it_and_no_file_import_circles() {
    let mut paths = Vec::new();
    sources(Path::new("src"), &mut paths);
    paths.retain(|p| !p.ends_with("main.rs") && !p.ends_with("lib.rs"));
    let files: BTreeMap<Vec<String>, PathBuf> = paths.iter().map(|p| (module_path(p), p.clone())).collect();
    let mut upward = Vec::new();
    let mut graph = DiGraph::<&Vec<String>, ()>::new();
    let nodes: BTreeMap<&Vec<String>, _> = files.keys().map(|k| (k, graph.add_node(k))).collect();
    for (module, file) in &files {
        for target in references(file).iter().filter_map(|r| resolve(r, &files)) {
            if target == *module {
                continue;
            }
            let (from, to) = (&module[0], &target[0]);
            if from != to && layer(to) >= layer(from) {
                upward.push(format!("{} uses {}", file.display(), target.join("::")));
            }
            // A module file declaring and re-exporting its children is not an import of them.
            let declares_child = target.len() > module.len() && target.starts_with(module);
            if !declares_child {
                graph.add_edge(nodes[module], nodes[&target], ());
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports from a lower layer to a higher one (or across one layer):\n{}",
        upward.join("\n")
    );
    let circles: Vec<String> = tarjan_scc(&graph)
        .into_iter()
        .filter(|scc| scc.len() > 1)
        .map(|scc| scc.iter().map(|n| graph[*n].join("::")).collect::<Vec<_>>().join(" → "))
        .collect();
    assert!(circles.is_empty(), "files that import each other:\n{}", circles.join("\n"));
}
