//! Flink knowledge: configuration rendering per version and role ([`config`]) and the REST
//! client used for readiness and jobs ([`rest`]), and Flink's side of the observation
//! ([`observe_jobs`]).

pub mod config;
pub mod rest;

use crate::docker::observe::Live;
use crate::model::{Desired, Kind, Role, Spec};
use std::collections::BTreeMap;

/// Flink's view of jobs, taken with the rest of the observation: one `/jobs/overview` call per
/// cluster that runs jobs, through the first of its live JobManagers that answers. A cluster
/// whose REST API does not answer maps to None.
pub async fn observe_jobs(
    clusters: &[&str],
    desired: &Desired,
    live: &Live,
) -> BTreeMap<String, Option<BTreeMap<String, String>>> {
    let mut clusters = clusters.to_vec();
    clusters.sort();
    clusters.dedup();
    let mut out = BTreeMap::new();
    for cluster in clusters {
        let mut jobs = None;
        for jm in desired.values().filter(|d| d.cluster == cluster && d.role == Role::JobManager) {
            let (Some(l), Spec::Container(spec)) = (live.get(Kind::Container, &jm.name), &jm.spec) else { continue };
            let (Some(port), Some(p)) = (l.ports.get("8081/tcp"), spec.ports.first()) else { continue };
            if let Ok(list) = rest::FlinkRest::new(crate::names::rest_url(&p.host_ip, *port)).jobs().await {
                jobs = Some(list.into_iter().map(|j| (j.jid, j.state)).collect());
                break;
            }
        }
        out.insert(cluster.to_string(), jobs);
    }
    out
}
