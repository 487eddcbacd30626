//! Docker, through bollard: connecting (with a friendly error when the engine is not there),
//! the raw requests the observation reads by hand over a plain socket ([`wire`]), and the
//! operations apply performs ([`ops`]). What flinkform makes of the lists is `observe`'s.

pub mod auth;
pub mod endpoint;
pub mod files;
pub mod logs;
pub mod nodes;
pub mod ops;
pub mod secrets;
mod spec;
pub mod spec_digest;
pub mod swarm;
pub mod swarm_read;
pub mod via;
pub mod wire;

use bollard::Docker;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DockerError {
    #[error(
        "cannot reach the Docker engine at {host} ({detail}). Start Docker (e.g. `sudo systemctl start docker`), or point DOCKER_HOST or DOCKER_CONTEXT at a running engine"
    )]
    Unreachable { host: String, detail: String },
    #[error("{what}: {source}")]
    Api { what: String, source: bollard::errors::Error },
    #[error(
        "image {image} is not present locally and could not be pulled ({detail}). Build it offline with images/build.sh (for the flinkform-offline/* images), `docker load` it, or `docker login` to its registry"
    )]
    ImageMissing { image: String, detail: String },
    #[error(
        "{what}: the engine did not answer within {secs}s. Check `docker info` and the engine's log; the state records what completed, run apply again"
    )]
    Deadline { what: String, secs: u64 },
    #[error("{}", network_in_use(name, attached))]
    NetworkInUse { name: String, attached: Vec<String> },
    #[error("{0}")]
    Other(String),
}

fn network_in_use(name: &str, attached: &[String]) -> String {
    if attached.is_empty() {
        return format!(
            "network {name} cannot be removed: the engine still counts an endpoint on it, though no container is attached (an engine fault seen after runs killed mid-call). It is kept; restarting the Docker engine clears the count, then run the command again"
        );
    }
    format!(
        "network {name} cannot be removed: containers are still attached to it: {}. Disconnect them (`docker network disconnect {name} CONTAINER`) or remove them, then run the command again",
        attached.join(", ")
    )
}

impl DockerError {
    /// The object is still used by others (a network with endpoints attached).
    pub fn is_in_use(&self) -> bool {
        matches!(self, DockerError::NetworkInUse { .. })
    }

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
    /// Set when the engine speaks plain HTTP (a socket, TCP without TLS): the lists go this way.
    pub wire: Option<wire::Endpoint>,
}

/// The engine's address: `configured` (the `flinkform` block's), else DOCKER_HOST, else the
/// Docker context (DOCKER_CONTEXT, then the CLI's current one), else the local socket.
pub fn resolve(configured: Option<&str>) -> Result<endpoint::Address, DockerError> {
    endpoint::resolve(configured, &endpoint::Inputs::from_process())
}

/// Where plain HTTP reaches the engine at `address`, if it does (not over TLS or ssh).
pub fn plain_endpoint(address: &endpoint::Address) -> Option<wire::Endpoint> {
    wire::Endpoint::plain(&address.host, address.tls.is_some())
}

/// Connects to the engine [`resolve`]`(configured)` chooses.
pub async fn connect(configured: Option<&str>) -> Result<Engine, DockerError> {
    connect_to(&resolve(configured)?).await
}

/// Connects to the engine at `address`.
pub async fn connect_to(address: &endpoint::Address) -> Result<Engine, DockerError> {
    let shown = address.host.clone();
    tracing::debug!(host = %address, "engine: connect");
    let unreachable = |detail: String| DockerError::Unreachable { host: address.to_string(), detail };
    let wire = plain_endpoint(address);
    let server = match &wire {
        Some(endpoint) => endpoint.api_version().await.map_err(unreachable)?,
        None => None,
    };
    let docker = match (server, &address.tls) {
        (Some(server), _) => plain_client(&shown, &server).map_err(|e| unreachable(e.to_string()))?,
        // TLS (DOCKER_TLS_VERIFY, or a context with TLS material): bollard connects and asks `/version`.
        (None, Some(tls)) => {
            let docker =
                Docker::connect_with_ssl(&shown, &tls.key, &tls.cert, &tls.ca, 120, bollard::API_DEFAULT_VERSION)
                    .map_err(|e| unreachable(e.to_string()))?;
            docker.negotiate_version().await.map_err(|e| unreachable(e.to_string()))?
        }
        (None, None) if shown.starts_with("ssh://") => {
            return Err(unreachable(
                "ssh engines are not supported; forward the engine's socket (`ssh -L`) and use its unix:// or tcp:// address".into(),
            ));
        }
        // An engine whose `/_ping` has no version: bollard negotiates.
        (None, None) => {
            let docker = Docker::connect_with_host(&shown).map_err(|e| unreachable(e.to_string()))?;
            docker.negotiate_version().await.map_err(|e| unreachable(e.to_string()))?
        }
    };
    Ok(Engine { docker, host: shown, wire })
}

/// Connects to the engine at `address` over `wire`, its plain endpoint, without asking the
/// engine anything when an answer over `wire` already said its API version (else as
/// [`connect_to`]): a swarm's no-op plan needs no ping beside its lists.
pub async fn connect_after(address: &endpoint::Address, wire: wire::Endpoint) -> Result<Engine, DockerError> {
    let Some(server) = wire.seen_version() else { return connect_to(address).await };
    tracing::debug!(host = %address, "engine: connect (API version from an earlier answer)");
    let shown = address.host.clone();
    let docker = plain_client(&shown, &server)
        .map_err(|e| DockerError::Unreachable { host: address.to_string(), detail: e.to_string() })?;
    Ok(Engine { docker, host: shown, wire: Some(wire) })
}

/// bollard over a plain socket or TCP at the server's API version (bollard's own when older).
fn plain_client(host: &str, server: &bollard::ClientVersion) -> Result<Docker, bollard::errors::Error> {
    let version = if *server < *bollard::API_DEFAULT_VERSION { server } else { bollard::API_DEFAULT_VERSION };
    if host.starts_with("unix://") {
        Docker::connect_with_socket(host, 120, version)
    } else {
        Docker::connect_with_http(host, 120, version)
    }
}

/// How long one engine call may take (a hung engine is an error, not a wait without end).
pub(super) const CALL: std::time::Duration = std::time::Duration::from_secs(60);

/// `call`, or a [`DockerError::Deadline`] naming `what` after `limit`.
pub(super) async fn within<T>(
    what: impl FnOnce() -> String,
    limit: std::time::Duration,
    call: impl std::future::Future<Output = Result<T, DockerError>>,
) -> Result<T, DockerError> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| Err(DockerError::Deadline { what: what(), secs: limit.as_secs() }))
}

/// The engine answered 404: the object is not there.
pub(super) fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}

/// The engine answered 409: the name is taken (or the object is busy).
pub(super) fn is_conflict(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 409, .. })
}
