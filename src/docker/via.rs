//! Where a read-only list of the engine goes: by hand over a plain socket ([`super::wire`]:
//! it needs neither the connection nor its API version first, so it goes out with the
//! engine's other lists), else through bollard. The swarm's lists use it.

use super::{DockerError, Engine};

/// The way to the engine a list takes.
#[derive(Clone, Copy)]
pub enum Via<'a> {
    Wire(&'a super::wire::Endpoint),
    Api(&'a bollard::Docker),
}

impl<'a> Via<'a> {
    /// The engine's plain endpoint when it has one.
    pub fn of(engine: &'a Engine) -> Via<'a> {
        engine.wire.as_ref().map_or(Via::Api(&engine.docker), Via::Wire)
    }

    /// `GET path?query` by hand, or `api`'s call through bollard.
    pub(super) async fn get<T, F>(
        self,
        what: &'static str,
        path: &str,
        query: &[(&str, &str)],
        api: impl FnOnce(&'a bollard::Docker) -> F,
    ) -> Result<T, DockerError>
    where
        T: serde::de::DeserializeOwned,
        F: std::future::Future<Output = Result<T, bollard::errors::Error>>,
    {
        match self {
            Via::Wire(e) => {
                e.get_json(&super::wire::url(path, query)).await.map_err(|m| DockerError::Other(format!("{what}: {m}")))
            }
            Via::Api(d) => api(d).await.map_err(DockerError::api(what)),
        }
    }
}
