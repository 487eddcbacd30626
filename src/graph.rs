//! The bounded parallel walk over a dependency DAG (petgraph): a node starts when everything it
//! depends on has finished; at most `parallelism` run at once; a failed node skips its
//! dependents (transitively) and never the unrelated ones; a node whose task panicked is a
//! failure like any other. A stop flag (Ctrl-C) lets running nodes finish and starts no new ones.

use petgraph::graph::{DiGraph, NodeIndex};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::task::JoinSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<E> {
    Done,
    Failed(E),
    /// Its task panicked (or was lost): a failure, with what the panic said.
    Panicked(String),
    /// Not run because the named node failed.
    Skipped(String),
    /// Not run because the walk was interrupted.
    NotStarted,
}

/// Runs `run(i)` for each node `0..labels.len()` after its `deps[i]`; returns each node's outcome.
pub async fn walk<F, Fut, E>(
    labels: &[String],
    deps: &[Vec<usize>],
    parallelism: usize,
    stop: Arc<AtomicBool>,
    run: F,
) -> Vec<Outcome<E>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    let n = labels.len();
    let mut g: DiGraph<usize, ()> = DiGraph::new();
    let idx: Vec<NodeIndex> = (0..n).map(|i| g.add_node(i)).collect();
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            g.update_edge(idx[d], idx[i], ());
        }
    }
    let mut remaining: Vec<usize> =
        (0..n).map(|i| g.neighbors_directed(idx[i], petgraph::Direction::Incoming).count()).collect();
    let mut outcome: Vec<Option<Outcome<E>>> = (0..n).map(|_| None).collect();
    let mut ready: Vec<usize> = (0..n).filter(|&i| remaining[i] == 0).rev().collect();
    let mut running = JoinSet::new();
    // Which node each task runs: a panicked task tells only its id.
    let mut node_of = std::collections::HashMap::new();
    let parallelism = parallelism.max(1);

    loop {
        while running.len() < parallelism && !stop.load(Ordering::SeqCst) {
            let Some(i) = ready.pop() else { break };
            let fut = run(i);
            node_of.insert(running.spawn(fut).id(), i);
        }
        let Some(joined) = running.join_next_with_id().await else { break };
        let (i, result) = match joined {
            Ok((id, result)) => (node_of[&id], result.map_err(Outcome::Failed)),
            Err(e) => (node_of[&e.id()], Err(Outcome::Panicked(panic_message(e)))),
        };
        match result {
            Ok(()) => {
                outcome[i] = Some(Outcome::Done);
                for next in g.neighbors_directed(idx[i], petgraph::Direction::Outgoing) {
                    let j = g[next];
                    remaining[j] -= 1;
                    if remaining[j] == 0 && outcome[j].is_none() {
                        ready.push(j);
                        ready.sort_by(|a, b| b.cmp(a));
                    }
                }
            }
            Err(failed) => {
                outcome[i] = Some(failed);
                let mut dfs = petgraph::visit::Dfs::new(&g, idx[i]);
                while let Some(x) = dfs.next(&g) {
                    let j = g[x];
                    if j != i && outcome[j].is_none() {
                        outcome[j] = Some(Outcome::Skipped(labels[i].clone()));
                    }
                }
            }
        }
    }
    outcome.into_iter().map(|o| o.unwrap_or(Outcome::NotStarted)).collect()
}

fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into()),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn order_parallelism_and_failure_isolation() {
        // 0 → 1 → 2, and 3 independent; 1 fails.
        let labels: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let deps = vec![vec![], vec![0], vec![1], vec![]];
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let out = walk(&labels, &deps, 2, Arc::new(AtomicBool::new(false)), move |i| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push(i);
                if i == 1 { Err("boom".to_string()) } else { Ok(()) }
            }
        })
        .await;
        assert_eq!(out[0], Outcome::Done);
        assert_eq!(out[1], Outcome::Failed("boom".into()));
        assert_eq!(out[2], Outcome::Skipped("b".into()));
        assert_eq!(out[3], Outcome::Done);
        let order = seen.lock().unwrap().clone();
        assert!(order.iter().position(|&x| x == 0) < order.iter().position(|&x| x == 1));
        assert!(!order.contains(&2));
    }

    #[tokio::test]
    async fn a_panicking_node_fails_and_skips_its_dependents() {
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let deps = vec![vec![], vec![0], vec![]];
        let out = walk(&labels, &deps, 2, Arc::new(AtomicBool::new(false)), |i| async move {
            if i == 0 {
                panic!("lost its way");
            }
            Ok::<(), String>(())
        })
        .await;
        assert_eq!(out[0], Outcome::Panicked("lost its way".into()));
        assert_eq!(out[1], Outcome::Skipped("a".into()));
        assert_eq!(out[2], Outcome::Done);
    }
}
