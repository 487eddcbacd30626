//! State surgery and what else reads the configuration without planning: `state rm|mv`,
//! `import`, `force-unlock`, `graph`.

use crate::config::Config;
use crate::model::sensitive::Masker;
use crate::model::{Kind, Role, Spec};
use crate::state::{Location, Resource, State, StateLock, StateWriter};
use miette::Report;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

fn lock(location: &Location, operation: &str) -> Result<StateLock, Report> {
    StateLock::acquire(location, operation, Duration::ZERO).map_err(Report::new)
}

/// Where the state is, from the `flinkform` block alone: commands that read or edit the state
/// need no value for the configuration's variables.
pub fn state_location(dir: &Path) -> Result<Location, Report> {
    let settings = crate::config::settings(dir, &Default::default()).map_err(Report::new)?;
    Ok(super::location(dir, &settings))
}

/// The state at `location`.
pub fn read_state(location: &Location) -> Result<State, Report> {
    location.read().map_err(Report::new)
}

fn missing(address: &str, state: &State) -> Report {
    let have: Vec<&str> = state.resources.iter().map(|r| r.address.as_str()).collect();
    let hint = crate::config::diag::suggest(address, have.iter().copied())
        .map(|s| format!(" Did you mean {s}?"))
        .unwrap_or_else(|| " See `flinkform state list`.".into());
    miette::miette!("no resource {address} in the state.{hint}")
}

/// One resource as the state records it.
pub fn state_resource<'a>(state: &'a State, address: &str) -> Result<&'a Resource, Report> {
    state.resource(address).ok_or_else(|| missing(address, state))
}

/// `state rm`: forgets resources (left as they are on the engine); returns each one's kind.
pub fn state_rm(location: &Location, addresses: &[String]) -> Result<Vec<(String, Kind)>, Report> {
    let _lock = lock(location, "state rm")?;
    let mut state = read_state(location)?;
    let mut writer = StateWriter::new(location, &state);
    let mut removed = Vec::new();
    for a in addresses {
        let r = state.resource(a).cloned().ok_or_else(|| missing(a, &state))?;
        state.remove(a);
        if r.kind != Kind::Job {
            state.forgotten.push(r.id.clone());
        }
        removed.push((a.clone(), r.kind));
    }
    writer.save(&mut state).map_err(Report::new)?;
    Ok(removed)
}

/// `state mv`: records a resource under another address (after renaming a block).
pub fn state_mv(location: &Location, from: &str, to: &str) -> Result<(), Report> {
    let _lock = lock(location, "state mv")?;
    let mut state = read_state(location)?;
    let mut writer = StateWriter::new(location, &state);
    if state.resource(to).is_some() {
        return Err(miette::miette!("{to} is already in the state; remove it first with `flinkform state rm {to}`"));
    }
    let mut r = state.resource(from).cloned().ok_or_else(|| missing(from, &state))?;
    state.remove(from);
    r.address = to.to_string();
    state.put(r);
    writer.save(&mut state).map_err(Report::new)
}

/// `force-unlock ID`: removes a lock left behind; a lock held by a live process cannot be broken.
pub fn force_unlock(location: &Location, id: &str) -> Result<(), Report> {
    let state_path = match location {
        Location::Local(path) => path,
        Location::Postgres(pg) => {
            return match pg.force_unlock(id).map_err(Report::new)? {
                true => Ok(()),
                false => Err(miette::miette!("the state is not locked by {id}; nothing was changed")),
            };
        }
    };
    let info_path = crate::state::lock_path(state_path);
    let text = std::fs::read_to_string(&info_path).map_err(|_| miette::miette!("the state is not locked"))?;
    let info: crate::state::LockInfo =
        serde_json::from_str(&text).map_err(|_| miette::miette!("{} is not a lock file", info_path.display()))?;
    if info.id != id {
        return Err(miette::miette!("the lock's ID is {}, not {id}; nothing was changed", info.id));
    }
    match crate::state::FileLock::acquire(state_path, "force-unlock", Duration::ZERO) {
        Ok(lock) => drop(lock),
        Err(_) => {
            return Err(miette::miette!(
                "the lock {id} is held by a running process (pid {}, {}); stop it instead of unlocking",
                info.pid,
                info.operation
            ));
        }
    }
    Ok(())
}

/// The dependency graph as DOT (`flinkform graph | dot -Tsvg`).
pub fn dot(config: &Config) -> String {
    let desired = crate::model::expand(config, &crate::model::sensitive::Masker::salted(""));
    let quote = |s: &str| s.replace('"', "\\\"");
    let mut out = String::from("digraph flinkform {\n  rankdir = \"LR\";\n");
    for d in desired.values() {
        out.push_str(&format!("  \"{0}\" [label=\"{0}\", shape=box];\n", quote(&d.address)));
    }
    for d in desired.values() {
        for dep in &d.dependencies {
            out.push_str(&format!("  \"{}\" -> \"{}\";\n", quote(&d.address), quote(dep)));
        }
    }
    out.push_str("}\n");
    out
}

/// `import ADDRESS CONTAINER`: adopts an existing container into the state. It must fit the
/// address's role; the next plan shows how it differs from the configuration.
pub async fn import(config: &Config, address: &str, container: &str) -> Result<(), Report> {
    let _lock = lock(&super::location_of(config), "import")?;
    let mut state = super::load_state(config)?;
    let masker = super::masker(&mut state)?;
    let desired = crate::model::expand(config, &masker);
    let d = desired.get(address).ok_or_else(|| {
        let hint = crate::config::diag::suggest(address, desired.keys().map(String::as_str))
            .map(|s| format!(" Did you mean {s}?"))
            .unwrap_or_default();
        miette::miette!("{address} is not in the configuration; import needs the block that declares it.{hint}")
    })?;
    if d.kind != Kind::Container {
        return Err(miette::miette!("{address} is a {}; only containers can be imported", d.kind.as_str()));
    }
    if let Some(r) = state.resource(address) {
        return Err(miette::miette!(
            "{address} is already managed (id {}); `flinkform state rm {address}` first",
            r.id
        ));
    }
    let engine = crate::docker::connect(config.settings.docker_host.as_deref()).await.map_err(Report::new)?;
    let info = engine
        .docker
        .inspect_container(container, None)
        .await
        .map_err(|e| miette::miette!("cannot find container {container}: {e}"))?;
    let cfg = info.config.clone().unwrap_or_default();
    let cmd = cfg.cmd.clone().unwrap_or_default();
    let env: Vec<String> = cfg.env.clone().unwrap_or_default();
    let fits = match d.role {
        Role::JobManager => cmd.first().is_some_and(|c| c == "jobmanager"),
        Role::TaskManager => cmd.first().is_some_and(|c| c == "taskmanager"),
        Role::Zookeeper => {
            env.iter().any(|e| e.starts_with("ZOO_")) || cfg.image.as_deref().unwrap_or("").contains("zookeeper")
        }
        _ => true,
    };
    if !fits {
        return Err(miette::miette!(
            "container {container} does not look like a {:?} (command {cmd:?}); it cannot be imported as {address}",
            d.role
        ));
    }
    let name = info.name.clone().unwrap_or_default().trim_start_matches('/').to_string();
    if name != d.name {
        return Err(miette::miette!(
            "container {container} is named \"{name}\", but {address} is \"{}\"; rename it (`docker rename {name} {}`) and import again",
            d.name,
            d.name
        ));
    }
    // What the container is, in the plan's attribute vocabulary: the next plan diffs it.
    let mut spec = inspected_spec(&info);
    // The image's own environment (PATH, JAVA_HOME…) is not the configuration's to diff.
    if let Spec::Container(want) = &d.spec {
        spec.env.retain(|k, _| want.env.contains_key(k));
    }
    // What the configuration masks is masked here too: the state never holds it in plaintext.
    mask_like(&d.attributes, &mut spec, &masker);
    let mut attributes = crate::model::attributes::of_container(&name, &spec);
    if let (Spec::Container(_), Some(props)) = (&d.spec, spec.env.get("FLINK_PROPERTIES"))
        && d.attributes.contains_key("flink_config")
    {
        attributes.insert("flink_config".to_string(), props.clone());
    }
    let mut writer = StateWriter::new(&super::location_of(config), &state);
    state.put(Resource {
        address: address.to_string(),
        kind: Kind::Container,
        name,
        id: info.id.clone().unwrap_or_default(),
        attributes,
        config_hash: "imported".into(),
        dependencies: d.dependencies.clone(),
        ports: BTreeMap::new(),
        savepoint: None,
        job: None,
        // Recorded, with its published ports, by the next apply.
        rest_url: None,
        tainted: false,
    });
    state.forgotten.retain(|id| Some(id) != info.id.as_ref());
    writer.save(&mut state).map_err(Report::new)
}

/// Masks in an imported spec what the desired instance masks: environment values, the command,
/// and Flink settings (those the configuration masks and those Flink itself hides).
fn mask_like(desired: &BTreeMap<String, String>, spec: &mut crate::model::ContainerSpec, masker: &Masker) {
    let masked = |attribute: &str| desired.get(attribute).is_some_and(|v| crate::model::sensitive::display(v) != *v);
    for (k, v) in spec.env.iter_mut().filter(|(k, _)| *k != "FLINK_PROPERTIES") {
        if masked(&format!("env.{k}")) {
            *v = masker.mask(v);
        }
    }
    if masked("command") {
        spec.command = spec.command.iter().map(|a| masker.mask(a)).collect();
    }
    let wanted = desired.get("flink_config").map(String::as_str).unwrap_or("");
    let secret_keys: Vec<&str> = wanted
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(_, v)| crate::model::sensitive::display(v) != *v)
        .map(|(k, _)| k)
        .collect();
    if let Some(props) = spec.env.get_mut("FLINK_PROPERTIES") {
        *props = props
            .lines()
            .map(|l| match l.split_once(": ") {
                Some((k, v)) if secret_keys.contains(&k) || crate::config::fields::flink_hides(k) => {
                    format!("{k}: {}\n", masker.mask(v))
                }
                _ => format!("{l}\n"),
            })
            .collect();
    }
}

/// The part of a container's spec that its inspection tells, as flinkform would have asked for it.
fn inspected_spec(info: &bollard::models::ContainerInspectResponse) -> crate::model::ContainerSpec {
    let cfg = info.config.clone().unwrap_or_default();
    let host = info.host_config.clone().unwrap_or_default();
    let hardening = inspected_hardening(&host);
    let env = cfg
        .env
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    crate::model::ContainerSpec {
        image: cfg.image.unwrap_or_default(),
        command: cfg.cmd.unwrap_or_default(),
        hostname: cfg.hostname.unwrap_or_default(),
        env,
        ports: Vec::new(),
        network: host.network_mode.unwrap_or_default(),
        mounts: Vec::new(),
        memory_mib: host.memory.map(|m| (m.max(0) as u64) / 1024 / 1024).unwrap_or(0),
        restart: host.restart_policy.and_then(|r| r.name).map(|n| n.to_string()).unwrap_or_default(),
        entrypoint: None,
        extra_networks: Vec::new(),
        user: None,
        healthcheck: None,
        labels: Default::default(),
        hardening,
    }
}

/// A container's lock-down, as its inspection tells (none when nothing is set).
fn inspected_hardening(host: &bollard::models::HostConfig) -> Option<crate::model::Hardening> {
    let no_new_privileges =
        host.security_opt.iter().flatten().any(|o| o == "no-new-privileges" || o == "no-new-privileges:true");
    let (cap_drop, cap_add) = (host.cap_drop.clone().unwrap_or_default(), host.cap_add.clone().unwrap_or_default());
    let pids_limit = host.pids_limit.filter(|&n| n > 0);
    (no_new_privileges || !cap_drop.is_empty() || !cap_add.is_empty() || pids_limit.is_some())
        .then(|| crate::model::Hardening { no_new_privileges, cap_drop, cap_add, pids_limit: pids_limit.unwrap_or(0) })
}
