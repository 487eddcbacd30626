//! Planning: the state read, the configuration expanded and Docker observed (all three at
//! once), then the plan computed, narrowed (`--target`, `--replace`) and its outputs evaluated.

use super::{expand, load_state, rest_port_from};
use crate::config::{Config, VarInputs};
use crate::docker::Engine;
use crate::model::sensitive::Masker;
use crate::observe::docker::DockerObservation;
use crate::observe::{self, Snapshot, Wanted};
use crate::plan::saved::{self, SavedPlan};
use crate::plan::{self, Focus, Plan};
use crate::policy;
use crate::state::State;
use miette::Report;
use std::path::{Path, PathBuf};

/// What a plan is asked for (plain data: the command line fills it).
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Plan the destruction of everything the configuration manages.
    pub destroy: bool,
    /// Ask the engine and Flink what is live (else: plan from the state alone).
    pub refresh: bool,
    pub focus: Focus,
    /// Resolve the engine calls a stopped run left in flight before planning (apply and
    /// destroy, which hold the state's lock); a plan only shows what apply would do with them.
    pub settle_pending: bool,
    /// Policy directories given on the command line (`--policy`), beside the configuration's
    /// `policy_dir`.
    pub policies: Vec<std::path::PathBuf>,
}

/// Everything a plan was computed from, and the plan.
pub struct Planned {
    pub state: State,
    /// The state as read, when `moved` blocks renamed records in `state` (else `state` is it).
    pub read: Option<State>,
    /// None when planned from the state alone.
    pub engine: Option<Engine>,
    pub snapshot: Snapshot,
    pub plan: Plan,
    /// How the state's sensitive values are hashed (outputs are hashed the same way).
    pub masker: Masker,
    /// What was resolved of calls a stopped run left in flight, one line each.
    pub settled: Vec<String>,
    /// What the policies said of the plan, when there are any.
    pub policy: Option<crate::policy::Report>,
}

/// Starts observing the engine the settings name, for their project.
pub(crate) fn start_observing(settings: &crate::config::Settings) -> DockerObservation {
    observe::docker::start(settings.docker_host.as_deref(), &settings.project, settings.engine)
}

/// Completes an observation for the configuration's desired instances.
pub(crate) async fn finish_observing(
    observation: DockerObservation,
    config: &Config,
    desired: &crate::model::Desired,
    masker: &Masker,
    state: &State,
) -> Result<(Engine, Snapshot), Report> {
    let wanted = Wanted {
        project: &config.settings.project,
        desired,
        masker,
        job_clusters: config.jobs.values().map(|j| j.cluster.as_str()).collect(),
        recorded_containers: state.resources.iter().any(|r| r.kind == crate::model::Kind::Container),
    };
    observe::finish(observation, &wanted).await.map_err(Report::new)
}

/// `plan`: loads the configuration (asking Docker as soon as the project is known: a plan
/// takes no lock) and plans.
pub async fn plan(dir: &Path, vars: &VarInputs, options: &PlanOptions) -> Result<(Config, Planned), Report> {
    let mut started = None;
    let config = super::load_then(dir, vars, &mut |settings| {
        if options.refresh {
            started = Some(start_observing(settings));
        }
    })?;
    let planned = make_plan(&config, options, started).await?;
    Ok((config, planned))
}

/// Loads state, observes Docker and Flink, computes the plan (shared with apply and destroy).
pub async fn make_plan(
    config: &Config,
    options: &PlanOptions,
    started: Option<DockerObservation>,
) -> Result<Planned, Report> {
    // Docker is asked while the state is read and the configuration expanded.
    let mut observing = options.refresh.then(|| started.unwrap_or_else(|| start_observing(&config.settings)));
    let mut state = load_state(config)?;
    let mut settled = Vec::new();
    if options.settle_pending && !state.pending.is_empty() {
        settled = settle_pending(config, &mut state).await?;
        // What was listed before the calls were resolved is out of date: list again.
        observing = Some(start_observing(&config.settings));
    }
    // `moved` blocks rename records before anything is decided on them; the state as read is
    // kept for the writer, so the renames are written even when nothing else changes.
    let read = (!config.moves.is_empty()).then(|| state.clone());
    let moved = plan::moved::apply(&mut state, &config.moves);
    let read = read.filter(|_| !moved.is_empty());
    let masker = super::masker(&mut state)?;
    let desired = expand(config, &masker);
    let (engine, snapshot) = match observing {
        Some(observing) => {
            let (engine, snapshot) = finish_observing(observing, config, &desired, &masker, &state).await?;
            (Some(engine), snapshot)
        }
        None => (None, Snapshot::from_state(&state, &config.settings.project)),
    };
    let mut plan = plan::compute_with(
        &desired,
        &state,
        &snapshot,
        &config.settings.project,
        options.destroy,
        &options.focus.replace,
    )
    .map_err(Report::new)?;
    plan.moved = moved;
    plan.focus(&options.focus.targets, &options.focus.replace).map_err(|e| miette::miette!("{e}"))?;
    if !options.destroy {
        plan.outputs = output_changes(config, &state, &plan, &masker)?;
    }
    tracing::debug!(changes = plan.counts().0 + plan.counts().1 + plan.counts().2, "planned");
    let policy = check_policies(config, &options.policies, &plan)?;
    Ok(Planned { state, read, engine, snapshot, plan, masker, settled, policy })
}

/// Evaluates the policies of the configuration (`policy_dir`) and of the command line on the
/// plan's JSON; `None` when there are none (and nothing is rendered for them).
pub fn check_policies(config: &Config, given: &[PathBuf], plan: &Plan) -> Result<Option<policy::Report>, Report> {
    let mut dirs: Vec<PathBuf> = config.settings.policy_dir.iter().map(PathBuf::from).collect();
    dirs.extend(given.iter().filter(|d| !dirs.contains(d)).cloned().collect::<Vec<_>>());
    if dirs.is_empty() {
        return Ok(None);
    }
    let mut policies = policy::Policies::load(&config.dir, &dirs, policy::DEFAULT_NAMESPACE).map_err(Report::new)?;
    let report = policies.evaluate(plan::json::render(plan)).map_err(Report::new)?;
    tracing::debug!(findings = report.findings.len(), "policies evaluated");
    // The engine holds the plan's JSON; a command ends after its plan, and freeing that one
    // allocation at a time would cost it more than its own work.
    std::mem::forget(policies);
    Ok(Some(report))
}

/// Finishes what a stopped run left in flight, and records it; one line per call resolved.
async fn settle_pending(config: &Config, state: &mut State) -> Result<Vec<String>, Report> {
    // Made from the state as read, so the resolved one is written as a change.
    let mut writer = crate::state::StateWriter::new(&super::location_of(config), state);
    let engine = crate::docker::connect(config.settings.docker_host.as_deref()).await.map_err(Report::new)?;
    // The masker as the plan will make it (which a killed stop over TLS needs), without its
    // effect on the state: that is the plan's to record.
    let masker = super::masker(&mut state.clone())?;
    let notes = crate::apply::settle_pending(&engine, state, &masker).await.map_err(Report::new)?;
    writer.save(state).map_err(Report::new)?;
    Ok(notes)
}

/// Saves `planned` for `apply FILE` at `path` (relative paths: in the configuration directory,
/// as Terraform's -chdir does), authenticated under this process's key.
pub fn save_plan(
    dir: &Path,
    path: &Path,
    config: &Config,
    vars: &VarInputs,
    options: &PlanOptions,
    planned: &Planned,
) -> Result<(), Report> {
    let out = dir.join(path);
    let key = crate::key::Key::load().map_err(Report::new)?;
    let inputs = saved::Inputs {
        config,
        vars,
        focus: &options.focus,
        destroy: options.destroy,
        state: &planned.state,
        live: &planned.snapshot,
    };
    let mut saved = SavedPlan::new(&inputs, &planned.plan, &key);
    saved.write(&out, &key).map_err(|e| miette::miette!("cannot write the saved plan {}: {e}", out.display()))
}

/// Reads a saved plan, refused unless this process's key authenticates it.
pub fn read_saved_plan(path: &Path) -> Result<SavedPlan, Report> {
    let key = crate::key::Key::load().map_err(Report::new)?;
    SavedPlan::read(path, &key).map_err(Report::new)
}

/// Outputs as they will be after apply: a REST URL stays known only when its JobManager is not
/// (re)created with an ephemeral port.
fn output_changes(
    config: &Config,
    state: &State,
    plan: &Plan,
    masker: &Masker,
) -> Result<Vec<plan::OutputChange>, Report> {
    let recreated = |cluster: &str| {
        let jm0 = crate::address::part_of(cluster, "jobmanager", Some(crate::address::Key::Index(0)));
        plan.changes
            .iter()
            .any(|c| c.address == jm0 && matches!(c.action, plan::Action::Create | plan::Action::Replace))
    };
    let values = config
        .evaluate_outputs(&|c| if recreated(c) { None } else { rest_port_from(state, c) }, false)
        .map_err(Report::new)?;
    Ok(values
        .into_iter()
        .map(|(name, v)| {
            let after_unknown =
                serde_json::to_string(&v.value).unwrap_or_default().contains(crate::config::KNOWN_AFTER_APPLY);
            let after = output_value(&v.value, v.sensitive, masker);
            let before = state.outputs.get(&name).map(|o| o.value.clone());
            plan::OutputChange { name, before, after, after_unknown, sensitive: v.sensitive }
        })
        .collect())
}

/// An output's value as state keeps it: a sensitive one only as its keyed hash.
pub(crate) fn output_value(value: &hcl::Value, sensitive: bool, masker: &Masker) -> serde_json::Value {
    let json = serde_json::to_value(value).unwrap_or_default();
    if sensitive { masker.mask(&json.to_string()).into() } else { json }
}
