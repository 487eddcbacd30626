//! The Docker operations apply performs, one API call each where possible: create/remove
//! networks, volumes and containers, start, read back published ports, run a probe command,
//! read the last log lines for error messages.

use super::{CALL, DockerError, Engine, is_conflict, is_not_found, within};
use crate::config::PullPolicy;
use crate::model::{ContainerSpec, Kind};
use crate::names::{LABEL_ADDRESS, LABEL_HASH, LABEL_LINEAGE, LABEL_PROJECT};
use bollard::models::{
    ContainerCreateBody, HostConfig, NetworkConnectRequest, NetworkCreateRequest, PortBinding, RestartPolicy,
    RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveVolumeOptions, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};

pub async fn create_network(
    engine: &Engine,
    name: &str,
    driver: &str,
    labels: &BTreeMap<String, String>,
) -> Result<String, DockerError> {
    tracing::debug!(name, driver, "engine: create network");
    within(|| format!("creating network {name}"), CALL, create_network_now(engine, name, driver, labels)).await
}

async fn create_network_now(
    engine: &Engine,
    name: &str,
    driver: &str,
    labels: &BTreeMap<String, String>,
) -> Result<String, DockerError> {
    // Docker allows two networks with one name. A killed run's create may still land after
    // this run looked: one that is exactly ours is used, and a duplicate made in that race is
    // removed again, so containers never meet an ambiguous network name.
    let ours = |l: &Option<HashMap<String, String>>| {
        let l = l.clone().unwrap_or_default();
        [LABEL_PROJECT, LABEL_ADDRESS, LABEL_HASH, LABEL_LINEAGE]
            .iter()
            .all(|k| l.contains_key(*k) && l.get(*k) == labels.get(*k))
    };
    let same_name = || async {
        let filters = HashMap::from([("name", vec![format!("^{name}$")])]);
        let opts = bollard::query_parameters::ListNetworksOptionsBuilder::new().filters(&filters).build();
        engine
            .docker
            .list_networks(Some(opts))
            .await
            .map(|v| v.into_iter().filter(|n| n.name.as_deref() == Some(name)).collect::<Vec<_>>())
    };
    let listing = |e| DockerError::api(format!("listing networks named {name}"))(e);
    if let Some(existing) = same_name().await.map_err(listing)?.into_iter().find(|n| ours(&n.labels)) {
        return Ok(existing.id.unwrap_or_default());
    }
    let req = NetworkCreateRequest {
        name: name.to_string(),
        driver: Some(driver.into()),
        // A swarm's overlay is attachable: flinkform's own short-lived containers (the TLS
        // writer) and users' debugging containers can join it.
        attachable: (driver == "overlay").then_some(true),
        labels: Some(labels.clone().into_iter().collect()),
        ..Default::default()
    };
    let resp = engine.docker.create_network(req).await.map_err(DockerError::api(format!("creating network {name}")))?;
    let mut mine: Vec<_> = same_name().await.map_err(listing)?.into_iter().filter(|n| ours(&n.labels)).collect();
    if mine.len() > 1 {
        mine.sort_by_key(|n| (n.created.clone(), n.id.clone()));
        let keep = mine[0].id.clone().unwrap_or_default();
        for n in mine.iter().skip(1) {
            if let Some(id) = &n.id {
                let _ = engine.docker.remove_network(id).await;
            }
        }
        return Ok(keep);
    }
    Ok(resp.id)
}

pub async fn create_volume(
    engine: &Engine,
    name: &str,
    driver: &str,
    labels: &BTreeMap<String, String>,
) -> Result<String, DockerError> {
    tracing::debug!(name, driver, "engine: create volume");
    let req = VolumeCreateRequest {
        name: Some(name.to_string()),
        driver: Some(driver.into()),
        labels: Some(labels.clone().into_iter().collect()),
        ..Default::default()
    };
    let call =
        async { engine.docker.create_volume(req).await.map_err(DockerError::api(format!("creating volume {name}"))) };
    Ok(within(|| format!("creating volume {name}"), CALL, call).await?.name)
}

/// A removal stops the container first (up to 10 s) and may wait for the engine's own removal.
const REMOVAL: std::time::Duration = std::time::Duration::from_secs(90);
/// How long a pull may go without progress (a pull as such may take long on a slow link).
const PULL_STALL: std::time::Duration = std::time::Duration::from_secs(60);

/// Makes sure `image` is present, as `pull` says: used when local (`missing`, `always` — whose
/// pull the plan's observation made), pulled when absent, or never pulled (`never`: an absent
/// image is an error naming the policy).
pub async fn ensure_image(engine: &Engine, image: &str, pull: PullPolicy) -> Result<(), DockerError> {
    tracing::debug!(image, ?pull, "engine: inspect image (pull when absent)");
    if engine.docker.inspect_image(image).await.is_ok() {
        return Ok(());
    }
    if pull == PullPolicy::Never {
        return Err(DockerError::ImageMissing {
            image: image.into(),
            detail: "pull = \"never\" and the engine does not have it".into(),
        });
    }
    pull_image(engine, image).await
}

/// Pulls `image` with the credentials the docker CLI would use for its registry.
pub async fn pull_image(engine: &Engine, image: &str) -> Result<(), DockerError> {
    tracing::debug!(image, "engine: pull");
    let config_dir = super::endpoint::Inputs::from_process().config_dir;
    let missing = |detail: String| DockerError::ImageMissing { image: image.into(), detail };
    let credentials = super::auth::credentials(image, config_dir.as_deref()).map_err(missing)?;
    let opts = CreateImageOptionsBuilder::new().from_image(image).build();
    let mut stream = engine.docker.create_image(Some(opts), None, credentials);
    loop {
        let item = tokio::time::timeout(PULL_STALL, stream.next()).await.map_err(|_| DockerError::Deadline {
            what: format!("pulling {image} (no progress)"),
            secs: PULL_STALL.as_secs(),
        })?;
        match item {
            None => break,
            Some(Err(e)) => return Err(missing(e.to_string())),
            Some(Ok(_)) => {}
        }
    }
    engine.docker.inspect_image(image).await.map(|_| ()).map_err(|e| missing(e.to_string()))
}

/// What the engine is asked to create for `spec`, with flinkform's `labels` over the user's.
fn create_body(spec: &ContainerSpec, labels: &BTreeMap<String, String>) -> ContainerCreateBody {
    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &spec.ports {
        port_bindings.insert(
            format!("{}/{}", p.container_port, p.protocol),
            Some(vec![PortBinding {
                host_ip: Some(p.host_ip.clone()),
                host_port: Some(p.host_port.map(|h| h.to_string()).unwrap_or_default()),
            }]),
        );
    }
    let mounts = super::spec::mounts(spec);
    let restart = match spec.restart.as_str() {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        "no" => RestartPolicyNameEnum::NO,
        _ => RestartPolicyNameEnum::UNLESS_STOPPED,
    };
    let healthcheck = super::spec::healthcheck(spec);
    // The user's labels, then flinkform's (which win).
    let mut all_labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    all_labels.extend(labels.clone());
    ContainerCreateBody {
        hostname: Some(spec.hostname.clone()),
        image: Some(spec.image.clone()),
        cmd: (!spec.command.is_empty()).then(|| spec.command.clone()),
        entrypoint: spec.entrypoint.clone(),
        user: spec.user.clone(),
        healthcheck,
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        exposed_ports: Some(spec.ports.iter().map(|p| format!("{}/{}", p.container_port, p.protocol)).collect()),
        labels: Some(all_labels),
        host_config: Some(HostConfig {
            network_mode: (!spec.network.is_empty()).then(|| spec.network.clone()),
            port_bindings: Some(port_bindings),
            mounts: Some(mounts),
            memory: (spec.memory_mib > 0).then_some((spec.memory_mib as i64) * 1024 * 1024),
            restart_policy: Some(RestartPolicy { name: Some(restart), maximum_retry_count: None }),
            security_opt: spec
                .hardening
                .as_ref()
                .filter(|h| h.no_new_privileges)
                .map(|_| vec!["no-new-privileges:true".to_string()]),
            cap_drop: spec.hardening.as_ref().map(|h| h.cap_drop.clone()),
            cap_add: spec.hardening.as_ref().map(|h| h.cap_add.clone()),
            pids_limit: spec.hardening.as_ref().map(|h| h.pids_limit),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Creates and starts a container; returns its id.
pub async fn create_container(
    engine: &Engine,
    name: &str,
    spec: &ContainerSpec,
    labels: &BTreeMap<String, String>,
) -> Result<String, DockerError> {
    // The spec may hold secrets (its environment): only the name and image are logged.
    tracing::debug!(name, image = %spec.image, "engine: create and start container");
    let body = create_body(spec, labels);
    let opts = CreateContainerOptionsBuilder::new().name(name).build();
    let failed = |e| DockerError::api(format!("creating container {name}"))(e);
    let mut attempts = 0;
    let created = loop {
        let create = async { Ok(engine.docker.create_container(Some(opts.clone()), body.clone()).await) };
        match within(|| format!("creating container {name}"), CALL, create).await? {
            Ok(c) => break c,
            Err(e) if is_conflict(&e) => match adopt(engine, name, labels).await {
                Taken::Ours(result) => return result,
                // The name is reserved by a create still running in the engine (sent by a run
                // that was killed): wait for it to finish, then adopt it or create again.
                Taken::NotYetVisible if attempts < 40 => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                _ => return Err(failed(e)),
            },
            Err(e) => return Err(failed(e)),
        }
    };
    let started = async {
        for network in &spec.extra_networks {
            let req = NetworkConnectRequest { container: created.id.clone(), ..Default::default() };
            engine
                .docker
                .connect_network(network, req)
                .await
                .map_err(DockerError::api(format!("connecting container {name} to network {network}")))?;
        }
        start(engine, name).await
    };
    if let Err(e) = started.await {
        // A container that cannot start (a host port taken, a missing network) is removed, so
        // the next apply creates it afresh instead of finding a half-made one.
        let _ = remove(engine, Kind::Container, &created.id, name).await;
        return Err(e);
    }
    Ok(created.id)
}

enum Taken {
    /// Exactly this container (see [`adopt`]): used.
    Ours(Result<String, DockerError>),
    /// Someone else's, or ours with another configuration: the conflict stands.
    Foreign,
    /// The name is reserved but no container answers to it yet.
    NotYetVisible,
}

/// The name is taken. When the container there is exactly this one (same project, address and
/// config-hash labels: created by a run that was killed before it could record it, and not yet
/// visible when this run looked), it is used, started if needed.
async fn adopt(engine: &Engine, name: &str, labels: &BTreeMap<String, String>) -> Taken {
    let info = match engine.docker.inspect_container(name, None).await {
        Ok(info) => info,
        Err(e) if is_not_found(&e) => return Taken::NotYetVisible,
        Err(_) => return Taken::Foreign,
    };
    let have = info.config.as_ref().and_then(|c| c.labels.clone()).unwrap_or_default();
    let same = [LABEL_PROJECT, LABEL_ADDRESS, LABEL_HASH, LABEL_LINEAGE]
        .iter()
        .all(|k| have.contains_key(*k) && have.get(*k) == labels.get(*k));
    if !same {
        return Taken::Foreign;
    }
    let running = info.state.as_ref().and_then(|s| s.running).unwrap_or(false);
    if !running && let Err(e) = start(engine, name).await {
        // Rolled back by the engine meanwhile (its creator was killed): try creating again.
        return if e.is_not_found() { Taken::NotYetVisible } else { Taken::Ours(Err(e)) };
    }
    Taken::Ours(Ok(info.id.unwrap_or_default()))
}

pub async fn start(engine: &Engine, name: &str) -> Result<(), DockerError> {
    tracing::debug!(name, "engine: start container");
    let call = async {
        engine.docker.start_container(name, None).await.map_err(DockerError::api(format!("starting container {name}")))
    };
    within(|| format!("starting container {name}"), CALL, call).await
}

/// What apply needs to know of a container it just created or started.
#[derive(Debug, Clone, Default)]
pub struct Inspected {
    /// "8081/tcp" → host port.
    pub ports: BTreeMap<String, u16>,
    pub running: bool,
    /// How often Docker restarted it (a crash loop under the restart policy).
    pub restarts: i64,
    /// IP addresses on its networks.
    pub ips: Vec<String>,
    /// Its healthcheck's status (`starting`, `healthy`, `unhealthy`), when it has one.
    pub health: Option<String>,
}

/// Inspects one container (only containers apply has just created or started).
pub async fn inspect(engine: &Engine, name: &str) -> Result<Inspected, DockerError> {
    tracing::debug!(name, "engine: inspect container");
    let info = engine
        .docker
        .inspect_container(name, None)
        .await
        .map_err(DockerError::api(format!("inspecting container {name}")))?;
    let running = info.state.as_ref().and_then(|s| s.running).unwrap_or(false);
    let health = info.state.as_ref().and_then(|s| s.health.as_ref()).and_then(|h| h.status).map(|s| s.to_string());
    let restarts = info.restart_count.unwrap_or(0);
    let settings = info.network_settings.unwrap_or_default();
    let ips = settings
        .networks
        .unwrap_or_default()
        .into_values()
        .filter_map(|n| n.ip_address.filter(|ip| !ip.is_empty()))
        .collect();
    let mut out = BTreeMap::new();
    for (port, bindings) in settings.ports.unwrap_or_default() {
        if let Some(b) = bindings.and_then(|b| b.into_iter().next())
            && let Some(p) = b.host_port.and_then(|p| p.parse().ok())
        {
            out.insert(port, p);
        }
    }
    Ok(Inspected { ports: out, running, restarts, ips, health })
}

/// Removes an object by id (a missing one counts as removed). Containers get a graceful stop first.
pub async fn remove(engine: &Engine, kind: Kind, id: &str, name: &str) -> Result<(), DockerError> {
    tracing::debug!(kind = kind.as_str(), name, id, "engine: remove");
    within(|| format!("removing {} {name}", kind.as_str()), REMOVAL, remove_now(engine, kind, id, name)).await
}

async fn remove_now(engine: &Engine, kind: Kind, id: &str, name: &str) -> Result<(), DockerError> {
    let d = &engine.docker;
    let result = match kind {
        Kind::Container => {
            let _ = d.stop_container(id, Some(StopContainerOptionsBuilder::new().t(10).build())).await;
            d.remove_container(id, Some(RemoveContainerOptionsBuilder::new().force(true).v(true).build())).await
        }
        Kind::Network => return remove_network(engine, id, name).await,
        Kind::Volume => d.remove_volume(id, None::<RemoveVolumeOptions>).await,
        Kind::Service => return super::swarm::remove_service(engine, id, name).await,
        Kind::Secret => d.delete_secret(id).await,
        Kind::Job => return Ok(()),
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        // A removal another client (a run that was killed) asked for is still under way: it is
        // this one's too, once the object is gone.
        Err(e) if kind == Kind::Container && removal_in_progress(&e) => wait_gone(engine, id, name).await,
        Err(e) => Err(DockerError::Api { what: format!("removing {} {name}", kind.as_str()), source: e }),
    }
}

/// Removes a network. The engine releases a removed container's endpoint a moment after the
/// container is gone (and a run killed mid-removal leaves that release to the engine), so a
/// network that still "has active endpoints" is asked again for a while before it is an error,
/// and the error names what is still attached.
async fn remove_network(engine: &Engine, id: &str, name: &str) -> Result<(), DockerError> {
    let deadline = std::time::Instant::now() + ENDPOINTS_RELEASED;
    loop {
        match engine.docker.remove_network(id).await {
            Ok(()) => return Ok(()),
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) if has_active_endpoints(&e) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await
            }
            Err(e) if has_active_endpoints(&e) => {
                return Err(DockerError::NetworkInUse { name: name.into(), attached: attached(engine, id).await });
            }
            Err(e) => return Err(DockerError::Api { what: format!("removing network {name}"), source: e }),
        }
    }
}

/// How long a network's endpoints may take to be released after their containers are gone.
const ENDPOINTS_RELEASED: std::time::Duration = std::time::Duration::from_secs(15);

fn has_active_endpoints(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 403, message }
        if message.contains("active endpoints"))
}

/// The names of the containers the engine says are attached to the network (sorted).
async fn attached(engine: &Engine, id: &str) -> Vec<String> {
    let network = engine.docker.inspect_network(id, None).await.ok();
    let mut names: Vec<String> = network
        .and_then(|n| n.containers)
        .unwrap_or_default()
        .into_iter()
        .map(|(id, c)| c.name.unwrap_or(id))
        .collect();
    names.sort();
    names
}

fn removal_in_progress(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 409, message }
        if message.contains("already in progress"))
}

/// Waits (up to a minute) until the container is gone.
async fn wait_gone(engine: &Engine, id: &str, name: &str) -> Result<(), DockerError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match engine.docker.inspect_container(id, None).await {
            Err(e) if is_not_found(&e) => return Ok(()),
            _ if std::time::Instant::now() > deadline => {
                return Err(DockerError::Other(format!(
                    "container {name} is still being removed by the engine after 60s; run apply again once it is gone"
                )));
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}

/// Runs a command in a container and returns its output (for probes such as ZooKeeper's `srvr`).
pub async fn exec_output(engine: &Engine, name: &str, cmd: &[&str]) -> Result<String, DockerError> {
    tracing::debug!(name, "engine: exec probe");
    use bollard::exec::{CreateExecOptions, StartExecResults};
    let d = &engine.docker;
    let exec = d
        .create_exec(
            name,
            CreateExecOptions {
                cmd: Some(cmd.to_vec()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .map_err(DockerError::api(format!("running a probe in {name}")))?;
    let mut out = String::new();
    if let StartExecResults::Attached { mut output, .. } =
        d.start_exec(&exec.id, None).await.map_err(DockerError::api(format!("running a probe in {name}")))?
    {
        while let Some(Ok(chunk)) = output.next().await {
            out.push_str(&chunk.to_string());
        }
    }
    Ok(out)
}

/// The last lines a container logged (for readiness errors), without Java stack frames so an
/// exception's message and causes are what remains.
pub async fn last_log_lines(engine: &Engine, name: &str, lines: usize) -> String {
    let opts = LogsOptionsBuilder::new().stdout(true).stderr(true).tail("200").build();
    let mut stream = engine.docker.logs(name, Some(opts));
    let mut out = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        out.push_str(&chunk.to_string());
    }
    let meaningful: Vec<&str> = out
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            let stack_frame = t.starts_with("at ") || (t.starts_with("...") && t.ends_with("more"));
            !t.is_empty() && !stack_frame
        })
        .collect();
    meaningful[meaningful.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15, item 7: an engine call that never answers ends at its deadline, named. The
    /// clock is paused and advanced by the runtime: the test waits for nothing.
    #[tokio::test(start_paused = true)]
    async fn a_call_past_its_deadline_is_an_error_naming_it() {
        let hung = std::future::pending::<Result<(), DockerError>>();
        let err = within(|| "creating container p-c-0".into(), CALL, hung).await.unwrap_err();
        assert!(matches!(err, DockerError::Deadline { secs: 60, .. }), "{err}");
        assert!(err.to_string().starts_with("creating container p-c-0: the engine did not answer within 60s"), "{err}");
        let quick = within(|| unreachable!(), CALL, async { Ok::<_, DockerError>(7) }).await.unwrap();
        assert_eq!(quick, 7);
    }
}
