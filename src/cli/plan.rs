//! `flinkform plan`: desired × state × live → the changes apply would make, and why.

use super::{CliResult, VarArgs};
use crate::plan::{self, Plan};
use clap::Args;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub vars: VarArgs,
    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan the destruction of everything this configuration manages
    #[arg(long)]
    pub destroy: bool,
}

/// Loads everything and computes the plan (shared with apply and destroy).
pub(crate) async fn make_plan(
    config: &crate::config::Config,
    destroy: bool,
) -> Result<(crate::state::State, crate::docker::Engine, Plan), miette::Report> {
    let desired = super::expand(config);
    let state = super::load_state(config)?;
    let engine = super::connect(config).await?;
    let live = super::observe(&engine, config, &desired).await?;
    let plan = plan::compute(&desired, &state, &live, &config.settings.project, destroy)
        .map_err(|e| miette::miette!("{e}"))?;
    Ok((state, engine, plan))
}

pub async fn run(dir: &Path, args: &PlanArgs) -> CliResult {
    let config = super::load_config(dir, &args.vars)?;
    let (_state, _engine, plan) = make_plan(&config, args.destroy).await?;
    super::print(&plan::render::human(&plan));
    if args.detailed_exitcode && plan.has_changes() {
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
