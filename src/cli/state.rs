//! State surgery and maintenance: `state list|show|rm|mv`, `force-unlock`, `refresh`, `graph`.

use super::CliResult;
use crate::model::Kind;
use crate::state::{State, StateLock, StateWriter};
use clap::Subcommand;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses in the state
    List,
    /// Show one resource as the state records it
    Show { address: String },
    /// Forget resources: flinkform stops managing them and leaves them running
    Rm { addresses: Vec<String> },
    /// Move a resource to another address (after renaming a block)
    Mv { from: String, to: String },
}

pub fn run(dir: &Path, cmd: &StateCommand) -> CliResult {
    let config = super::load_config(dir, &Default::default())?;
    let path = config.state_path();
    match cmd {
        StateCommand::List => {
            let state = super::load_state(&config)?;
            super::print(&state.resources.iter().map(|r| format!("{}\n", r.address)).collect::<String>());
        }
        StateCommand::Show { address } => {
            let state = super::load_state(&config)?;
            let r = state.resource(address).ok_or_else(|| missing(address, &state))?;
            super::print(&super::show::render_resource(r));
        }
        StateCommand::Rm { addresses } => {
            let _lock = lock(&path, "state rm")?;
            let mut state = super::load_state(&config)?;
            let mut writer = StateWriter::new(&path, &state);
            for a in addresses {
                let r = state.resource(a).cloned().ok_or_else(|| missing(a, &state))?;
                state.remove(a);
                if r.kind != Kind::Job {
                    state.forgotten.push(r.id.clone());
                }
                super::print(&format!(
                    "Removed {a} (the {} is left as it is and no longer managed)\n",
                    r.kind.as_str()
                ));
            }
            writer.save(&mut state).map_err(|e| miette::miette!("{e}"))?;
        }
        StateCommand::Mv { from, to } => {
            let _lock = lock(&path, "state mv")?;
            let mut state = super::load_state(&config)?;
            let mut writer = StateWriter::new(&path, &state);
            if state.resource(to).is_some() {
                return Err(miette::miette!(
                    "{to} is already in the state; remove it first with `flinkform state rm {to}`"
                ));
            }
            let mut r = state.resource(from).cloned().ok_or_else(|| missing(from, &state))?;
            state.remove(from);
            r.address = to.clone();
            state.put(r);
            writer.save(&mut state).map_err(|e| miette::miette!("{e}"))?;
            super::print(&format!("Moved {from} to {to}\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn lock(path: &Path, op: &str) -> Result<StateLock, miette::Report> {
    StateLock::acquire(path, op, Duration::from_secs(0)).map_err(|e| miette::miette!("{e}"))
}

fn missing(address: &str, state: &State) -> miette::Report {
    let have: Vec<&str> = state.resources.iter().map(|r| r.address.as_str()).collect();
    let hint = crate::config::diag::suggest(address, have.iter().copied())
        .map(|s| format!(" Did you mean {s}?"))
        .unwrap_or_else(|| " See `flinkform state list`.".into());
    miette::miette!("no resource {address} in the state.{hint}")
}

/// `force-unlock ID`: removes a lock left behind; a lock held by a live process cannot be broken.
pub fn force_unlock(dir: &Path, id: &str) -> CliResult {
    let config = super::load_config(dir, &Default::default())?;
    let state_path = config.state_path();
    let info_path = crate::state::lock_path(&state_path);
    let text = std::fs::read_to_string(&info_path).map_err(|_| miette::miette!("the state is not locked"))?;
    let info: crate::state::LockInfo =
        serde_json::from_str(&text).map_err(|_| miette::miette!("{} is not a lock file", info_path.display()))?;
    if info.id != id {
        return Err(miette::miette!("the lock's ID is {}, not {id}; nothing was changed", info.id));
    }
    match StateLock::acquire(&state_path, "force-unlock", Duration::ZERO) {
        Ok(lock) => drop(lock),
        Err(_) => {
            return Err(miette::miette!(
                "the lock {id} is held by a running process (pid {}, {}); stop it instead of unlocking",
                info.pid,
                info.operation
            ));
        }
    }
    super::print(&format!("flinkform state has been successfully unlocked ({id}).\n"));
    Ok(ExitCode::SUCCESS)
}

/// `refresh` (and `plan --refresh-only`): update the state from what is live, changing nothing
/// on Docker.
pub async fn refresh(config: &crate::config::Config, write: bool) -> CliResult {
    let path = config.state_path();
    let _lock = if write { Some(lock(&path, "refresh")?) } else { None };
    let mut state = super::load_state(config)?;
    let mut writer = StateWriter::new(&path, &state);
    let observing = super::start_observing(&config.settings);
    let desired = super::expand(config, &state);
    let (_, live) = super::finish_observing(observing, config, &desired).await?;
    let mut notes = Vec::new();
    for r in state.resources.clone() {
        if r.kind == Kind::Job {
            continue;
        }
        // A name now held by something without the project's labels is not the recorded object.
        match live.get(r.kind, &r.name).filter(|l| l.managed_by(&config.settings.project)) {
            None => {
                notes.push(format!("  - {}: removed outside flinkform; dropped from the state", r.address));
                state.remove(&r.address);
            }
            Some(l) if l.id != r.id || l.ports != r.ports => {
                notes.push(format!("  ~ {}: id or published ports changed; recorded", r.address));
                let mut r = r.clone();
                r.id = l.id.clone();
                r.ports = l.ports.clone();
                state.put(r);
            }
            Some(_) => {}
        }
    }
    if notes.is_empty() {
        super::print("No changes. The state matches what is live.\n");
        return Ok(ExitCode::SUCCESS);
    }
    super::print(&format!("The state would be updated from what is live:\n{}\n", notes.join("\n")));
    if write {
        writer.save(&mut state).map_err(|e| miette::miette!("{e}"))?;
        super::print("State refreshed; no container was changed.\n");
    }
    Ok(ExitCode::SUCCESS)
}

/// The dependency graph as DOT (`flinkform graph | dot -Tsvg`).
pub fn graph(dir: &Path) -> CliResult {
    let config = super::load_config(dir, &Default::default())?;
    let desired = crate::model::expand(&config, "");
    let mut out = String::from("digraph flinkform {\n  rankdir = \"LR\";\n");
    for d in desired.values() {
        out.push_str(&format!(
            "  \"{}\" [label=\"{}\", shape=box];\n",
            d.address.replace('"', "\\\""),
            d.address.replace('"', "\\\"")
        ));
    }
    for d in desired.values() {
        for dep in &d.dependencies {
            out.push_str(&format!("  \"{}\" -> \"{}\";\n", d.address.replace('"', "\\\""), dep.replace('"', "\\\"")));
        }
    }
    out.push_str("}\n");
    super::print(&out);
    Ok(ExitCode::SUCCESS)
}
