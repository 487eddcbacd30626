//! `flinkform import ADDRESS CONTAINER`: adopt an existing container into the state. It must
//! fit the address's role; the next plan shows how it differs from the configuration.

use super::CliResult;
use crate::model::{Kind, Role, Spec};
use crate::state::{Resource, StateLock, StateWriter};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

pub async fn run(dir: &Path, address: &str, container: &str) -> CliResult {
    let config = super::load_config(dir, &Default::default())?;
    let desired = crate::model::expand(&config, "");
    let d = desired.get(address).ok_or_else(|| {
        let hint = crate::config::diag::suggest(address, desired.keys().map(String::as_str))
            .map(|s| format!(" Did you mean {s}?"))
            .unwrap_or_default();
        miette::miette!("{address} is not in the configuration; import needs the block that declares it.{hint}")
    })?;
    if d.kind != Kind::Container {
        return Err(miette::miette!("{address} is a {}; only containers can be imported", d.kind.as_str()));
    }
    let path = config.state_path();
    let _lock = StateLock::acquire(&path, "import", Duration::ZERO).map_err(|e| miette::miette!("{e}"))?;
    let mut state = super::load_state(&config)?;
    if let Some(r) = state.resource(address) {
        return Err(miette::miette!(
            "{address} is already managed (id {}); `flinkform state rm {address}` first",
            r.id
        ));
    }
    let engine = super::connect(&config).await?;
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
    let mut attributes = BTreeMap::new();
    attributes.insert("name".to_string(), name.clone());
    attributes.insert("image".to_string(), cfg.image.clone().unwrap_or_default());
    if !cmd.is_empty() {
        attributes.insert("command".to_string(), cmd.join(" "));
    }
    let host = info.host_config.clone().unwrap_or_default();
    let memory = host.memory.unwrap_or(0);
    attributes.insert(
        "memory".to_string(),
        if memory > 0 { format!("{}m", memory / 1024 / 1024) } else { "(unlimited)".into() },
    );
    attributes.insert("network".to_string(), host.network_mode.clone().unwrap_or_default());
    if let Spec::Container(_) = &d.spec {
        let props = env.iter().find_map(|e| e.strip_prefix("FLINK_PROPERTIES=")).unwrap_or("");
        if d.attributes.contains_key("flink_config") {
            attributes.insert("flink_config".to_string(), props.to_string());
        }
    }
    let mut writer = StateWriter::new(&path, &state);
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
    });
    state.forgotten.retain(|id| Some(id) != info.id.as_ref());
    writer.save(&mut state).map_err(|e| miette::miette!("{e}"))?;
    super::print(&format!(
        "Import successful: {address} is {container}.\nRun `flinkform plan` to see how it differs from the configuration.\n"
    ));
    Ok(ExitCode::SUCCESS)
}
