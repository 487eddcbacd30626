//! `job` blocks: a Flink job on one of the configuration's clusters. The jar's sha256 is part of
//! the desired spec, so a rebuilt jar is an upgrade; parallelism must fit the cluster's slots.

use super::diag::{ConfigError, Sources};
use super::fields::{Evaluated, Fields};
use super::types::*;
use std::collections::BTreeMap;
use std::path::Path;

#[allow(clippy::too_many_arguments)]
pub fn convert(
    address: &str,
    name: &str,
    ev: &Evaluated,
    meta: &Meta,
    clusters: &BTreeMap<String, Cluster>,
    dir: &Path,
    sources: &Sources,
    errors: &mut Vec<ConfigError>,
) -> Option<Job> {
    ev.reject_sensitive(&["flink_config", "args"], sources, errors);
    let mut f = Fields::new(Some(ev), sources, errors);
    let by_name = |n: &str| clusters.values().find(|c| c.name == n || c.address == n);
    let cluster = match f.string("cluster") {
        Some(c) if by_name(&c).is_some() => by_name(&c).map(|c| c.address.clone()).unwrap_or_default(),
        Some(c) => {
            let loc = f.loc("cluster");
            let help = super::diag::suggest(&c, clusters.values().map(|c| c.name.as_str()))
                .map(|s| format!("did you mean `cluster.{s}.name`?"))
                .unwrap_or_else(|| "write `cluster = cluster.<name>.name`".into());
            f.fail(&loc, format!("job \"{name}\" names cluster \"{c}\", which is not declared"), help);
            return None;
        }
        None => {
            f.fail(&ev.loc, format!("job \"{name}\" has no `cluster`"), "add `cluster = cluster.<name>.name`".into());
            return None;
        }
    };
    let Some(jar_text) = f.string("jar") else {
        f.fail(&ev.loc, format!("job \"{name}\" has no `jar`"), "add `jar = \"path/to/job.jar\"`".into());
        return None;
    };
    let jar = dir.join(&jar_text);
    let jar_sha256 = match super::files::sha256(&jar) {
        Ok(hash) => hash,
        Err(e) => {
            let loc = f.loc("jar");
            f.fail(
                &loc,
                format!("cannot read the job jar {}: {e}", jar.display()),
                "build the jar first, or fix the path (relative to the configuration directory)".into(),
            );
            return None;
        }
    };
    let c = &clusters[&cluster];
    let parallelism = super::application::parallelism(&mut f, c, &format!("job \"{name}\""));
    let upgrade_mode = super::application::upgrade_mode(&mut f);
    let state = super::application::job_state(&mut f);
    let flink_config = f.flink_settings("flink_config").unwrap_or_default();
    Some(Job {
        address: address.to_string(),
        sensitive_config: ev.sensitive_settings("flink_config", flink_config.keys().cloned()),
        sensitive_args: ev.is_sensitive("args", None),
        meta: meta.clone(),
        name: name.to_string(),
        loc: ev.loc.clone(),
        cluster,
        jar,
        jar_sha256,
        entry_class: f.string("entry_class"),
        args: f.string_list("args").unwrap_or_default(),
        parallelism,
        flink_config,
        upgrade_mode,
        state,
        allow_non_restored_state: f.boolean("allow_non_restored_state").unwrap_or(false),
        savepoint_dir: f.string("savepoint_dir").unwrap_or_else(|| "file:///flink-data/savepoints".into()),
        application: false,
    })
}
