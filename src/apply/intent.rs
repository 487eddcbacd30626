//! Write-ahead intent (docs/ARCHITECTURE.md, "State"): an engine or Flink call that changes
//! something is recorded in the state as pending before it is sent, and dropped with the write
//! that records its result; a run that died mid-call leaves the entry, and the next apply or
//! destroy resolves it before planning.

use super::{ApplyError, Shared, job, jobmanager_urls_in, save};
use crate::docker::{Engine, ops};
use crate::plan::Change;
use crate::state::{Pending, PendingOp, State};
use std::time::Duration;

/// Records, before the call is sent, that `operation` on `c` is about to be asked of the engine.
pub(super) fn intend(shared: &Shared, c: &Change, operation: PendingOp, id: Option<&String>) -> Result<(), ApplyError> {
    let pending =
        Pending { operation, address: c.address.clone(), kind: c.kind, name: c.name.clone(), id: id.cloned() };
    save(shared, |s| s.intend(pending))
}

/// A call the engine answered with an error is no longer in flight: its intent is dropped.
pub(super) fn settle_on_error<T>(
    shared: &Shared,
    c: &Change,
    operation: PendingOp,
    result: Result<T, ApplyError>,
) -> Result<T, ApplyError> {
    if result.is_err() {
        let _ = save(shared, |s| s.settle(operation, &c.address));
    }
    result
}

/// Resolves the calls a stopped run left in flight, before anything is planned: a removal is
/// finished (a container's stop may still have been under way, and would otherwise be seen
/// running now and stopped later) and the object dropped from the state; a create needs
/// nothing, since what it made carries the project's labels and is adopted (or removed) by the
/// plan. Returns one line per entry resolved.
pub async fn settle_pending(
    engine: &Engine,
    state: &mut State,
    masker: &crate::model::sensitive::Masker,
) -> Result<Vec<String>, ApplyError> {
    let mut notes = Vec::new();
    for p in std::mem::take(&mut state.pending) {
        match (p.operation, &p.id) {
            (PendingOp::Remove, Some(id)) => {
                tracing::debug!(address = %p.address, id, "finishing an interrupted removal");
                match ops::remove(engine, p.kind, id, &p.name).await {
                    // Still there and still ours: the plan decides about it as about any other.
                    Err(e) if e.is_in_use() => {
                        notes.push(format!("{}: its interrupted removal cannot finish ({e})", p.address));
                        continue;
                    }
                    removed => removed?,
                }
                if state.resource(&p.address).is_some_and(|r| &r.id == id) {
                    state.remove(&p.address);
                }
                notes.push(format!("{}: finished its removal, interrupted in an earlier run", p.address));
            }
            (PendingOp::StopJob, Some(jid)) => notes.push(settle_stop(engine, state, masker, &p.address, jid).await),
            (PendingOp::Create, _) => {
                notes.push(format!("{}: an interrupted create; adopted from its labels if it exists", p.address))
            }
            (PendingOp::Remove | PendingOp::StopJob, None) => {}
        }
    }
    Ok(notes)
}

/// A stop-with-savepoint a stopped run left in flight: once the job has ended (Flink finishes
/// the stop on its own), its savepoint — newer than any recorded — is recorded and the job
/// marked suspended, so the plan resubmits it from there. A job still running keeps its record.
async fn settle_stop(
    engine: &Engine,
    state: &mut State,
    masker: &crate::model::sensitive::Masker,
    address: &str,
    jid: &str,
) -> String {
    let Some(cluster) = state.resource(address).and_then(|r| r.job.as_ref()).map(|j| j.cluster.clone()) else {
        return format!("{address}: no longer recorded; its interrupted stop needs nothing");
    };
    for url in jobmanager_urls_in(state, &cluster) {
        let Ok(rest) = super::tls::rest_outside_apply(engine, state, masker, &cluster, url).await else { continue };
        let ended = job::wait_for(&rest, jid, |s| s.is_none_or(crate::plan::jobs_is_terminal), Duration::from_secs(60));
        if ended.await.is_err() {
            return format!("{address}: its interrupted stop did not end the job; it is planned as it runs");
        }
        // Flink serves checkpoint statistics from a cache (3 s by default): a savepoint that
        // ended the job may take that long to show.
        let mut latest = None;
        for _ in 0..20 {
            latest = rest.latest_savepoint(jid).await.ok().flatten();
            if latest.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if let Some(path) = latest
            && let Some(mut r) = state.resource(address).cloned()
        {
            r.savepoint = Some(path.clone());
            job::suspend(&mut r);
            state.put(r);
            return format!("{address}: its interrupted stop completed with the savepoint {path}; recorded");
        }
    }
    format!("{address}: its interrupted stop left no savepoint Flink still knows")
}
