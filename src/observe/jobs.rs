//! Flink's side of the observation: one `/jobs/overview` call per cluster that runs jobs,
//! through the first of its live JobManagers that answers.

use super::Snapshot;
use crate::flink::rest::FlinkRest;
use crate::model::{Desired, Kind, Role, Spec};
use std::collections::BTreeMap;

/// Each cluster's jobs (job id → Flink state); None for a cluster whose REST API did not answer.
pub async fn observe(
    clusters: &[&str],
    desired: &Desired,
    snapshot: &Snapshot,
) -> BTreeMap<String, Option<BTreeMap<String, String>>> {
    let mut clusters = clusters.to_vec();
    clusters.sort();
    clusters.dedup();
    let mut out = BTreeMap::new();
    for cluster in clusters {
        let mut jobs = None;
        for jm in desired.values().filter(|d| d.cluster == cluster && d.role == Role::JobManager) {
            let (Some(l), Spec::Container(spec)) = (snapshot.get(Kind::Container, &jm.name), &jm.spec) else {
                continue;
            };
            let (Some(port), Some(p)) = (l.ports.get("8081/tcp"), spec.ports.first()) else { continue };
            tracing::debug!(cluster, url = %crate::names::rest_url(&p.host_ip, *port), "GET /jobs/overview");
            if let Ok(list) = FlinkRest::new(crate::names::rest_url(&p.host_ip, *port)).jobs().await {
                jobs = Some(list.into_iter().map(|j| (j.jid, j.state)).collect());
                break;
            }
        }
        out.insert(cluster.to_string(), jobs);
    }
    out
}
