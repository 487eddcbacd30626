//! Flink's side of the observation: one `/jobs/overview` call per cluster that runs jobs,
//! through the first of its live JobManagers that answers.

use super::{Snapshot, Wanted};
use crate::flink::rest::FlinkRest;
use crate::model::{Kind, Role, Spec};
use std::collections::BTreeMap;

/// Each cluster's jobs (job id → Flink state); None for a cluster whose REST API did not answer.
/// A cluster whose TLS volume exists is asked over TLS with flinkform's certificate (the live
/// JobManagers are asked as they run, whatever the configuration now says).
pub async fn observe(
    clusters: &[&str],
    wanted: &Wanted<'_>,
    snapshot: &Snapshot,
) -> BTreeMap<String, Option<BTreeMap<String, String>>> {
    let mut clusters = clusters.to_vec();
    clusters.sort();
    clusters.dedup();
    let mut out = BTreeMap::new();
    for cluster in clusters {
        let identity = tls_identity(cluster, wanted, snapshot);
        let mut jobs = None;
        for jm in wanted.desired.values().filter(|d| d.cluster == cluster && d.role == Role::JobManager) {
            // A container, or on a swarm a service (the ports its task published).
            let (l, spec) = match &jm.spec {
                Spec::Container(spec) => (snapshot.get(Kind::Container, &jm.name), spec),
                Spec::Service(s) => (snapshot.get(Kind::Service, &jm.name), &s.task),
                _ => continue,
            };
            let Some(l) = l else { continue };
            let (Some(port), Some(p)) = (l.ports.get("8081/tcp"), spec.ports.first()) else { continue };
            let host = l.host.as_deref().unwrap_or(&p.host_ip);
            let url = crate::names::rest_url(host, *port, identity.is_some());
            tracing::debug!(cluster, url, "GET /jobs/overview");
            let rest = match &identity {
                None => FlinkRest::new(url),
                Some(id) => match FlinkRest::with_tls(url, id) {
                    Ok(rest) => rest,
                    Err(_) => continue,
                },
            };
            if let Ok(list) = rest.jobs().await {
                jobs = Some(list.into_iter().map(|j| (j.jid, j.state)).collect());
                break;
            }
        }
        out.insert(cluster.to_string(), jobs);
    }
    out
}

/// flinkform's identity for `cluster` when its TLS volume exists (labelled with a nonce).
fn tls_identity(cluster: &str, wanted: &Wanted<'_>, snapshot: &Snapshot) -> Option<crate::tls::ClientIdentity> {
    let address = format!("{cluster}.volume[\"tls\"]");
    let volume = snapshot.objects.values().find(|o| o.kind == Kind::Volume && o.address() == Some(address.as_str()))?;
    let nonce = volume.labels.get(crate::tls::NONCE_LABEL)?;
    crate::tls::client(&wanted.masker.tls_root(&volume.name), nonce, &volume.name).ok()
}
