//! A cluster's `application` block: the cluster runs one Flink application (the official image's
//! `standalone-job`, Flink's application mode), its jar baked into the image's `usrlib/` or a
//! local jar mounted there. The application is also a job (`<cluster>.application`), so it is
//! upgraded, suspended and watched for drift as a session cluster's jobs are.

use super::diag::{ConfigError, Sources};
use super::fields::{Evaluated, Fields};
use super::types::*;
use std::path::Path;

/// Reads `application` of cluster `c`; `dir` is where a relative `jar` is found.
pub fn read(ev: &Evaluated, c: &Cluster, dir: &Path, sources: &Sources, errors: &mut Vec<ConfigError>) -> Application {
    let mut f = Fields::new(Some(ev), sources, errors);
    let jar = f.string("jar").and_then(|text| {
        let path = dir.join(&text);
        match super::files::sha256(&path) {
            Ok(hash) => Some(AppJar { path, sha256: hash }),
            Err(e) => {
                let loc = f.loc("jar");
                f.fail(
                    &loc,
                    format!("cannot read the application jar {}: {e}", path.display()),
                    "build the jar first, fix the path (relative to the configuration directory), or leave `jar` out when the image holds the application in /opt/flink/usrlib".into(),
                );
                None
            }
        }
    });
    let parallelism = parallelism(&mut f, c, "the application");
    Application {
        jar,
        entry_class: f.string("entry_class"),
        args: f.string_list("args").unwrap_or_default(),
        parallelism,
        upgrade_mode: upgrade_mode(&mut f),
        state: job_state(&mut f),
        allow_non_restored_state: f.boolean("allow_non_restored_state").unwrap_or(false),
        savepoint_dir: f.string("savepoint_dir").unwrap_or_else(|| "file:///flink-data/savepoints".into()),
        sensitive_args: ev.is_sensitive("args", None),
    }
}

/// `parallelism`, which must fit the cluster's task slots; `who` names the job in the message.
pub fn parallelism(f: &mut Fields, c: &Cluster, who: &str) -> u32 {
    let slots = c.taskmanager.replicas * c.taskmanager.slots;
    let parallelism = f.whole("parallelism", 1, 10_000).unwrap_or(1) as u32;
    if parallelism > slots {
        let loc = f.loc("parallelism");
        f.fail(
            &loc,
            format!("{who} wants parallelism {parallelism}, but cluster \"{}\" has only {slots} task slots", c.address),
            "lower `parallelism`, or add TaskManagers or slots to the cluster".into(),
        );
    }
    parallelism
}

/// `upgrade_mode`: how a running job is brought over to a new version (or a restarted cluster).
pub fn upgrade_mode(f: &mut Fields) -> UpgradeMode {
    match f.choice("upgrade_mode", &["savepoint", "last-state", "stateless"]).as_deref() {
        Some("stateless") => UpgradeMode::Stateless,
        Some("last-state") => UpgradeMode::LastState,
        _ => UpgradeMode::Savepoint,
    }
}

/// `state`: running, or suspended (stopped with a savepoint, resumed from it).
pub fn job_state(f: &mut Fields) -> JobState {
    match f.choice("state", &["running", "suspended"]).as_deref() {
        Some("suspended") => JobState::Suspended,
        _ => JobState::Running,
    }
}

/// The job an application cluster runs, for the plan: `<cluster>.application`.
pub fn job(c: &Cluster, app: &Application) -> Job {
    let (jar, jar_sha256) = match &app.jar {
        Some(j) => (j.path.clone(), j.sha256.clone()),
        None => (std::path::PathBuf::new(), String::new()),
    };
    Job {
        address: crate::address::part_of(&c.address, "application", None),
        name: c.name.clone(),
        loc: c.loc.clone(),
        cluster: c.address.clone(),
        jar,
        jar_sha256,
        entry_class: app.entry_class.clone(),
        args: app.args.clone(),
        parallelism: app.parallelism,
        flink_config: Default::default(),
        upgrade_mode: app.upgrade_mode,
        state: app.state,
        allow_non_restored_state: app.allow_non_restored_state,
        savepoint_dir: app.savepoint_dir.clone(),
        sensitive_config: Default::default(),
        sensitive_args: app.sensitive_args,
        application: true,
        meta: c.meta.clone(),
    }
}
