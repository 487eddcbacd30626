//! Swarm secrets flinkform makes for a service — its sensitive environment values and its
//! TLS keystores — each labelled with the service ([`LABEL_SERVICE`]): created (or found by
//! name, which carries the value's digest) before the service, mounted into its tasks, read
//! into the environment by a shell before the image's entrypoint, and removed with the service
//! or when its spec no longer mounts them.

use super::{DockerError, Engine, is_conflict, is_not_found};
use crate::model::swarm::{SECRETS_DIR, SecretEnv, ServiceSpec};
use crate::names::LABEL_SERVICE;
use bollard::query_parameters::ListSecretsOptionsBuilder;
use std::collections::{BTreeMap, HashMap};

/// A secret flinkform made for a service, as listed.
#[derive(Debug, Clone)]
pub struct LiveSecret {
    pub id: String,
    pub name: String,
    /// Its service's labels, and [`LABEL_SERVICE`]: its service's name.
    pub labels: BTreeMap<String, String>,
}

/// The ids of the secrets a service's spec mounts.
pub(super) fn secret_ids(spec: &bollard::models::ServiceSpec) -> impl Iterator<Item = String> + '_ {
    let secrets = spec.task_template.as_ref().and_then(|t| t.container_spec.as_ref()).and_then(|c| c.secrets.as_ref());
    secrets.into_iter().flatten().filter_map(|s| s.secret_id.clone())
}

/// Removes the secrets made for service `name` that its current spec (`live`, as inspected)
/// does not mount: those of the configuration a rolling update replaced.
pub(super) async fn remove_unused_secrets(
    engine: &Engine,
    live: &bollard::models::Service,
    name: &str,
) -> Result<(), DockerError> {
    let used: std::collections::BTreeSet<String> =
        live.spec.as_ref().map(|s| secret_ids(s).collect()).unwrap_or_default();
    remove_secrets_where(engine, name, |id| !used.contains(id)).await
}

/// A file a task finds at `target`, held as a swarm secret named `name` (TLS keystores: a
/// node-local volume would be empty on every other node).
#[derive(Debug, Clone)]
pub struct SecretFile {
    pub name: String,
    pub target: String,
    pub data: Vec<u8>,
}

/// Creates each secret (one that exists under its name already holds this value: the name
/// carries the value's keyed hash or digest) and says where the task finds it: an
/// environment secret under `/run/secrets/`, a file at its target.
pub(super) async fn ensure_secrets(
    engine: &Engine,
    service: &str,
    secrets: &[SecretEnv],
    files: &[SecretFile],
    labels: &BTreeMap<String, String>,
) -> Result<Vec<bollard::models::TaskSpecContainerSpecSecrets>, DockerError> {
    use base64::Engine as _;
    let wanted = secrets
        .iter()
        .map(|s| (&s.name, &s.name, s.value.as_bytes()))
        .chain(files.iter().map(|f| (&f.name, &f.target, f.data.as_slice())));
    let mut out = Vec::new();
    for (name, target, data) in wanted {
        let mut labels: HashMap<String, String> = labels.clone().into_iter().collect();
        labels.insert(LABEL_SERVICE.into(), service.into());
        let spec = bollard::models::SecretSpec {
            name: Some(name.clone()),
            labels: Some(labels),
            data: Some(base64::engine::general_purpose::STANDARD.encode(data)),
            ..Default::default()
        };
        let failed = || DockerError::api(format!("creating secret {name}"));
        let id = match engine.docker.create_secret(spec).await {
            Ok(created) => created.id,
            Err(e) if is_conflict(&e) => {
                engine.docker.inspect_secret(name).await.map_err(failed())?.id.unwrap_or_default()
            }
            Err(e) => return Err(failed()(e)),
        };
        out.push(bollard::models::TaskSpecContainerSpecSecrets {
            file: Some(bollard::models::TaskSpecContainerSpecFile {
                name: Some(target.clone()),
                uid: Some("0".into()),
                gid: Some("0".into()),
                // Readable by the task's user, whoever the image runs as (the files live in
                // the task's own in-memory mount).
                mode: Some(0o444),
            }),
            secret_id: Some(id),
            secret_name: Some(name.clone()),
        });
    }
    Ok(out)
}

/// The task's command when it has secrets: a shell reads each into its variable, then runs
/// what the task would have run (its entrypoint and arguments, or the image's).
pub(super) async fn reading_secrets(
    engine: &Engine,
    spec: &ServiceSpec,
) -> Result<(Vec<String>, Vec<String>), DockerError> {
    let task = &spec.task;
    let image = match (task.entrypoint.is_none(), task.command.is_empty()) {
        (false, false) => None,
        _ => {
            let inspected = engine.docker.inspect_image(&task.image).await;
            Some(inspected.map_err(DockerError::api(format!("inspecting image {}", task.image)))?)
        }
    };
    let config = image.and_then(|i| i.config);
    let entrypoint = match &task.entrypoint {
        Some(e) => e.clone(),
        None => config.as_ref().and_then(|c| c.entrypoint.clone()).unwrap_or_default(),
    };
    let args = match task.command.is_empty() {
        false => task.command.clone(),
        true => config.and_then(|c| c.cmd).unwrap_or_default(),
    };
    let reads: String = spec
        .secrets
        .iter()
        .map(|s| match s.append {
            // A newline between what the spec holds and the secret's lines.
            true => format!("export {0}=\"${{{0}}}\n$(cat {SECRETS_DIR}/{1})\"; ", s.var, s.name),
            false => format!("export {}=\"$(cat {SECRETS_DIR}/{})\"; ", s.var, s.name),
        })
        .collect();
    let mut command = vec!["/bin/sh".to_string(), "-c".to_string(), format!("{reads}exec \"$@\""), "sh".to_string()];
    command.extend(entrypoint);
    Ok((command, args))
}

/// Removes the secrets made for service `name` (once no task of it runs).
pub(super) async fn remove_secrets(engine: &Engine, name: &str) -> Result<(), DockerError> {
    remove_secrets_where(engine, name, |_| true).await
}

/// Removes the secrets made for service `name` whose id `unused` says.
pub(super) async fn remove_secrets_where(
    engine: &Engine,
    name: &str,
    unused: impl Fn(&str) -> bool,
) -> Result<(), DockerError> {
    let filters = HashMap::from([("label", vec![format!("{LABEL_SERVICE}={name}")])]);
    let opts = ListSecretsOptionsBuilder::new().filters(&filters).build();
    let secrets = engine.docker.list_secrets(Some(opts)).await.map_err(DockerError::api("listing secrets"))?;
    for id in secrets.into_iter().filter_map(|s| s.id).filter(|id| unused(id)) {
        match engine.docker.delete_secret(&id).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(DockerError::Api { what: format!("removing a secret of service {name}"), source: e }),
        }
    }
    Ok(())
}
