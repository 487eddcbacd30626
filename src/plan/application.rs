//! Application clusters in the plan. Their JobManager runs the job, so the job and the
//! JobManager restart together: a job stopped to be upgraded or restored needs its JobManager
//! created again (with the savepoint to start from), and a JobManager that stopped is created
//! again rather than started as it was (its command would restart the job from an old start).

use super::{Action, Change};
use crate::model::{Desired, Role};
use std::collections::{BTreeMap, BTreeSet};

/// The clusters that run an application.
pub(super) fn application_clusters(desired: &Desired) -> BTreeSet<&str> {
    desired.values().filter(|d| d.job.as_ref().is_some_and(|j| j.application)).map(|d| d.cluster.as_str()).collect()
}

fn jobmanagers_of<'a>(
    changes: &'a mut BTreeMap<String, Change>,
    clusters: &'a BTreeSet<&str>,
) -> impl Iterator<Item = &'a mut Change> {
    changes.values_mut().filter(move |c| {
        c.desired.as_ref().is_some_and(|d| d.role == Role::JobManager && clusters.contains(d.cluster.as_str()))
    })
}

/// Before the jobs are decided: a stopped application JobManager is replaced, not started.
pub fn replace_stopped_jobmanagers(changes: &mut BTreeMap<String, Change>, desired: &Desired) {
    let clusters = application_clusters(desired);
    for c in jobmanagers_of(changes, &clusters).filter(|c| c.action == Action::Start) {
        c.action = Action::Replace;
        c.reasons.push(
            "an application's JobManager is created again, to run the application from its last savepoint".into(),
        );
    }
}

/// After the jobs are decided: an application stopped or (re)started by the plan takes its
/// JobManagers with it.
pub fn restart_jobmanagers_with_the_application(changes: &mut BTreeMap<String, Change>, desired: &Desired) {
    let restarting: BTreeSet<&str> = changes
        .values()
        .filter(|c| c.desired.as_ref().is_some_and(|d| d.job.as_ref().is_some_and(|j| j.application)))
        .filter(|c| c.job_ops.is_some_and(|o| o.stop || o.submit))
        .filter_map(|c| c.desired.as_ref().map(|d| d.cluster.as_str()))
        .collect();
    // The same clusters, borrowed from `desired` so `changes` can be changed below.
    let restarting: BTreeSet<&str> =
        application_clusters(desired).into_iter().filter(|c| restarting.contains(c)).collect();
    for c in jobmanagers_of(changes, &restarting)
        .filter(|c| matches!(c.action, Action::NoOp | Action::Start | Action::Update))
    {
        c.action = Action::Replace;
        c.reasons.push("the application restarts with its JobManager (standalone-job runs it)".into());
    }
}
