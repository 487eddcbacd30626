//! Docker, through bollard: connecting (with a friendly error when the engine is not there),
//! observing what is live in one list call per object kind ([`observe`]), and the operations
//! apply performs ([`ops`]). Labels (DESIGN §5) are defined here.

pub mod observe;
pub mod ops;
mod ping;

use bollard::Docker;

pub const LABEL_PROJECT: &str = "io.flinkform.project";
pub const LABEL_ADDRESS: &str = "io.flinkform.address";
pub const LABEL_LINEAGE: &str = "io.flinkform.lineage";
pub const LABEL_HASH: &str = "io.flinkform.config-hash";
pub const LABEL_MANAGED: &str = "io.flinkform.managed";

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error(
        "cannot reach the Docker engine at {host} ({detail}). Start Docker (e.g. `sudo systemctl start docker`) or set DOCKER_HOST to a running engine"
    )]
    Unreachable { host: String, detail: String },
    #[error("{what}: {source}")]
    Api { what: String, source: bollard::errors::Error },
    #[error(
        "image {image} is not present locally and could not be pulled ({detail}). Build it offline with images/build.sh (for the flinkform-offline/* images) or `docker load` it"
    )]
    ImageMissing { image: String, detail: String },
    #[error("{0}")]
    Other(String),
}

impl DockerError {
    /// The object asked for does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            DockerError::Api { source: bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }, .. }
        )
    }

    pub fn api(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> DockerError {
        let what = what.into();
        move |source| DockerError::Api { what, source }
    }
}

/// A connected, version-negotiated engine.
#[derive(Clone)]
pub struct Engine {
    pub docker: Docker,
    pub host: String,
}

/// Connects to `host` (from the `flinkform` block), else DOCKER_HOST, else the local socket.
pub async fn connect(host: Option<&str>) -> Result<Engine, DockerError> {
    let env_host = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty());
    let shown = host.map(str::to_string).or(env_host).unwrap_or_else(|| "unix:///var/run/docker.sock".into());
    let unreachable = |detail: String| DockerError::Unreachable { host: shown.clone(), detail };
    let tls = std::env::var_os("DOCKER_TLS_VERIFY").is_some();
    let docker = match ping::api_version(&shown, tls).await {
        Some(Ok(server)) => {
            let version = if server < *bollard::API_DEFAULT_VERSION { &server } else { bollard::API_DEFAULT_VERSION };
            if shown.starts_with("unix://") {
                Docker::connect_with_socket(&shown, 120, version)
            } else {
                Docker::connect_with_http(&shown, 120, version)
            }
            .map_err(|e| unreachable(e.to_string()))?
        }
        Some(Err(detail)) => return Err(unreachable(detail)),
        // A scheme not pinged by hand (TLS, ssh): bollard connects and asks `/version`.
        None => {
            let docker = match host {
                Some(h) => Docker::connect_with_host(h),
                None => Docker::connect_with_defaults(),
            }
            .map_err(|e| unreachable(e.to_string()))?;
            docker.negotiate_version().await.map_err(|e| unreachable(e.to_string()))?
        }
    };
    Ok(Engine { docker, host: shown })
}
