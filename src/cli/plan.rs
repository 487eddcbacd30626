//! `flinkform plan`: desired × state × live → the changes apply would make, and why; rendered
//! for humans, as JSON (`--json`), as a pull-request comment (`--markdown`), or saved for
//! `apply FILE` (`--out`).

use super::{CliResult, VarArgs};
use crate::pipeline::{self, PlanOptions};
use crate::plan::Focus;
use clap::Args;
use std::path::{Path, PathBuf};
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
    /// Print the plan as JSON
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the plan as Markdown for a pull-request comment
    #[arg(long)]
    pub markdown: bool,
    /// Save the plan to FILE, for `flinkform apply FILE`
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Ask Docker and Flink what is live (default); `--refresh=false` plans from the state alone
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
    /// Only show how the state would be updated from what is live (see `flinkform refresh`)
    #[arg(long)]
    pub refresh_only: bool,
    #[command(flatten)]
    pub focus: FocusArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Accepted so Terraform's command lines work: a plan takes no lock (it changes nothing)
    #[arg(long, value_name = "DURATION", value_parser = crate::config::parse_duration)]
    pub lock_timeout: Option<std::time::Duration>,
}

/// `--policy DIR`, on plan, apply and destroy.
#[derive(Debug, Clone, Args, Default)]
pub struct PolicyArgs {
    /// Check the plan against the Rego policies in DIR (conftest's deny/violation/warn rules,
    /// package main); repeatable, beside the configuration's `policy_dir`
    #[arg(long = "policy", value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
}

/// `--target` and `--replace`, on plan and apply.
#[derive(Debug, Clone, Args, Default)]
pub struct FocusArgs {
    /// Act only on ADDRESS (and what it depends on); repeatable
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Replace ADDRESS even if nothing changed; repeatable
    #[arg(long = "replace", value_name = "ADDRESS")]
    pub replace: Vec<String>,
}

impl FocusArgs {
    pub fn focus(&self) -> Focus {
        Focus { targets: self.targets.clone(), replace: self.replace.clone() }
    }
}

pub async fn run(dir: &Path, args: &PlanArgs) -> CliResult {
    if args.refresh_only {
        let config = pipeline::load(dir, &args.vars.inputs())?;
        let notes = pipeline::refresh(&config, false).await?;
        super::state::print_refresh(&notes, false);
        return Ok(ExitCode::SUCCESS);
    }
    let options = PlanOptions {
        destroy: args.destroy,
        refresh: args.refresh,
        focus: args.focus.focus(),
        settle_pending: false,
        policies: args.policy.dirs.clone(),
    };
    let (config, planned) = pipeline::plan(dir, &args.vars.inputs(), &options).await?;
    super::print_warnings(&crate::config::warnings::warnings(&config));
    super::print_plan(&planned.plan, planned.policy.as_ref(), args.json, args.markdown);
    if let Some(given) = &args.out {
        pipeline::save_plan(dir, given, &config, &args.vars.inputs(), &options, &planned)?;
        if !args.json && !args.markdown {
            super::print(&format!(
                "\nSaved the plan to {0}. To perform exactly these actions, run: flinkform apply {0}\n",
                given.display()
            ));
        }
    }
    if let Some(denied) = planned.policy.as_ref().filter(|p| p.denied()) {
        // As Terraform with a failed policy check: the plan is shown, and the run fails.
        super::print_error(&pipeline::policy_denied(denied));
        std::mem::forget((config, planned));
        return Ok(ExitCode::FAILURE);
    }
    let code = if args.detailed_exitcode && planned.plan.has_changes() { 2 } else { 0 };
    // The process ends now: freeing the plan, state and snapshot one allocation at a time would
    // cost a no-op plan of a thousand containers more than printing it.
    std::mem::forget((config, planned));
    Ok(ExitCode::from(code))
}
