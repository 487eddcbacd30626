//! Files flinkform puts into a volume (a cluster's TLS keystores), and a volume's labels. The
//! engine writes an archive into a container's mounts even when it never ran: a container is
//! created on the volume, given the archive, and removed, so nothing runs and no port opens.

use super::{CALL, is_not_found, within};
use super::{DockerError, Engine};
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use std::collections::{BTreeMap, HashMap};

/// Marks a writer container (its value: the volume), so that one a killed run left behind is
/// recognised and removed, and nothing else with its name ever is.
use crate::names::LABEL_VOLUME_WRITER as WRITER_LABEL;
/// Where the writer mounts the volume.
const TARGET: &str = "/volume";

/// A volume's labels; None when there is no such volume.
pub async fn volume_labels(engine: &Engine, name: &str) -> Result<Option<BTreeMap<String, String>>, DockerError> {
    let call = async { Ok(engine.docker.inspect_volume(name).await) };
    match within(|| format!("inspecting volume {name}"), CALL, call).await? {
        Ok(v) => Ok(Some(v.labels.into_iter().collect())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(DockerError::Api { what: format!("inspecting volume {name}"), source: e }),
    }
}

/// Extracts the tar archive `tar` at the root of `volume`, through a container made from
/// `image` (one already present) that is never started.
pub async fn write_into_volume(engine: &Engine, image: &str, volume: &str, tar: Vec<u8>) -> Result<(), DockerError> {
    let name = format!("{volume}-writer");
    tracing::debug!(volume, image, "engine: write files into volume");
    remove_leftover(engine, &name, volume).await?;
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        labels: Some(HashMap::from([(WRITER_LABEL.to_string(), volume.to_string())])),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            mounts: Some(vec![Mount {
                target: Some(TARGET.into()),
                source: Some(volume.to_string()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let opts = CreateContainerOptionsBuilder::new().name(&name).build();
    let api = |what: &str| DockerError::api(format!("{what} (writing into volume {volume})"));
    let create = async { engine.docker.create_container(Some(opts), body).await.map_err(api("creating a writer")) };
    let id = within(|| format!("creating the writer of volume {volume}"), CALL, create).await?.id;
    let upload = async {
        let opts = UploadToContainerOptionsBuilder::new().path(TARGET).build();
        engine
            .docker
            .upload_to_container(&id, Some(opts), bollard::body_full(tar.into()))
            .await
            .map_err(api("uploading"))
    };
    let written = within(|| format!("writing into volume {volume}"), CALL, upload).await;
    let removed = remove(engine, &id, volume).await;
    written.and(removed)
}

async fn remove(engine: &Engine, id: &str, volume: &str) -> Result<(), DockerError> {
    let opts = RemoveContainerOptionsBuilder::new().force(true).build();
    let call = async { Ok(engine.docker.remove_container(id, Some(opts)).await) };
    match within(|| format!("removing the writer of volume {volume}"), CALL, call).await? {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(DockerError::Api { what: format!("removing the writer of volume {volume}"), source: e }),
    }
}

/// A writer a killed run left: removed when it carries this volume's writer label.
async fn remove_leftover(engine: &Engine, name: &str, volume: &str) -> Result<(), DockerError> {
    let call = async { Ok(engine.docker.inspect_container(name, None).await) };
    let Ok(found) = within(|| format!("inspecting container {name}"), CALL, call).await? else { return Ok(()) };
    let ours =
        found.config.and_then(|c| c.labels).is_some_and(|l| l.get(WRITER_LABEL).map(String::as_str) == Some(volume));
    match found.id {
        Some(id) if ours => remove(engine, &id, volume).await,
        _ => Ok(()),
    }
}
