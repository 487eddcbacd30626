//! State surgery and maintenance: `state list|show|rm|mv|pull|push|history|rollback`, `init`,
//! `force-unlock`, `refresh`, `graph`.

use super::{CliResult, VarArgs};
use crate::pipeline::{self, backend};
use clap::Subcommand;
use miette::IntoDiagnostic;
use std::path::{Path, PathBuf};
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
    /// Print the state as stored (JSON), e.g. to keep a copy
    Pull,
    /// Replace the stored state with FILE (`-` for standard input): refused when its lineage
    /// differs or its serial is older, unless -force
    Push {
        file: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// List the versions the PostgreSQL backend keeps
    History {
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// Write version SERIAL again as the newest (the versions after it stay in the history)
    Rollback { serial: u64 },
}

/// Reads and edits the state alone (Terraform's `state` commands): the configuration's
/// variables need no value.
pub fn run(dir: &Path, cmd: &StateCommand) -> CliResult {
    let path = pipeline::state_location(dir)?;
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
        StateCommand::Pull => super::print(&String::from_utf8_lossy(&backend::pull(&path)?)),
        StateCommand::Push { file, force } => {
            let bytes = if file.as_os_str() == "-" {
                let mut b = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut b).into_diagnostic()?;
                b
            } else {
                std::fs::read(file).map_err(|e| miette::miette!("cannot read {}: {e}", file.display()))?
            };
            let serial = backend::push(&path, &bytes, *force)?;
            super::print(&format!("Pushed: the state is now serial {serial}\n"));
        }
        StateCommand::History { json } => {
            let versions = backend::history(&path)?;
            if *json {
                super::print(&format!("{}\n", serde_json::to_string_pretty(&versions).into_diagnostic()?));
            } else {
                let lines: String = versions
                    .iter()
                    .map(|v| {
                        format!(
                            "{:>6}  {}  {}  {} resources  lineage {}\n",
                            v.serial, v.written_at, v.written_by, v.resources, v.lineage
                        )
                    })
                    .collect();
                super::print(&lines);
            }
        }
        StateCommand::Rollback { serial } => {
            let new = backend::rollback(&path, *serial)?;
            super::print(&format!("Rolled back: version {serial} is now serial {new}\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `init`: moves a local state into the configured backend.
pub fn init(dir: &Path) -> CliResult {
    super::print(&format!("{}\n", backend::init(dir)?));
    Ok(ExitCode::SUCCESS)
}

/// `force-unlock ID`: removes a lock left behind; a lock held by a live process cannot be broken.
pub fn force_unlock(dir: &Path, id: &str) -> CliResult {
    pipeline::force_unlock(&pipeline::state_location(dir)?, id)?;
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
