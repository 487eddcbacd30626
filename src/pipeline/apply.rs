//! `apply` and `destroy`: the state's lock taken as early as it can be, the plan made (or a
//! saved one checked against a fresh one), then — once the command line has confirmed — the
//! executor run, the outputs evaluated and the state written.

use super::plan::{PlanOptions, Planned, make_plan, output_value, start_observing};
use super::rest_port_from;
use crate::apply::{ApplyReport, Executed};
use crate::config::{Config, VarInputs};
use crate::key::Key;
use crate::plan::{Focus, Plan, saved::SavedPlan};
use crate::state::{State, StateLock, StateOutput, StateWriter};
use miette::Report;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// What `apply` / `destroy` is asked for (plain data: the command line fills it).
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// A plan saved with `plan --out`: applied exactly, refused when anything it was made from moved.
    pub plan_file: Option<PathBuf>,
    pub vars: VarInputs,
    pub focus: Focus,
    pub destroy: bool,
    pub lock_timeout: Duration,
    /// Policy directories (`--policy`) beside the configuration's `policy_dir`.
    pub policies: Vec<PathBuf>,
}

/// A plan ready to be confirmed and executed, with the lock that guards it.
pub struct Prepared {
    pub config: Config,
    pub planned: Planned,
    pub destroy: bool,
    /// The saved plan being applied.
    pub saved: Option<SavedFile>,
    _lock: StateLock,
}

/// A saved plan being applied: where it is, and the key that authenticated it (and marks it
/// applied), read once.
pub struct SavedFile {
    pub plan: SavedPlan,
    pub path: PathBuf,
    key: Key,
}

impl Prepared {
    pub fn plan(&self) -> &Plan {
        &self.planned.plan
    }
    /// What was resolved, before planning, of calls a stopped run left in flight.
    pub fn settled(&self) -> &[String] {
        &self.planned.settled
    }
    /// What the policies said of the plan, when there are any.
    pub fn policy(&self) -> Option<&crate::policy::Report> {
        self.planned.policy.as_ref()
    }
    /// A saved plan was reviewed already: it is applied without asking again.
    pub fn needs_confirmation(&self) -> bool {
        self.planned.plan.has_changes() && self.saved.is_none()
    }
}

/// What an apply did.
pub struct Applied {
    pub state: State,
    pub report: ApplyReport,
    /// The last state write (with the outputs) failed: what the report says was done is on the
    /// engine but not all of it in the state; the next run adopts it from the labels.
    pub unsaved: Option<Report>,
}

/// Locks the state, loads the configuration and plans (checking a saved plan against it).
pub async fn prepare(dir: &Path, options: &ApplyOptions) -> Result<Prepared, Report> {
    let saved = match &options.plan_file {
        Some(path) => Some(saved_plan(dir, path, options)?),
        None => None,
    };
    let destroy = options.destroy || saved.as_ref().is_some_and(|s| s.plan.destroy);
    let vars = match saved.as_ref().map(|s| &s.plan) {
        // The plan's own values, then what is given again (sensitive values, checked against
        // the plan's hashes; any other value changed makes the plan stale).
        Some(s) => VarInputs {
            vars: s.vars.iter().chain(&options.vars.vars).cloned().collect(),
            var_files: s.var_files.iter().map(Into::into).chain(options.vars.var_files.iter().cloned()).collect(),
        },
        None => options.vars.clone(),
    };
    let operation = if destroy { "destroy" } else { "apply" };
    // Once the state's lock is held, Docker can be asked while the rest of the configuration is
    // evaluated (a snapshot taken before the lock could miss what its holder was changing). A
    // busy lock is waited for only once the configuration is known to be valid.
    let mut early = None;
    let config = super::load_then(dir, &vars, &mut |settings| {
        let taken = StateLock::try_take(&super::location(dir, settings), operation);
        early = Some(taken.and_then(|lock| {
            lock.map(|mut lock| {
                let observing = start_observing(settings);
                lock.announce(operation).map(|()| (lock, observing))
            })
            .transpose()
        }));
    })?;
    let (lock, started) = match early.transpose().map_err(Report::new)?.flatten() {
        Some((lock, observing)) => (lock, Some(observing)),
        None => {
            let location = super::location_of(&config);
            (StateLock::acquire(&location, operation, options.lock_timeout).map_err(Report::new)?, None)
        }
    };
    let focus = match saved.as_ref().map(|s| &s.plan) {
        Some(s) => Focus { targets: s.targets.clone(), replace: s.replace.clone() },
        None => options.focus.clone(),
    };
    let plan_options =
        PlanOptions { destroy, refresh: true, focus, settle_pending: true, policies: options.policies.clone() };
    let planned = make_plan(&config, &plan_options, started).await?;
    if let Some(s) = &saved {
        s.plan.check(&config, &s.key, &planned.state, &planned.snapshot, &planned.plan).map_err(Report::new)?;
    }
    Ok(Prepared { config, planned, destroy, saved, _lock: lock })
}

/// The error a plan a policy denies is refused with.
pub fn policy_denied(report: &crate::policy::Report) -> Report {
    let n = report.findings.iter().filter(|f| f.severity == crate::policy::Severity::Failure).count();
    miette::miette!(
        help = "change the configuration so the plan passes, or change the policy in a reviewed change",
        "{n} policy failure(s): the plan is refused and nothing was changed"
    )
}

/// Reads the plan file `apply FILE` names; the plan carries its own options, so none that
/// would change what it does can be given beside it.
fn saved_plan(dir: &Path, path: &Path, options: &ApplyOptions) -> Result<SavedFile, Report> {
    if options.destroy {
        return Err(miette::miette!(
            "destroy takes no plan file; use `flinkform plan --destroy --out {}` and `apply` it",
            path.display()
        ));
    }
    if !options.focus.targets.is_empty() || !options.focus.replace.is_empty() {
        return Err(miette::miette!(
            help = "give --target and --replace to `flinkform plan --out FILE`: the saved plan carries them",
            "--target and --replace cannot be given with a saved plan: it is applied exactly as it was reviewed"
        ));
    }
    let key = Key::load().map_err(Report::new)?;
    let path = dir.join(path);
    let plan = SavedPlan::read(&path, &key).map_err(Report::new)?;
    Ok(SavedFile { plan, path, key })
}

/// Executes a prepared plan, `parallelism` operations at once; `stop` set (Ctrl-C) starts no
/// new operation. The state is written after every operation, and once more with the outputs.
pub async fn execute(
    prepared: Prepared,
    parallelism: usize,
    stop: Arc<AtomicBool>,
    json: bool,
) -> Result<Applied, Report> {
    if let Some(denied) = prepared.policy().filter(|p| p.denied()) {
        return Err(policy_denied(denied));
    }
    let Prepared { config, planned, destroy, saved, _lock } = prepared;
    let Planned { state, read, engine, snapshot, plan, masker, .. } = planned;
    let engine = engine.expect("apply always observes Docker");
    let writer = StateWriter::new(&super::location_of(&config), read.as_ref().unwrap_or(&state));
    let project = config.settings.project.clone();
    let run = crate::apply::Run { project, parallelism, stop, masker: masker.clone(), json };
    let Executed { mut state, mut writer, report } =
        crate::apply::apply(&engine, &plan, run, state, writer).await.map_err(Report::new)?;
    // Outputs, now that every value is known.
    let outputs =
        if destroy { Ok(Default::default()) } else { config.evaluate_outputs(&|c| rest_port_from(&state, c), true) };
    let outputs = outputs.map_err(Report::new)?;
    state.outputs = outputs
        .iter()
        .map(|(k, v)| {
            let value = output_value(&v.value, v.sensitive, &masker);
            (k.clone(), StateOutput { value, sensitive: v.sensitive })
        })
        .collect();
    if let Err(e) = writer.save(&mut state) {
        return Ok(Applied { state, report, unsaved: Some(Report::new(e)) });
    }
    if !destroy {
        for problem in super::tls::write_bundles(&engine, &config, &masker).await {
            tracing::warn!("{problem}");
        }
    }
    if let Some(SavedFile { mut plan, path, key }) = saved {
        plan.applied = true;
        plan.write(&path, &key).map_err(|e| miette::miette!("cannot mark {} as applied: {e}", path.display()))?;
    }
    // The process ends now: freeing what was planned and observed one allocation at a time
    // would cost a no-op apply more than its own work.
    std::mem::forget((config, snapshot, plan));
    Ok(Applied { state, report, unsaved: None })
}
