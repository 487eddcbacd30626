//! State surgery and maintenance: `state list|show|rm|mv`, `force-unlock`, `refresh`, `graph`.

use super::{CliResult, VarArgs};
use crate::pipeline;
use clap::Subcommand;
use std::path::Path;
use std::process::ExitCode;

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

/// Reads and edits the state alone (Terraform's `state` commands): the configuration's
/// variables need no value.
pub fn run(dir: &Path, cmd: &StateCommand) -> CliResult {
    let path = pipeline::state_path(dir)?;
    match cmd {
        StateCommand::List => {
            let state = pipeline::read_state(&path)?;
            super::print(&state.resources.iter().map(|r| format!("{}\n", r.address)).collect::<String>());
        }
        StateCommand::Show { address } => {
            let state = pipeline::read_state(&path)?;
            super::print(&super::show::render_resource(pipeline::state_resource(&state, address)?));
        }
        StateCommand::Rm { addresses } => {
            for (a, kind) in pipeline::state_rm(&path, addresses)? {
                super::print(&format!("Removed {a} (the {} is left as it is and no longer managed)\n", kind.as_str()));
            }
        }
        StateCommand::Mv { from, to } => {
            pipeline::state_mv(&path, from, to)?;
            super::print(&format!("Moved {from} to {to}\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `force-unlock ID`: removes a lock left behind; a lock held by a live process cannot be broken.
pub fn force_unlock(dir: &Path, id: &str) -> CliResult {
    pipeline::force_unlock(&pipeline::state_path(dir)?, id)?;
    super::print(&format!("flinkform state has been successfully unlocked ({id}).\n"));
    Ok(ExitCode::SUCCESS)
}

/// `refresh`: update the state from what is live, changing nothing on Docker.
pub async fn refresh(dir: &Path, vars: &VarArgs, write: bool) -> CliResult {
    let config = pipeline::load(dir, &vars.inputs())?;
    let notes = pipeline::refresh(&config, write).await?;
    print_refresh(&notes, write);
    Ok(ExitCode::SUCCESS)
}

/// What refresh found (and, with `written`, recorded).
pub fn print_refresh(notes: &[String], written: bool) {
    if notes.is_empty() {
        super::print("No changes. The state matches what is live.\n");
        return;
    }
    super::print(&format!("The state would be updated from what is live:\n{}\n", notes.join("\n")));
    if written {
        super::print("State refreshed; no container was changed.\n");
    }
}

/// The dependency graph as DOT (`flinkform graph | dot -Tsvg`).
pub fn graph(dir: &Path, vars: &VarArgs) -> CliResult {
    let config = pipeline::load(dir, &vars.inputs())?;
    super::print(&pipeline::dot(&config));
    Ok(ExitCode::SUCCESS)
}
