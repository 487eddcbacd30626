//! Application clusters at apply time. Their JobManager runs the job (`standalone-job`), so what
//! a session cluster's job gets at submission — the job id, the savepoint to start from — an
//! application's JobManager gets when its container is created. Decided once per run and
//! cluster ([`Launch`]), so every JobManager of an HA cluster runs the same job.

use super::{ApplyError, Shared};
use crate::config::UpgradeMode;
use crate::model::{ContainerSpec, Instance, Role};
use crate::plan::Plan;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// How one start of an application runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub job_id: String,
    /// The savepoint (or retained checkpoint) it starts from.
    pub restore: Option<String>,
    pub allow_non_restored_state: bool,
}

/// The application clusters of a plan, and the launches decided in this run.
pub struct Applications {
    /// Cluster address → its application's address, upgrade mode and `allow_non_restored_state`.
    apps: BTreeMap<String, (String, UpgradeMode, bool)>,
    launches: Mutex<BTreeMap<String, Launch>>,
    /// Distinguishes this run's job ids from every other run's.
    run: String,
}

impl Applications {
    pub fn of(plan: &Plan) -> Applications {
        let apps = plan
            .changes
            .iter()
            .filter_map(|c| {
                let d = c.desired.as_ref()?;
                let j = d.job.as_ref().filter(|j| j.application)?;
                Some((d.cluster.clone(), (d.address.clone(), j.upgrade_mode, j.allow_non_restored_state)))
            })
            .collect();
        Applications { apps, launches: Mutex::new(BTreeMap::new()), run: uuid::Uuid::new_v4().simple().to_string() }
    }
}

/// The launch of `cluster`'s application in this run. A running application (recorded, not
/// stopped by flinkform) keeps its job id — a JobManager started beside it, or after a crash,
/// joins that job, which HA recovers; a stopped one starts as a new job (Flink remembers a
/// finished job id as done) from the savepoint or checkpoint it was stopped with.
pub fn launch(shared: &Shared, cluster: &str) -> Result<Option<Launch>, ApplyError> {
    let apps = &shared.applications;
    let Some((address, mode, allow)) = apps.apps.get(cluster) else { return Ok(None) };
    let mut launches = apps.launches.lock().map_err(|_| ApplyError::Internal("launches lock poisoned".into()))?;
    if let Some(l) = launches.get(cluster) {
        return Ok(Some(l.clone()));
    }
    let recorded = {
        let guard = shared.state.lock().map_err(|_| ApplyError::Internal("state lock poisoned".into()))?;
        guard.0.resource(address).cloned()
    };
    let running = recorded.as_ref().filter(|r| !r.suspended() && !r.id.is_empty());
    let job_id = match running {
        Some(r) => r.id.clone(),
        None => {
            use sha2::{Digest, Sha256};
            hex::encode(Sha256::digest(format!("{address}\0{}", apps.run)))[..32].to_string()
        }
    };
    let restore = match mode {
        UpgradeMode::Stateless => None,
        UpgradeMode::Savepoint | UpgradeMode::LastState => recorded.and_then(|r| r.savepoint),
    };
    let launch = Launch { job_id, restore, allow_non_restored_state: *allow };
    launches.insert(cluster.to_string(), launch.clone());
    Ok(Some(launch))
}

/// The spec an application's JobManager is created with: the launch's options go before the
/// entry class and the program's arguments (`standalone-job --job-id … --fromSavepoint …`).
pub fn jobmanager_spec(shared: &Shared, d: &Instance, spec: &ContainerSpec) -> Result<ContainerSpec, ApplyError> {
    let mut spec = spec.clone();
    if d.role != Role::JobManager {
        return Ok(spec);
    }
    let Some(l) = launch(shared, &d.cluster)? else { return Ok(spec) };
    let mut options = vec!["--job-id".to_string(), l.job_id];
    if let Some(path) = l.restore {
        options.extend(["--fromSavepoint".to_string(), path]);
        if l.allow_non_restored_state {
            options.push("--allowNonRestoredState".into());
        }
    }
    spec.command.splice(1..1, options);
    Ok(spec)
}
