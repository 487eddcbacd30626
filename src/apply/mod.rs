//! The executor: a plan lowered into operations ([`operations`], pure), walked in parallel
//! along their dependencies ([`graph::walk`]), each one engine or Flink call or a readiness wait
//! ([`ready`]), the state written after every operation. Job operations live in [`job`]. See
//! docs/ARCHITECTURE.md, "The executor".

mod application;
mod intent;
mod job;
pub mod operations;
mod ready;
mod service;
mod tls;

use crate::docker::ops::{self, Inspected};
use crate::docker::{DockerError, Engine};
use crate::graph::{self, Outcome};
use crate::model::{Instance, Kind, Spec};
use crate::names;
use crate::plan::{Action, Change, Plan};
use crate::state::{PendingOp, Resource, State, StateError, StateWriter};
pub use intent::settle_pending;
use intent::{intend, settle_on_error};
use operations::{OpKind, Operation, Operations};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
pub use tls::{identity_of, rest_outside_apply};

/// Why an operation failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ApplyError {
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error(transparent)]
    Flink(#[from] crate::flink::rest::RestError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("container {name} {happened} while waiting for {waiting_for}. Last log lines:\n{logs}")]
    NotReady { name: String, happened: String, waiting_for: &'static str, logs: String },
    /// A job operation Flink refused or did not finish (the message says what is left running).
    #[error("{0}")]
    Job(String),
    /// A swarm's rolling update that a failing new task stopped.
    #[error(
        "the rolling update of service {name} stopped: {message}. The swarm {outcome}; see `docker service ps --no-trunc {name}`"
    )]
    RollingUpdate { name: String, message: String, outcome: &'static str },
    #[error("internal: {0}")]
    Internal(String),
}

/// What happened, for the closing summary.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    /// Address and what went wrong (an error, or a panic's message).
    pub failed: Vec<(String, String)>,
    pub skipped: Vec<(String, String)>,
    pub interrupted: bool,
}

/// The state as the run left it, the writer that saved it, and the report.
pub struct Executed {
    pub state: State,
    pub writer: StateWriter,
    pub report: ApplyReport,
}

pub(crate) struct Shared {
    pub(crate) engine: Engine,
    pub(crate) project: String,
    pub(crate) state: Mutex<(State, StateWriter)>,
    pub(crate) printer: Printer,
    /// What a create or start saw of its container, handed to the readiness wait that follows.
    pub(crate) inspected: Mutex<BTreeMap<String, Inspected>>,
    /// Each image is made sure of once per run, not once per container.
    pub(crate) images: Mutex<BTreeMap<String, Arc<ImageReady>>>,
    /// Set by Ctrl-C, and by a failed state write: no operation starts after it.
    pub(crate) stop: Arc<AtomicBool>,
    /// A state write failed (so `stop` was not the user's Ctrl-C).
    pub(crate) write_failed: AtomicBool,
    /// The clusters with mutual TLS, and their nonces and client identities.
    pub(crate) tls: tls::TlsClusters,
    /// The application clusters, and how each of their JobManagers starts in this run.
    pub(crate) applications: application::Applications,
}

/// An image made sure of (present, or pulled) once, or why it could not be.
type ImageReady = tokio::sync::OnceCell<Result<(), String>>;

/// Terraform-style progress lines.
#[derive(Clone)]
/// Progress lines, for a human or (`-json`) as Terraform's machine-readable UI.
pub struct Printer {
    pub json: bool,
}

impl Printer {
    pub fn line(&self, address: &str, msg: &str) {
        use owo_colors::OwoColorize;
        if self.json {
            let hook = crate::ui::resource(address);
            crate::ui::line(
                "info",
                &format!("{address}: {msg}"),
                "apply_progress",
                serde_json::json!({ "hook": hook }),
            );
        } else {
            anstream::println!("{}: {msg}", address.bold());
        }
    }
}

/// How a plan is applied: for which project, how many operations at once, the flag Ctrl-C
/// sets (no operation starts after it), and the state's masker (TLS clusters' roots).
pub struct Run {
    pub project: String,
    pub parallelism: usize,
    pub stop: Arc<AtomicBool>,
    pub masker: crate::model::sensitive::Masker,
    /// Progress as JSON lines (`-json`).
    pub json: bool,
}

/// Applies `plan`, saving state through `writer` after every operation.
pub async fn apply(
    engine: &Engine,
    plan: &Plan,
    run: Run,
    mut state: State,
    mut writer: StateWriter,
) -> Result<Executed, ApplyError> {
    let Run { project, parallelism, stop, masker, json } = run;
    record_unchanged(plan, &mut state);
    let operations = Operations::lower(plan);
    tracing::debug!(operations = operations.ops.len(), "lowered the plan:\n{operations}");
    writer.save(&mut state)?;
    if operations.is_empty() {
        let report = ApplyReport { interrupted: stop.load(Ordering::SeqCst), ..Default::default() };
        return Ok(Executed { state, writer, report });
    }
    let shared = Arc::new(Shared {
        engine: engine.clone(),
        project,
        state: Mutex::new((state, writer)),
        printer: Printer { json },
        inspected: Mutex::new(BTreeMap::new()),
        images: Mutex::new(BTreeMap::new()),
        stop: stop.clone(),
        write_failed: AtomicBool::new(false),
        tls: tls::TlsClusters::of(plan, masker),
        applications: application::Applications::of(plan),
    });
    let outcomes = walk(&shared, plan, &operations, parallelism, stop.clone()).await;
    let interrupted = stop.load(Ordering::SeqCst) && !shared.write_failed.load(Ordering::SeqCst);
    let mut report = ApplyReport { interrupted, ..Default::default() };
    count(plan, &operations, outcomes, &mut report);
    let shared = Arc::try_unwrap(shared).ok().expect("every operation has finished");
    let (state, writer) = shared.state.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(Executed { state, writer, report })
}

/// What a plan changes in the state without an operation: no-ops are recorded as observed
/// (this adopts objects a stopped run created but did not record), and a job that is not
/// running is recorded suspended.
pub fn record_unchanged(plan: &Plan, state: &mut State) {
    for c in plan.changes.iter().filter(|c| c.action == Action::NoOp && c.kind != Kind::Job) {
        if let (Some(d), Some(id)) = (&c.desired, &c.live_id) {
            // A tainted object left out of this run (`--target`) stays tainted.
            let tainted = state.resource(&d.address).is_some_and(|r| r.tainted && &r.id == id);
            let mut r = record(d, id, c.live_ports.clone(), c.live_host.as_deref());
            r.tainted = tainted;
            state.put(r);
        }
    }
    for c in plan.changes.iter().filter(|c| c.action == Action::Update) {
        if c.job_ops.is_some_and(|j| !j.stop && !j.submit) {
            job::record_suspended(state, c);
        }
    }
}

async fn walk(
    shared: &Arc<Shared>,
    plan: &Plan,
    operations: &Operations,
    parallelism: usize,
    stop: Arc<AtomicBool>,
) -> Vec<Outcome<ApplyError>> {
    let labels: Vec<String> = operations.ops.iter().map(|o| o.address.clone()).collect();
    let deps: Vec<Vec<usize>> = operations.ops.iter().map(|o| o.after.clone()).collect();
    let plan = Arc::new(plan.clone());
    let ops = Arc::new(operations.ops.clone());
    graph::walk(&labels, &deps, parallelism, stop, move |i| {
        let (shared, plan, ops) = (shared.clone(), plan.clone(), ops.clone());
        async move {
            let op = &ops[i];
            let change = &plan.changes[op.change];
            tracing::debug!(address = %op.address, operation = %op.kind, "operation starts");
            let result = run(&shared, change, op).await;
            if let Err(e) = &result {
                tracing::debug!(address = %op.address, operation = %op.kind, error = %e, "operation failed");
                // The state no longer records what is done: start nothing more.
                if matches!(e, ApplyError::State(_)) {
                    shared.write_failed.store(true, Ordering::SeqCst);
                    shared.stop.store(true, Ordering::SeqCst);
                }
            }
            result
        }
    })
    .await
}

/// Adds each operation's outcome to the report: an in-place update (a job's stop and
/// resubmit) is one change, counted at its end; a wait counts nothing.
fn count(plan: &Plan, operations: &Operations, outcomes: Vec<Outcome<ApplyError>>, report: &mut ApplyReport) {
    let ops = &operations.ops;
    for (op, outcome) in ops.iter().zip(outcomes) {
        let action = plan.changes[op.change].action;
        let last_of_change = !ops.iter().any(|o| o.change == op.change && o.kind > op.kind && !is_wait(o));
        match outcome {
            Outcome::Done => match (action, op.kind) {
                (_, OpKind::WaitReady(_) | OpKind::WriteTls) => {}
                (Action::Update, _) if !last_of_change => {}
                (Action::Update, _) | (_, OpKind::Start) => report.changed += 1,
                (_, OpKind::Create | OpKind::SubmitJob) => report.added += 1,
                (_, OpKind::UpdateInPlace | OpKind::RollingUpdate) => report.changed += 1,
                (_, OpKind::Remove | OpKind::StopJob(_)) => report.destroyed += 1,
            },
            Outcome::Failed(e) => report.failed.push((op.address.clone(), e.to_string())),
            Outcome::Panicked(msg) => {
                report.failed.push((op.address.clone(), format!("internal error: the operation panicked: {msg}")))
            }
            Outcome::Skipped(because) => report.skipped.push((op.address.clone(), because)),
            Outcome::NotStarted => {}
        }
    }
}

fn is_wait(op: &Operation) -> bool {
    matches!(op.kind, OpKind::WaitReady(_))
}

/// What the state records for instance `d`, made as object `id` with these published ports
/// (on `host` when not on this engine's: a swarm task's node).
pub fn record(d: &Instance, id: &str, ports: BTreeMap<String, u16>, host: Option<&str>) -> Resource {
    Resource {
        address: d.address.clone(),
        kind: d.kind,
        name: d.name.clone(),
        id: id.to_string(),
        attributes: d.attributes.clone(),
        config_hash: d.config_hash.clone(),
        dependencies: d.dependencies.clone(),
        savepoint: None,
        job: d.job.as_ref().map(|j| crate::state::JobRecord {
            cluster: d.cluster.clone(),
            upgrade_mode: j.upgrade_mode,
            suspended: false,
        }),
        rest_url: rest_url(d, &ports, host),
        ports,
        tainted: false,
    }
}

/// A JobManager's REST URL: its published bind address (or the node its task runs on) and the
/// host port the engine gave it.
fn rest_url(d: &Instance, ports: &BTreeMap<String, u16>, host: Option<&str>) -> Option<String> {
    let spec = match &d.spec {
        Spec::Container(spec) => spec,
        Spec::Service(s) => &s.task,
        _ => return None,
    };
    let published = spec.ports.iter().find(|p| p.container_port == 8081 && p.protocol == "tcp")?;
    let port = ports.get("8081/tcp")?;
    let host = host.unwrap_or(&published.host_ip);
    (d.role == crate::model::Role::JobManager).then(|| names::rest_url(host, *port, d.tls.is_some()))
}

pub(crate) fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

fn desired<'a>(c: &'a Change, what: &str) -> Result<&'a Instance, ApplyError> {
    c.desired.as_ref().ok_or_else(|| ApplyError::Internal(format!("{what} without a desired instance")))
}

/// Runs one operation.
async fn run(shared: &Shared, c: &Change, op: &Operation) -> Result<(), ApplyError> {
    let p = &shared.printer;
    let started = Instant::now();
    match op.kind {
        OpKind::StopJob(how) => job::stop(shared, c, how).await,
        OpKind::SubmitJob => job::submit(shared, c).await,
        OpKind::Remove => remove(shared, c, started).await,
        OpKind::UpdateInPlace => service::update_in_place(shared, c).await,
        OpKind::RollingUpdate => service::roll(shared, c).await,
        OpKind::Create => {
            let d = desired(c, "create")?;
            p.line(&c.address, "Creating...");
            intend(shared, c, PendingOp::Create, None)?;
            let (id, inspected) = settle_on_error(shared, c, PendingOp::Create, create(shared, d).await)?;
            // Recorded before the readiness wait (its own operation): a crash during the wait
            // leaves it owned, not orphaned.
            save(shared, |s| {
                s.put(record(d, &id, inspected.ports.clone(), None));
                s.settle(PendingOp::Create, &c.address);
            })?;
            let waits = operations::Probe::of(&d.readiness).is_some();
            if waits {
                hand_over(shared, &c.address, inspected);
            }
            let done = if waits { "Created, waiting until ready" } else { "Creation complete" };
            p.line(&c.address, &format!("{done} after {}s [id={}]", started.elapsed().as_secs(), short(&id)));
            Ok(())
        }
        OpKind::Start => {
            let d = desired(c, "start")?;
            let id = c.live_id.clone().unwrap_or_else(|| d.name.clone());
            p.line(&c.address, "Starting...");
            let (id, inspected) = match ops::start(&shared.engine, &id).await {
                Ok(()) => (id.clone(), ops::inspect(&shared.engine, &id).await?),
                // Gone since the plan looked (the engine rolls back a create whose client was
                // killed): made afresh instead.
                Err(e) if e.is_not_found() => create(shared, d).await?,
                Err(e) => return Err(e.into()),
            };
            save(shared, |s| s.put(record(d, &id, inspected.ports.clone(), None)))?;
            if operations::Probe::of(&d.readiness).is_none() {
                p.line(&c.address, &format!("Start complete after {}s", started.elapsed().as_secs()));
            } else {
                hand_over(shared, &c.address, inspected);
            }
            Ok(())
        }
        OpKind::WriteTls => {
            let d = desired(c, "TLS material")?;
            tls::write(shared, d).await?;
            p.line(&c.address, &format!("TLS keystores written after {}s", started.elapsed().as_secs()));
            Ok(())
        }
        OpKind::WaitReady(probe) => {
            let d = desired(c, "readiness")?;
            let recorded = shared.state.lock().ok().and_then(|s| s.0.resource(&c.address).map(|r| r.id.clone()));
            let id = recorded.unwrap_or_else(|| d.name.clone());
            if d.kind == Kind::Service {
                if let Err(e) = service::wait(shared, d, probe, &id).await {
                    save(shared, |s| s.taint(&c.address))?;
                    return Err(e);
                }
                let done = if c.action == Action::Update { "Update complete" } else { "Creation complete" };
                p.line(&c.address, &format!("{done} after {}s [id={}]", started.elapsed().as_secs(), short(&id)));
                return Ok(());
            }
            let handed = shared.inspected.lock().ok().and_then(|mut m| m.remove(&c.address));
            let inspected = match handed {
                Some(i) => i,
                None => ops::inspect(&shared.engine, &id).await?,
            };
            let verb = if c.action == Action::Start { "starting" } else { "creating" };
            if let Err(e) = ready::wait(shared, d, probe, &id, &inspected, started, verb).await {
                // It exists but does not work: recorded as such, so the next plan replaces it.
                save(shared, |s| s.taint(&c.address))?;
                return Err(e);
            }
            let done = if c.action == Action::Start { "Start complete" } else { "Creation complete" };
            p.line(&c.address, &format!("{done} after {}s [id={}]", started.elapsed().as_secs(), short(&id)));
            Ok(())
        }
    }
}

/// Removes the object (or only forgets one the plan keeps), then drops it from the state.
async fn remove(shared: &Shared, c: &Change, started: Instant) -> Result<(), ApplyError> {
    let p = &shared.printer;
    match &c.live_id {
        Some(id) => p.line(&c.address, &format!("Destroying... [id={}]", short(id))),
        None => p.line(&c.address, "Forgetting (already gone)..."),
    }
    if let Some(id) = c.live_id.as_ref().filter(|_| !c.keep_object) {
        intend(shared, c, PendingOp::Remove, Some(id))?;
        let removed = ops::remove(&shared.engine, c.kind, id, &c.name).await.map_err(ApplyError::from);
        settle_on_error(shared, c, PendingOp::Remove, removed)?;
        if c.kind == Kind::Volume {
            tls::forget(shared, &c.name);
        }
    }
    if c.keep_object {
        p.line(&c.address, "Kept on Docker (it holds savepoints); forgotten from state");
    }
    save(shared, |s| {
        s.remove(&c.address);
        s.settle(PendingOp::Remove, &c.address);
    })?;
    p.line(&c.address, &format!("Destruction complete after {}s", started.elapsed().as_secs()));
    Ok(())
}

/// Creates the object (a container: from its image, started) and inspects a container once.
async fn create(shared: &Shared, d: &Instance) -> Result<(String, Inspected), ApplyError> {
    let labels = labels(shared, d);
    let created = match &d.spec {
        Spec::Network { driver } => {
            (ops::create_network(&shared.engine, &d.name, driver, &labels).await?, Inspected::default())
        }
        Spec::Volume { driver } => {
            let mut labels = labels;
            if let Some(t) = &d.tls {
                labels.insert(crate::tls::NONCE_LABEL.into(), tls::new_nonce());
                tls::forget(shared, &t.volume);
            }
            let name = ops::create_volume(&shared.engine, &d.name, driver, &labels).await?;
            if let Some(t) = &d.tls {
                // The engine keeps the labels of a volume that already exists: its nonce holds.
                tls::learn_nonce(shared, &t.volume).await?;
            }
            (name, Inspected::default())
        }
        Spec::Job(_) => return Err(ApplyError::Internal("a job reached the container path".into())),
        Spec::Service(_) => (service::create(shared, d).await?, Inspected::default()),
        Spec::Container(spec) => {
            ensure_image(shared, &spec.image, d.pull).await?;
            let spec = &application::jobmanager_spec(shared, d, spec)?;
            let id = ops::create_container(&shared.engine, &d.name, spec, &labels).await?;
            // The inspect tells the host ports the engine chose and what the readiness wait
            // starts from; a container with neither has nothing in it to read.
            let inspected = if spec.ports.is_empty() && operations::Probe::of(&d.readiness).is_none() {
                Inspected::default()
            } else {
                ops::inspect(&shared.engine, &id).await?
            };
            (id, inspected)
        }
    };
    Ok(created)
}

/// Makes sure `image` is present, once per run.
pub(crate) async fn ensure_image(
    shared: &Shared,
    image: &str,
    pull: crate::config::PullPolicy,
) -> Result<(), ApplyError> {
    let cell = shared
        .images
        .lock()
        .map_err(|_| ApplyError::Internal("image cache poisoned".into()))?
        .entry(image.to_string())
        .or_default()
        .clone();
    let ensure = || async { ops::ensure_image(&shared.engine, image, pull).await.map_err(|e| e.to_string()) };
    cell.get_or_init(ensure).await.clone().map_err(|e| ApplyError::Docker(DockerError::Other(e)))
}

/// Keeps a container's first inspection for its readiness wait (no second inspect).
fn hand_over(shared: &Shared, address: &str, inspected: Inspected) {
    if let Ok(mut m) = shared.inspected.lock() {
        m.insert(address.to_string(), inspected);
    }
}

fn labels(shared: &Shared, d: &Instance) -> BTreeMap<String, String> {
    let lineage = shared.state.lock().map(|s| s.0.lineage.clone()).unwrap_or_default();
    BTreeMap::from([
        (names::LABEL_MANAGED.to_string(), "true".to_string()),
        (names::LABEL_PROJECT.to_string(), shared.project.clone()),
        (names::LABEL_ADDRESS.to_string(), d.address.clone()),
        (names::LABEL_LINEAGE.to_string(), lineage),
        (names::LABEL_HASH.to_string(), d.config_hash.clone()),
    ])
}

pub(crate) fn save(shared: &Shared, f: impl FnOnce(&mut State)) -> Result<(), ApplyError> {
    let mut guard = shared.state.lock().map_err(|_| ApplyError::Internal("state lock poisoned".into()))?;
    let (state, writer) = &mut *guard;
    f(state);
    Ok(writer.save(state)?)
}

/// REST URLs of a cluster's JobManagers, from the state (ports are recorded as created).
pub(crate) fn jobmanager_urls(shared: &Shared, cluster: &str) -> Vec<String> {
    match shared.state.lock() {
        Ok(guard) => jobmanager_urls_in(&guard.0, cluster),
        Err(_) => Vec::new(),
    }
}

/// REST URLs of a cluster's JobManagers, as `state` records them.
pub(crate) fn jobmanager_urls_in(state: &State, cluster: &str) -> Vec<String> {
    let Ok(cluster) = crate::address::Address::parse(cluster) else { return Vec::new() };
    state
        .resources
        .iter()
        .filter(|r| matches!(r.kind, Kind::Container | Kind::Service))
        .filter(|r| {
            crate::address::Address::parse(&r.address)
                .is_ok_and(|a| a.role() == Some("jobmanager") && a.cluster().as_ref() == Some(&cluster))
        })
        .filter_map(|r| r.rest_url.clone())
        .collect()
}
