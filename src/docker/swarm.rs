//! The swarm operations apply performs and the lists observation reads: create, scale and
//! remove a service, list the project's services and the running tasks. A service carries
//! flinkform's labels; its tasks' containers carry only the user's (the swarm adds its own),
//! so a task's container is never mistaken for a container flinkform made.

use super::nodes::Nodes;
use super::secrets::{
    LiveSecret, SecretFile, ensure_secrets, reading_secrets, remove_secrets, remove_secrets_where,
    remove_unused_secrets, secret_ids,
};
pub use super::swarm_read::LiveTask;
use super::swarm_read::{self, running_by_service};
use super::via::Via;
use super::{CALL, is_not_found, within};
use super::{DockerError, Engine};
use crate::config::{FailureAction, RollingUpdate, UpdateOrder};
use crate::model::swarm::ServiceSpec;
use crate::names::LABEL_PROJECT;
use bollard::models::{
    EndpointPortConfig, EndpointPortConfigPublishModeEnum, EndpointSpec, EndpointSpecModeEnum, Limit,
    NetworkAttachmentConfig, ServiceSpecMode, ServiceSpecModeReplicated, ServiceSpecUpdateConfig,
    ServiceSpecUpdateConfigFailureActionEnum, ServiceSpecUpdateConfigOrderEnum, ServiceUpdateStatusStateEnum, TaskSpec,
    TaskSpecContainerSpec, TaskSpecPlacement, TaskSpecPlacementPreferences, TaskSpecPlacementSpread, TaskSpecResources,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use bollard::query_parameters::{ListSecretsOptionsBuilder, ListServicesOptionsBuilder, ListTasksOptionsBuilder};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// A service as observed: its spec's labels and replicas, and its running tasks.
#[derive(Debug, Clone)]
pub struct LiveService {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub replicas: u64,
    /// Its update settings, as flinkform reads them (None: not ones it sets).
    pub rolling: Option<RollingUpdate>,
    /// The fields of its spec changed since flinkform sent it (`docker service update`).
    pub changed_outside: Vec<String>,
    pub tasks: Vec<LiveTask>,
}

/// What one look at a swarm shows of a project.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    pub services: Vec<LiveService>,
    /// Where the tasks run and how their ports are reached.
    pub nodes: Nodes,
    /// The project's secrets that no service of it mounts: left by a run stopped between
    /// creating a service's secrets and the service (or its new spec).
    pub unused_secrets: Vec<LiveSecret>,
}

/// The project's services and their running tasks, its secrets, and the swarm's nodes: one
/// call for each list, made together.
pub async fn list(via: Via<'_>, project: &str) -> Result<Listed, DockerError> {
    let labelled = HashMap::from([("label", vec![format!("{LABEL_PROJECT}={project}")])]);
    let running = HashMap::from([("desired-state", vec!["running".to_string()])]);
    let (by_label, by_state) = (json(&labelled), json(&running));
    let (by_label, by_state) = ([("filters", by_label.as_str())], [("filters", by_state.as_str())]);
    // The services are read (their specs digested) as soon as they answer, while the other
    // lists are still on their way.
    let services = async {
        let services: Vec<swarm_read::Service> = via
            .get("listing services", "/services", &by_label, |d| {
                let services = d.list_services(Some(ListServicesOptionsBuilder::new().filters(&labelled).build()));
                async { services.await.map(|v| v.into_iter().map(swarm_read::Service::from).collect()) }
            })
            .await?;
        let mut mounted = std::collections::BTreeSet::new();
        let services: Vec<LiveService> = services
            .into_iter()
            .map(|s| {
                let (id, spec) = (s.id, s.spec);
                mounted.extend(secret_ids(&spec));
                let changed_outside = super::spec_digest::changed_outside(&spec);
                let replicas = spec.mode.and_then(|m| m.replicated).and_then(|r| r.replicas).unwrap_or(0).max(0) as u64;
                LiveService {
                    id,
                    name: spec.name.unwrap_or_default(),
                    labels: spec.labels.unwrap_or_default().into_iter().collect(),
                    replicas,
                    rolling: spec.update_config.as_ref().and_then(rolling_of),
                    changed_outside,
                    tasks: Vec::new(),
                }
            })
            .collect();
        Ok::<_, DockerError>((services, mounted))
    };
    let (services, tasks, secrets, nodes) = tokio::join!(
        services,
        via.get("listing tasks", "/tasks", &by_state, |d| {
            let tasks = d.list_tasks(Some(ListTasksOptionsBuilder::new().filters(&running).build()));
            async { tasks.await.map(|v| v.into_iter().map(swarm_read::Task::from).collect()) }
        }),
        via.get("listing secrets", "/secrets", &by_label, |d| {
            d.list_secrets(Some(ListSecretsOptionsBuilder::new().filters(&labelled).build()))
        }),
        Nodes::list(via),
    );
    tracing::debug!("engine: swarm lists answered");
    let (mut services, mounted) = services?;
    let mut by_service = running_by_service(tasks?);
    for s in &mut services {
        s.tasks = by_service.remove(&s.id).unwrap_or_default();
    }
    let secrets: Vec<bollard::models::Secret> = secrets?;
    let unused_secrets = secrets
        .into_iter()
        .filter_map(|s| {
            let id = s.id?;
            let spec = s.spec.unwrap_or_default();
            let name = spec.name.unwrap_or_default();
            let labels = spec.labels.unwrap_or_default().into_iter().collect();
            (!mounted.contains(&id)).then_some(LiveSecret { id, name, labels })
        })
        .collect();
    Ok(Listed { services, nodes: nodes?, unused_secrets })
}

fn json(filters: &HashMap<&str, Vec<String>>) -> String {
    serde_json::to_string(filters).expect("a map of strings serializes")
}

/// What flinkform sends for one service: its name, spec, secret files and labels.
pub struct ServiceRequest<'a> {
    pub name: &'a str,
    pub spec: &'a ServiceSpec,
    pub files: &'a [SecretFile],
    pub labels: &'a BTreeMap<String, String>,
}

/// Creates the service; returns its id.
pub async fn create_service(engine: &Engine, r: &ServiceRequest<'_>) -> Result<String, DockerError> {
    let name = r.name;
    // The spec may hold secrets (its environment): only the name and image are logged.
    tracing::debug!(name, image = %r.spec.task.image, replicas = r.spec.replicas, "engine: create service");
    let body = full_spec(engine, r).await?;
    let used: std::collections::BTreeSet<String> = secret_ids(&body).collect();
    let call = async {
        engine.docker.create_service(body, None).await.map_err(DockerError::api(format!("creating service {name}")))
    };
    let created = within(|| format!("creating service {name}"), CALL, call).await?;
    // Secrets an earlier, interrupted creation made for another configuration of it.
    remove_secrets_where(engine, name, |id| !used.contains(id)).await?;
    Ok(created.id.unwrap_or_default())
}

/// The spec sent to the engine, its secrets created and read into the environment, stamped
/// with the digests of what it sets.
async fn full_spec(engine: &Engine, r: &ServiceRequest<'_>) -> Result<bollard::models::ServiceSpec, DockerError> {
    let mut body = with_secrets(engine, r).await?;
    super::spec_digest::stamp(&mut body);
    Ok(body)
}

async fn with_secrets(engine: &Engine, r: &ServiceRequest<'_>) -> Result<bollard::models::ServiceSpec, DockerError> {
    let ServiceRequest { name, spec, files, labels } = *r;
    let mut body = service_spec(name, spec, labels);
    if spec.secrets.is_empty() && files.is_empty() {
        return Ok(body);
    }
    let mounted = ensure_secrets(engine, name, &spec.secrets, files, labels).await?;
    let reading = match spec.secrets.is_empty() {
        true => None,
        false => Some(reading_secrets(engine, spec).await?),
    };
    if let Some(c) = body.task_template.as_mut().and_then(|t| t.container_spec.as_mut()) {
        c.secrets = Some(mounted);
        if let Some((command, args)) = reading {
            c.command = Some(command);
            c.args = Some(args);
        }
    }
    Ok(body)
}

/// How a rolling update ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rolled {
    /// Every task runs the new spec.
    Completed,
    /// A new task failed; the swarm put the previous spec back (or paused): its message.
    Failed(String),
}

/// Sends the service's new spec (same id, same name): the swarm replaces its tasks as the
/// spec's update settings say. Returns once the update has ended, calling `progress` with the
/// swarm's message every `note` while it runs. Secrets the spec it ends with no longer mounts
/// go after (not when paused: tasks of both specs run).
pub async fn roll_service(
    engine: &Engine,
    id: &str,
    r: &ServiceRequest<'_>,
    timeout: Duration,
    progress: impl Fn(&str),
) -> Result<Rolled, DockerError> {
    let name = r.name;
    tracing::debug!(name, image = %r.spec.task.image, "engine: rolling update of service");
    let failed = || DockerError::api(format!("updating service {name}"));
    let live = engine.docker.inspect_service(id, None).await.map_err(failed())?;
    let version = live.version.and_then(|v| v.index).unwrap_or_default();
    let before = format!("{:?}", live.update_status.as_ref().and_then(|u| u.started_at.clone()));
    let previous = live.spec;
    let body = full_spec(engine, r).await?;
    let opts = bollard::query_parameters::UpdateServiceOptionsBuilder::new().version(version as i32).build();
    let call = async { engine.docker.update_service(id, body, opts, None).await.map_err(failed()) };
    within(|| format!("updating service {name}"), CALL, call).await?;
    let started = std::time::Instant::now();
    let mut last_note = started;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let live = engine.docker.inspect_service(id, None).await.map_err(failed())?;
        let status = live.update_status.as_ref().filter(|u| format!("{:?}", u.started_at) != before);
        let message = status.and_then(|u| u.message.clone()).unwrap_or_default();
        // The swarm replaces tasks only when what they run changed (the task template, the
        // published ports): a spec that changed nothing of theirs starts no update, and one
        // that changed only placement none where every task's node still fits.
        let quiet = match replaces_tasks(previous.as_ref(), live.spec.as_ref()) {
            Replaces::Yes => false,
            Replaces::Maybe => started.elapsed() > Duration::from_secs(10),
            Replaces::No => true,
        };
        use ServiceUpdateStatusStateEnum as S;
        let ended = match status.and_then(|u| u.state) {
            Some(S::COMPLETED) => Some(Rolled::Completed),
            Some(S::PAUSED | S::ROLLBACK_COMPLETED | S::ROLLBACK_PAUSED) => Some(Rolled::Failed(message.clone())),
            None if quiet => Some(Rolled::Completed),
            _ => None,
        };
        if let Some(ended) = ended {
            // A paused update leaves tasks of both specs running: every secret is still in use.
            if !matches!(status.and_then(|u| u.state), Some(S::PAUSED | S::ROLLBACK_PAUSED)) {
                remove_unused_secrets(engine, &live, name).await?;
            }
            return Ok(ended);
        }
        if started.elapsed() > timeout {
            return Err(DockerError::Other(format!(
                "the rolling update of service {name} did not end within {}s ({message}); see `docker service ps {name}`",
                timeout.as_secs()
            )));
        }
        if last_note.elapsed() >= Duration::from_secs(10) {
            last_note = std::time::Instant::now();
            progress(&message);
        }
    }
}

/// Whether a spec change replaces the service's tasks (both specs as the engine returns them,
/// defaults filled in, so an unchanged part compares equal): the swarm starts an update when
/// the task template or the published ports differ — except that a task whose node still
/// satisfies changed placement settings is kept.
fn replaces_tasks(
    previous: Option<&bollard::models::ServiceSpec>,
    now: Option<&bollard::models::ServiceSpec>,
) -> Replaces {
    let (Some(previous), Some(now)) = (previous, now) else { return Replaces::Yes };
    let unplaced =
        |s: &bollard::models::ServiceSpec| s.task_template.clone().map(|t| TaskSpec { placement: None, ..t });
    if now.endpoint_spec != previous.endpoint_spec || unplaced(now) != unplaced(previous) {
        Replaces::Yes
    } else if now.task_template != previous.task_template {
        Replaces::Maybe
    } else {
        Replaces::No
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replaces {
    Yes,
    /// Only placement changed: the swarm moves a task only where its node no longer fits.
    Maybe,
    No,
}

/// Sets the service's replicas and update settings, keeping everything else of its spec (and
/// its running tasks).
pub async fn update_in_place(
    engine: &Engine,
    id: &str,
    name: &str,
    replicas: u64,
    rolling: Option<RollingUpdate>,
) -> Result<(), DockerError> {
    tracing::debug!(name, replicas, "engine: update service in place");
    let call = async {
        let failed = || DockerError::api(format!("updating service {name}"));
        let live = engine.docker.inspect_service(id, None).await.map_err(failed())?;
        let version = live.version.and_then(|v| v.index).unwrap_or_default();
        let mut spec = live.spec.unwrap_or_default();
        spec.mode = Some(replicated(replicas));
        if let Some(r) = rolling {
            spec.update_config = Some(update_config(&r));
        }
        let opts = bollard::query_parameters::UpdateServiceOptionsBuilder::new().version(version as i32).build();
        engine.docker.update_service(id, spec, opts, None).await.map_err(failed())?;
        Ok(())
    };
    within(|| format!("updating service {name}"), CALL, call).await
}

const NANOS: i64 = 1_000_000_000;

fn update_config(r: &RollingUpdate) -> ServiceSpecUpdateConfig {
    ServiceSpecUpdateConfig {
        parallelism: Some(r.parallelism as i64),
        delay: Some(r.delay_s as i64 * NANOS),
        monitor: Some(r.monitor_s as i64 * NANOS),
        failure_action: Some(match r.failure_action {
            FailureAction::Rollback => ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK,
            FailureAction::Pause => ServiceSpecUpdateConfigFailureActionEnum::PAUSE,
        }),
        order: Some(match r.order {
            UpdateOrder::StopFirst => ServiceSpecUpdateConfigOrderEnum::STOP_FIRST,
            UpdateOrder::StartFirst => ServiceSpecUpdateConfigOrderEnum::START_FIRST,
        }),
        max_failure_ratio: None,
    }
}

/// The update settings flinkform would have sent for `c`, or None when it sends no such.
fn rolling_of(c: &ServiceSpecUpdateConfig) -> Option<RollingUpdate> {
    Some(RollingUpdate {
        parallelism: u64::try_from(c.parallelism.unwrap_or(1)).ok()?,
        order: match c.order {
            Some(ServiceSpecUpdateConfigOrderEnum::START_FIRST) => UpdateOrder::StartFirst,
            _ => UpdateOrder::StopFirst,
        },
        delay_s: u64::try_from(c.delay.unwrap_or(0) / NANOS).ok()?,
        monitor_s: u64::try_from(c.monitor.unwrap_or(0) / NANOS).ok()?,
        failure_action: match c.failure_action {
            Some(ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK) => FailureAction::Rollback,
            Some(ServiceSpecUpdateConfigFailureActionEnum::PAUSE) => FailureAction::Pause,
            _ => return None,
        },
    })
}

/// Removes the service (a missing one counts as removed) and waits until its tasks' containers
/// are gone, so that its network and volumes can be removed after it.
pub async fn remove_service(engine: &Engine, id: &str, name: &str) -> Result<(), DockerError> {
    tracing::debug!(name, id, "engine: remove service");
    match engine.docker.delete_service(id).await {
        Ok(()) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(DockerError::Api { what: format!("removing service {name}"), source: e }),
    }
    let filters = HashMap::from([("label", vec![format!("com.docker.swarm.service.id={id}")])]);
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::new().all(true).filters(&filters).build();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let left = engine.docker.list_containers(Some(opts.clone())).await.map(|c| c.len()).unwrap_or(0);
        if left == 0 {
            return remove_secrets(engine, name).await;
        }
        if std::time::Instant::now() > deadline {
            return Err(DockerError::Other(format!(
                "service {name} is removed, but {left} of its containers are still stopping after 90s; run apply again once they are gone"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The running tasks of one service (a readiness wait asks this until they run).
pub async fn running_tasks(engine: &Engine, id: &str) -> Result<Vec<LiveTask>, DockerError> {
    let filters = HashMap::from([("service", vec![id.to_string()]), ("desired-state", vec!["running".to_string()])]);
    let tasks = engine
        .docker
        .list_tasks(Some(ListTasksOptionsBuilder::new().filters(&filters).build()))
        .await
        .map_err(DockerError::api("listing tasks"))?;
    Ok(running_by_service(tasks.into_iter().map(swarm_read::Task::from).collect()).remove(id).unwrap_or_default())
}

fn replicated(replicas: u64) -> ServiceSpecMode {
    ServiceSpecMode {
        replicated: Some(ServiceSpecModeReplicated { replicas: Some(replicas as i64) }),
        ..Default::default()
    }
}

/// flinkform's service spec in the engine's terms. Names resolve to the tasks themselves
/// (`dnsrr`): Flink's and ZooKeeper's peers connect to each other's addresses, and a virtual
/// IP needs the kernel's IPVS, which not every host has. Ports are published on the task's
/// node (`host` mode), as a single engine publishes them.
fn service_spec(name: &str, spec: &ServiceSpec, labels: &BTreeMap<String, String>) -> bollard::models::ServiceSpec {
    let task = &spec.task;
    let container = TaskSpecContainerSpec {
        image: Some(task.image.clone()),
        labels: Some(task.labels.clone().into_iter().collect()),
        command: task.entrypoint.clone(),
        args: (!task.command.is_empty()).then(|| task.command.clone()),
        hostname: Some(task.hostname.clone()),
        env: Some(task.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        user: task.user.clone(),
        mounts: Some(super::spec::mounts(task)),
        health_check: super::spec::healthcheck(task),
        capability_add: task.hardening.as_ref().map(|h| h.cap_add.clone()),
        capability_drop: task.hardening.as_ref().map(|h| h.cap_drop.clone()),
        ..Default::default()
    };
    let condition = match task.restart.as_str() {
        "no" => TaskSpecRestartPolicyConditionEnum::NONE,
        "on-failure" => TaskSpecRestartPolicyConditionEnum::ON_FAILURE,
        _ => TaskSpecRestartPolicyConditionEnum::ANY,
    };
    let placement = TaskSpecPlacement {
        constraints: (!spec.placement.constraints.is_empty()).then(|| spec.placement.constraints.clone()),
        preferences: spec.placement.spread.as_ref().map(|s| {
            vec![TaskSpecPlacementPreferences {
                spread: Some(TaskSpecPlacementSpread { spread_descriptor: Some(s.clone()) }),
            }]
        }),
        ..Default::default()
    };
    let networks = std::iter::once(&task.network)
        .chain(&task.extra_networks)
        .filter(|n| !n.is_empty())
        .map(|n| NetworkAttachmentConfig { target: Some(n.clone()), ..Default::default() })
        .collect();
    let ports = task
        .ports
        .iter()
        .map(|p| EndpointPortConfig {
            protocol: p.protocol.parse().ok(),
            target_port: Some(i64::from(p.container_port)),
            published_port: p.host_port.map(i64::from),
            publish_mode: Some(EndpointPortConfigPublishModeEnum::HOST),
            ..Default::default()
        })
        .collect();
    bollard::models::ServiceSpec {
        name: Some(name.to_string()),
        labels: Some(labels.clone().into_iter().collect()),
        task_template: Some(TaskSpec {
            container_spec: Some(container),
            resources: Some(TaskSpecResources {
                limits: Some(Limit {
                    memory_bytes: (task.memory_mib > 0).then_some((task.memory_mib as i64) * 1024 * 1024),
                    pids: task.hardening.as_ref().map(|h| h.pids_limit),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            restart_policy: Some(TaskSpecRestartPolicy { condition: Some(condition), ..Default::default() }),
            placement: Some(placement),
            networks: Some(networks),
            ..Default::default()
        }),
        mode: Some(replicated(spec.replicas)),
        update_config: spec.rolling.as_ref().map(update_config),
        endpoint_spec: Some(EndpointSpec { mode: Some(EndpointSpecModeEnum::DNSRR), ports: Some(ports) }),
        ..Default::default()
    }
}
