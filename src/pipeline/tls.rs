//! TLS clusters seen from the pipeline (docs/ARCHITECTURE.md, "Secrets"): the client bundle
//! apply leaves beside the configuration for `curl --cert`, and the REST client of `status`.
//! Both derive flinkform's identity from the key, the state's salt and the nonce the cluster's
//! TLS volume carries; nothing of it is stored but the bundle the user asked for.

use crate::apply::{identity_of, rest_outside_apply};
use crate::config::Config;
use crate::docker::Engine;
use crate::flink::rest::FlinkRest;
use crate::model::sensitive::Masker;
use crate::state::State;
use crate::tls;
use miette::Report;

/// Writes the client bundle of every TLS cluster of `config` (after an apply); a line per
/// cluster whose bundle could not be written.
pub async fn write_bundles(engine: &Engine, config: &Config, masker: &Masker) -> Vec<String> {
    let mut problems = Vec::new();
    for c in config.clusters.values().filter(|c| c.security.tls) {
        let volume = crate::names::volume(&config.settings.project, &c.name, "tls");
        let dir = config.dir.join(crate::names::tls_bundle_dir(&c.name));
        let written = match identity_of(engine, &masker.tls_root(&volume), &volume).await {
            Ok(id) => tls::write_bundle(&dir, &id).map_err(|e| format!("{}: {e}", dir.display())),
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            problems.push(format!("{}: the TLS client bundle was not written: {e}", c.address));
        }
    }
    problems
}

/// A REST client for the cluster at `cluster` (an address) as `state` records it: with
/// flinkform's certificate when its URL is `https://`.
pub async fn status_client(
    docker_host: Option<&str>,
    state: &State,
    cluster: &str,
    rest_url: String,
) -> Result<FlinkRest, Report> {
    if !rest_url.starts_with("https://") {
        return Ok(FlinkRest::new(rest_url));
    }
    let masker = super::masker(&mut state.clone())?;
    let engine = crate::docker::connect(docker_host).await.map_err(Report::new)?;
    rest_outside_apply(&engine, state, &masker, cluster, rest_url).await.map_err(Report::new)
}
