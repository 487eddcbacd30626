//! `flinkform plan`: desired × state × live → the changes apply would make, and why; rendered
//! for humans, as JSON (`--json`), as a pull-request comment (`--markdown`), or saved for
//! `apply FILE` (`--out`).

use super::{CliResult, VarArgs};
use crate::plan::{self, Plan, saved::SavedPlan};
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

/// Everything a plan was computed from, and the plan.
pub(crate) struct Planned {
    pub state: crate::state::State,
    /// None when planned from the state alone.
    pub engine: Option<crate::docker::Engine>,
    pub live: crate::docker::observe::Live,
    pub plan: Plan,
}

/// Loads state, observes Docker and Flink, computes the plan (shared with apply and destroy).
pub(crate) async fn make_plan(
    config: &crate::config::Config,
    destroy: bool,
    refresh: bool,
    focus: &FocusArgs,
    started: Option<super::Observing>,
) -> Result<Planned, miette::Report> {
    // Docker is asked while the state is read and the configuration expanded.
    let observing = refresh.then(|| started.unwrap_or_else(|| super::start_observing(&config.settings)));
    let state = super::load_state(config)?;
    let desired = super::expand(config, &state);
    let (engine, live) = if let Some(observing) = observing {
        let (engine, live) = super::finish_observing(observing, config, &desired).await?;
        (Some(engine), live)
    } else {
        (None, crate::docker::observe::Live::from_state(&state, &config.settings.project))
    };
    let mut plan = plan::compute(&desired, &state, &live, &config.settings.project, destroy)
        .map_err(|e| miette::miette!("{e}"))?;
    plan.focus(&focus.targets, &focus.replace).map_err(|e| miette::miette!("{e}"))?;
    if !destroy {
        plan.outputs = output_changes(config, &state, &plan)?;
    }
    Ok(Planned { state, engine, live, plan })
}

/// Outputs as they will be after apply: a REST URL stays known only when its JobManager is not
/// (re)created with an ephemeral port.
fn output_changes(
    config: &crate::config::Config,
    state: &crate::state::State,
    plan: &Plan,
) -> Result<Vec<plan::OutputChange>, miette::Report> {
    let recreated = |cluster: &str| {
        let jm0 = format!("{cluster}.jobmanager[0]");
        plan.changes
            .iter()
            .any(|c| c.address == jm0 && matches!(c.action, plan::Action::Create | plan::Action::Replace))
    };
    let values = config
        .evaluate_outputs(&|c| if recreated(c) { None } else { super::rest_port_from(state, c) })
        .map_err(miette::Report::new)?;
    Ok(values
        .into_iter()
        .map(|(name, v)| {
            let after_unknown =
                serde_json::to_string(&v.value).unwrap_or_default().contains(crate::config::KNOWN_AFTER_APPLY);
            let after = output_value(&v.value, v.sensitive, &state.salt);
            let before = state.outputs.get(&name).map(|o| o.value.clone());
            plan::OutputChange { name, before, after, after_unknown, sensitive: v.sensitive }
        })
        .collect())
}

/// An output's value as state keeps it: a sensitive one only as its salted hash.
pub(crate) fn output_value(value: &hcl::Value, sensitive: bool, salt: &str) -> serde_json::Value {
    let json = serde_json::to_value(value).unwrap_or_default();
    if sensitive { crate::model::sensitive::mask(salt, &json.to_string()).into() } else { json }
}

pub fn print_plan(plan: &Plan, json: bool, markdown: bool) {
    if json {
        super::print(&format!("{}\n", serde_json::to_string_pretty(&plan::json::render(plan)).unwrap_or_default()));
    } else if markdown {
        super::print(&plan::markdown::render(plan));
    } else {
        super::print(&plan::render::human(plan));
    }
}

pub async fn run(dir: &Path, args: &PlanArgs) -> CliResult {
    if args.refresh_only {
        let config = super::load_config(dir, &args.vars)?;
        return super::state::refresh(&config, false).await;
    }
    // A plan takes no lock, so Docker can be asked as soon as the project is known, while the
    // rest of the configuration is evaluated. (apply asks only once it holds the state's lock.)
    let mut started = None;
    let config = super::load_config_then(dir, &args.vars, &mut |settings| {
        if args.refresh {
            started = Some(super::start_observing(settings));
        }
    })?;
    let planned = make_plan(&config, args.destroy, args.refresh, &args.focus, started).await?;
    print_plan(&planned.plan, args.json, args.markdown);
    // Like Terraform's -chdir, a relative plan file is in the configuration directory.
    if let Some(given) = &args.out {
        let out = dir.join(given);
        let saved = SavedPlan::new(
            &config,
            &args.vars,
            &args.focus,
            &planned.state,
            &planned.live,
            &planned.plan,
            args.destroy,
        );
        saved.write(&out).map_err(|e| miette::miette!("cannot write the saved plan {}: {e}", out.display()))?;
        if !args.json && !args.markdown {
            super::print(&format!(
                "\nSaved the plan to {0}. To perform exactly these actions, run: flinkform apply {0}\n",
                given.display()
            ));
        }
    }
    let code = if args.detailed_exitcode && planned.plan.has_changes() { 2 } else { 0 };
    // The process ends now: freeing the plan, state and snapshot one allocation at a time would
    // cost a no-op plan of a thousand containers more than printing it.
    std::mem::forget(planned);
    Ok(ExitCode::from(code))
}
