//! The executor: turns a plan into atomic operations (create, destroy, start), orders them along
//! the dependency graph (creates after what they depend on, destroys before what they depend
//! on, a replace's destroy before its create), runs them in parallel ([`graph::walk`]), waits
//! for readiness, and writes the state after every operation. Job operations live in [`job`].

mod job;

use crate::docker::ops::{self, Inspected};
use crate::docker::{self, Engine};
use crate::flink::rest::FlinkRest;
use crate::graph::{self, Outcome};
use crate::model::{Instance, Kind, Readiness, Role, Spec};
use crate::plan::{Action, Plan};
use crate::state::{Resource, State, StateWriter};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum OpKind {
    Create,
    Destroy,
    Start,
    /// Waits for a created or started container to be ready (its own node, so that what only
    /// needs the container running, such as TaskManagers on their JobManager, starts sooner).
    Ready,
}

#[derive(Debug, Clone)]
struct Op {
    kind: OpKind,
    change: usize,
}

/// What happened, for the closing summary.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    pub failed: Vec<(String, String)>,
    pub skipped: Vec<(String, String)>,
    pub interrupted: bool,
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
}

/// An image made sure of (present, or pulled) once, or why it could not be.
type ImageReady = tokio::sync::OnceCell<Result<(), String>>;

/// Terraform-style progress lines.
#[derive(Clone)]
pub struct Printer;

impl Printer {
    pub fn line(&self, address: &str, msg: &str) {
        use owo_colors::OwoColorize;
        anstream::println!("{}: {msg}", address.bold());
    }
}

/// Applies `plan`, saving state through `writer` after every operation.
pub async fn apply(
    engine: &Engine,
    plan: &Plan,
    project: &str,
    mut state: State,
    mut writer: StateWriter,
    parallelism: usize,
    stop: Arc<AtomicBool>,
) -> (State, StateWriter, ApplyReport, Option<crate::state::StateError>) {
    // No-ops are recorded as observed: this adopts objects a crashed run created but did not record.
    for c in plan.changes.iter().filter(|c| c.action == Action::NoOp && c.kind != Kind::Job) {
        if let (Some(d), Some(id)) = (&c.desired, &c.live_id) {
            state.put(record(d, id, c.live_ports.clone()));
        }
    }
    let mut ops = Vec::new();
    for (i, c) in plan.changes.iter().enumerate() {
        if let Some(j) = c.job_ops {
            if j.stop {
                ops.push(Op { kind: OpKind::Destroy, change: i });
            }
            if j.submit || (c.action == Action::Create && c.desired.is_some()) {
                ops.push(Op { kind: OpKind::Create, change: i });
            }
            if !j.stop && !j.submit && c.action == Action::Update {
                job::record_suspended(&mut state, c);
            }
            continue;
        }
        match c.action {
            Action::Create => ops.push(Op { kind: OpKind::Create, change: i }),
            Action::Start => ops.push(Op { kind: OpKind::Start, change: i }),
            Action::Delete => ops.push(Op { kind: OpKind::Destroy, change: i }),
            Action::Replace | Action::Update => {
                ops.push(Op { kind: OpKind::Destroy, change: i });
                ops.push(Op { kind: OpKind::Create, change: i });
            }
            Action::NoOp => {}
        }
        if matches!(c.action, Action::Create | Action::Start | Action::Replace | Action::Update)
            && c.desired.as_ref().is_some_and(|d| d.readiness != Readiness::None)
        {
            ops.push(Op { kind: OpKind::Ready, change: i });
        }
    }
    let deps = op_dependencies(plan, &ops);
    let labels: Vec<String> = ops.iter().map(|o| plan.changes[o.change].address.clone()).collect();

    if let Err(e) = writer.save(&mut state) {
        return (state, writer, ApplyReport::default(), Some(e));
    }
    if ops.is_empty() {
        let report = ApplyReport { interrupted: stop.load(std::sync::atomic::Ordering::SeqCst), ..Default::default() };
        return (state, writer, report, None);
    }
    let shared = Arc::new(Shared {
        engine: engine.clone(),
        project: project.to_string(),
        state: Mutex::new((state, writer)),
        printer: Printer,
        inspected: Mutex::new(BTreeMap::new()),
        images: Mutex::new(BTreeMap::new()),
    });
    let plan = Arc::new(plan.clone());
    let ops = Arc::new(ops);
    let outcomes = {
        let (shared, plan, ops) = (shared.clone(), plan.clone(), ops.clone());
        graph::walk(&labels, &deps, parallelism, stop.clone(), move |i| {
            let (shared, plan, op) = (shared.clone(), plan.clone(), ops[i].clone());
            async move { run_op(&shared, &plan, &op).await }
        })
        .await
    };

    let mut report = ApplyReport { interrupted: stop.load(std::sync::atomic::Ordering::SeqCst), ..Default::default() };
    for (op, outcome) in ops.iter().zip(outcomes) {
        let address = plan.changes[op.change].address.clone();
        match outcome {
            // An in-place update (a job's stop and resubmit) is one change, counted at its end.
            Outcome::Done => match (plan.changes[op.change].action, op.kind) {
                (Action::Update, OpKind::Destroy)
                    if ops.iter().any(|o| o.change == op.change && o.kind != OpKind::Destroy) => {}
                (_, OpKind::Ready) => {}
                (Action::Update, _) | (_, OpKind::Start) => report.changed += 1,
                (_, OpKind::Create) => report.added += 1,
                (_, OpKind::Destroy) => report.destroyed += 1,
            },
            Outcome::Failed(e) => report.failed.push((address, e)),
            Outcome::Skipped(because) => report.skipped.push((address, because)),
            Outcome::NotStarted => {}
        }
    }
    let shared = Arc::try_unwrap(shared).ok().expect("every operation has finished");
    let (state, writer) = shared.state.into_inner().unwrap_or_else(|p| p.into_inner());
    (state, writer, report, None)
}

/// Creates/starts wait for what they depend on to be ready (created, and through its readiness
/// check); a TaskManager only for its JobManager to be running, since its own readiness
/// (registered with that JobManager) already includes the JobManager's. A readiness wait follows
/// its create/start; destroys wait for the destroys of what depends on them; a replace's create
/// waits for its destroy.
fn op_dependencies(plan: &Plan, ops: &[Op]) -> Vec<Vec<usize>> {
    let mut index: BTreeMap<(String, OpKind), usize> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        let class = if op.kind == OpKind::Start { OpKind::Create } else { op.kind };
        index.insert((plan.changes[op.change].address.clone(), class), i);
    }
    let role = |address: &str| {
        plan.changes.iter().find(|c| c.address == address).and_then(|c| c.desired.as_ref()).map(|d| d.role)
    };
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let c = &plan.changes[op.change];
            let mut deps = Vec::new();
            match op.kind {
                OpKind::Create | OpKind::Start => {
                    let early = c.desired.as_ref().is_some_and(|d| d.role == Role::TaskManager);
                    for d in &c.dependencies {
                        let running_is_enough = early && role(d) == Some(Role::JobManager);
                        let ready = index.get(&(d.clone(), OpKind::Ready)).filter(|_| !running_is_enough);
                        if let Some(&j) = ready.or(index.get(&(d.clone(), OpKind::Create))) {
                            deps.push(j);
                        }
                    }
                    if let Some(&j) = index.get(&(c.address.clone(), OpKind::Destroy)) {
                        deps.push(j);
                    }
                }
                OpKind::Ready => deps.extend(index.get(&(c.address.clone(), OpKind::Create))),
                OpKind::Destroy => {
                    for (j, other) in ops.iter().enumerate() {
                        let oc = &plan.changes[other.change];
                        if j != i && other.kind == OpKind::Destroy && oc.dependencies.contains(&c.address) {
                            deps.push(j);
                        }
                    }
                }
            }
            deps
        })
        .collect()
}

pub(crate) fn record(d: &Instance, id: &str, ports: BTreeMap<String, u16>) -> Resource {
    Resource {
        address: d.address.clone(),
        kind: d.kind,
        name: d.name.clone(),
        id: id.to_string(),
        attributes: d.attributes.clone(),
        config_hash: d.config_hash.clone(),
        dependencies: d.dependencies.clone(),
        ports,
        savepoint: None,
    }
}

pub(crate) fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

async fn run_op(shared: &Shared, plan: &Plan, op: &Op) -> Result<(), String> {
    let c = &plan.changes[op.change];
    let p = &shared.printer;
    let started = Instant::now();
    if c.kind == Kind::Job {
        return match op.kind {
            OpKind::Destroy => job::stop(shared, c).await,
            _ => job::submit(shared, c).await,
        };
    }
    match op.kind {
        OpKind::Destroy => {
            let id = c.live_id.clone();
            match &id {
                Some(id) => p.line(&c.address, &format!("Destroying... [id={}]", short(id))),
                None => p.line(&c.address, "Forgetting (already gone)..."),
            }
            if let Some(id) = id.as_ref().filter(|_| !c.keep_object) {
                ops::remove(&shared.engine, c.kind, id, &c.name).await.map_err(|e| e.to_string())?;
            }
            if c.keep_object {
                p.line(&c.address, "Kept on Docker (it holds savepoints); forgotten from state");
            }
            save(shared, |s| s.remove(&c.address))?;
            p.line(&c.address, &format!("Destruction complete after {}s", started.elapsed().as_secs()));
        }
        OpKind::Create => {
            let d = c.desired.as_ref().ok_or("internal: create without a desired instance")?;
            p.line(&c.address, "Creating...");
            let (id, inspected) = create(shared, d).await?;
            // Recorded before the readiness wait (its own operation): a crash during the wait
            // leaves it owned, not orphaned.
            save(shared, |s| s.put(record(d, &id, inspected.ports.clone())))?;
            if d.readiness != Readiness::None {
                hand_over(shared, &c.address, inspected);
            }
            let done =
                if d.readiness == Readiness::None { "Creation complete" } else { "Created, waiting until ready" };
            p.line(&c.address, &format!("{done} after {}s [id={}]", started.elapsed().as_secs(), short(&id)));
        }
        OpKind::Start => {
            let d = c.desired.as_ref().ok_or("internal: start without a desired instance")?;
            let id = c.live_id.clone().unwrap_or_else(|| d.name.clone());
            p.line(&c.address, "Starting...");
            let (id, inspected) = match ops::start(&shared.engine, &id).await {
                Ok(()) => (id.clone(), ops::inspect(&shared.engine, &id).await.map_err(|e| e.to_string())?),
                // Gone since the plan looked (the engine rolls back a create whose client was
                // killed): made afresh instead.
                Err(e) if e.is_not_found() => create(shared, d).await?,
                Err(e) => return Err(e.to_string()),
            };
            save(shared, |s| s.put(record(d, &id, inspected.ports.clone())))?;
            if d.readiness == Readiness::None {
                p.line(&c.address, &format!("Start complete after {}s", started.elapsed().as_secs()));
            } else {
                hand_over(shared, &c.address, inspected);
            }
        }
        OpKind::Ready => {
            let d = c.desired.as_ref().ok_or("internal: readiness without a desired instance")?;
            let id = shared
                .state
                .lock()
                .ok()
                .and_then(|s| s.0.resource(&c.address).map(|r| r.id.clone()))
                .unwrap_or_else(|| d.name.clone());
            let handed = shared.inspected.lock().ok().and_then(|mut m| m.remove(&c.address));
            let inspected = match handed {
                Some(i) => i,
                None => ops::inspect(&shared.engine, &id).await.map_err(|e| e.to_string())?,
            };
            let verb = if c.action == Action::Start { "starting" } else { "creating" };
            wait_ready(shared, d, &id, &inspected, started, verb).await?;
            let done = if c.action == Action::Start { "Start complete" } else { "Creation complete" };
            p.line(&c.address, &format!("{done} after {}s [id={}]", started.elapsed().as_secs(), short(&id)));
        }
    }
    Ok(())
}

/// Creates the object (a container: from its image, started) and inspects a container once.
async fn create(shared: &Shared, d: &Instance) -> Result<(String, Inspected), String> {
    let labels = labels(shared, d);
    let created = match &d.spec {
        Spec::Network { driver } => (
            ops::create_network(&shared.engine, &d.name, driver, &labels).await.map_err(|e| e.to_string())?,
            Inspected::default(),
        ),
        Spec::Volume { driver } => (
            ops::create_volume(&shared.engine, &d.name, driver, &labels).await.map_err(|e| e.to_string())?,
            Inspected::default(),
        ),
        Spec::Job(_) => return Err("internal: a job reached the container path".into()),
        Spec::Container(spec) => {
            let image = shared
                .images
                .lock()
                .map_err(|_| "image cache poisoned")?
                .entry(spec.image.clone())
                .or_default()
                .clone();
            let ensure = || async { ops::ensure_image(&shared.engine, &spec.image).await.map_err(|e| e.to_string()) };
            image.get_or_init(ensure).await.clone()?;
            let id = ops::create_container(&shared.engine, &d.name, spec, &labels).await.map_err(|e| e.to_string())?;
            // The inspect tells the host ports the engine chose and what the readiness wait
            // starts from; a container with neither has nothing in it to read.
            let inspected = if spec.ports.is_empty() && d.readiness == Readiness::None {
                Inspected::default()
            } else {
                ops::inspect(&shared.engine, &id).await.map_err(|e| e.to_string())?
            };
            (id, inspected)
        }
    };
    Ok(created)
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
        (docker::LABEL_MANAGED.to_string(), "true".to_string()),
        (docker::LABEL_PROJECT.to_string(), shared.project.clone()),
        (docker::LABEL_ADDRESS.to_string(), d.address.clone()),
        (docker::LABEL_LINEAGE.to_string(), lineage),
        (docker::LABEL_HASH.to_string(), d.config_hash.clone()),
    ])
}

pub(crate) fn save(shared: &Shared, f: impl FnOnce(&mut State)) -> Result<(), String> {
    let mut guard = shared.state.lock().map_err(|_| "state lock poisoned".to_string())?;
    let (state, writer) = &mut *guard;
    f(state);
    writer.save(state).map_err(|e| e.to_string())
}

/// The longest one readiness probe may take before it counts as "not ready yet".
const PROBE_TIMEOUT: Duration = Duration::from_secs(6);

/// ZooKeeper's `srvr` over bash's /dev/tcp (the official image has no nc). Each read waits at
/// most 3 s, so the probe ends inside the container too when ZooKeeper accepts and stays silent.
const ZOOKEEPER_PROBE: &str =
    "exec 3<>/dev/tcp/127.0.0.1/2181 && printf srvr >&3 && while IFS= read -r -t 3 line <&3; do echo \"$line\"; done";

async fn wait_ready(
    shared: &Shared,
    d: &Instance,
    id: &str,
    at_start: &Inspected,
    started: Instant,
    verb: &str,
) -> Result<(), String> {
    let (timeout, what) = match d.readiness {
        Readiness::None => return Ok(()),
        Readiness::Zookeeper => (Duration::from_secs(90), "ZooKeeper to answer `srvr`"),
        Readiness::FlinkRest => (Duration::from_secs(180), "the JobManager to serve GET /overview"),
        Readiness::TaskManagerRegistered => {
            (Duration::from_secs(180), "the TaskManager to register with the JobManager")
        }
        Readiness::Healthy => (Duration::from_secs(300), "its healthcheck to report healthy"),
    };
    let Spec::Container(spec) = &d.spec else { return Ok(()) };
    let rest_url = match (at_start.ports.get("8081/tcp"), spec.ports.first()) {
        (Some(port), Some(p)) => Some(crate::names::rest_url(&p.host_ip, *port)),
        _ if d.readiness == Readiness::FlinkRest => {
            return Err(format!("{}: the JobManager publishes no REST port", d.address));
        }
        _ => None,
    };
    let wait_start = Instant::now();
    let mut last_note = Instant::now();
    let mut last_check = Instant::now();
    loop {
        // One attempt never outlives PROBE_TIMEOUT: a probe that hangs (a ZooKeeper still
        // starting can accept `srvr` and never answer) counts as "not ready yet", so the wait's
        // own timeout and crash checks still apply.
        let probe = async {
            match d.readiness {
                Readiness::Zookeeper => ops::exec_output(&shared.engine, id, &["bash", "-c", ZOOKEEPER_PROBE])
                    .await
                    .is_ok_and(|o| o.contains("Mode:")),
                Readiness::FlinkRest => match &rest_url {
                    Some(url) => FlinkRest::new(url.clone()).overview().await.is_ok(),
                    None => false,
                },
                Readiness::TaskManagerRegistered => {
                    let urls = jobmanager_urls(shared, &d.cluster);
                    let mut found = false;
                    for url in urls {
                        // This container's registration: its id, from its own IP (not a stale entry
                        // of the container it replaced, which had the same id), with its slots
                        // reported (they arrive just after the registration itself).
                        let slots: u64 = d.attributes.get("slots").and_then(|s| s.parse().ok()).unwrap_or(1);
                        let tms = FlinkRest::new(url).taskmanagers().await.unwrap_or_default();
                        if tms.iter().any(|t| {
                            t.id == d.name
                                && t.slots == slots
                                && at_start.ips.iter().any(|ip| t.path.contains(&format!("@{ip}:")))
                        }) {
                            found = true;
                            break;
                        }
                    }
                    found
                }
                Readiness::Healthy => {
                    ops::inspect(&shared.engine, id).await.is_ok_and(|i| i.health.as_deref() == Some("healthy"))
                }
                Readiness::None => true,
            }
        };
        let ready = tokio::time::timeout(PROBE_TIMEOUT, probe).await.unwrap_or(false);
        if ready {
            return Ok(());
        }
        // Every few seconds: has it died, or is Docker restarting it in a loop? Then fail now.
        let mut crashed = None;
        if last_check.elapsed() > Duration::from_secs(3) {
            last_check = Instant::now();
            crashed = match ops::inspect(&shared.engine, id).await {
                Ok(i) if !i.running => Some("has exited".to_string()),
                Ok(i) if i.restarts > at_start.restarts => {
                    Some(format!("crashed and was restarted {} time(s)", i.restarts - at_start.restarts))
                }
                Ok(_) => None,
                Err(e) => Some(format!("cannot be inspected ({e})")),
            };
        }
        if crashed.is_some() || wait_start.elapsed() > timeout {
            let logs = ops::last_log_lines(&shared.engine, id, 5).await;
            let what_happened =
                crashed.unwrap_or_else(|| format!("did not become ready within {}s", timeout.as_secs()));
            return Err(format!(
                "container {} {what_happened} while waiting for {what}. Last log lines:\n{}",
                d.name,
                if logs.is_empty() { "(none)".to_string() } else { logs }
            ));
        }
        if last_note.elapsed() >= Duration::from_secs(10) {
            last_note = Instant::now();
            shared.printer.line(
                &d.address,
                &format!("Still {verb}... [{}s elapsed, waiting for {what}]", started.elapsed().as_secs()),
            );
        }
        // Each check is one local request; a short pause keeps the wait close to the moment
        // Flink is ready (a TaskManager's slots show up within a second of its registration).
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// REST URLs of a cluster's JobManagers, from the state (ports are recorded as created).
pub(crate) fn jobmanager_urls(shared: &Shared, cluster: &str) -> Vec<String> {
    let prefix = format!("{cluster}.jobmanager[");
    let guard = match shared.state.lock() {
        Ok(g) => g,
        Err(_) => return Vec::new(),
    };
    guard
        .0
        .resources
        .iter()
        .filter(|r| r.address.starts_with(&prefix) && r.kind == Kind::Container)
        .filter_map(|r| {
            let port = r.ports.get("8081/tcp")?;
            let bind = r.attributes.get("port.8081").and_then(|v| v.split(':').next()).unwrap_or("127.0.0.1");
            Some(crate::names::rest_url(bind, *port))
        })
        .collect()
}
