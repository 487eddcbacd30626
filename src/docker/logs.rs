//! A container's log as a stream of lines (`docker logs [-f] [--since] [--tail]`), stdout and
//! stderr together, as the engine keeps them.

use super::{DockerError, Engine};
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::{Stream, StreamExt};

/// Which part of a log, and whether to keep following it.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub follow: bool,
    /// Only what was logged since this moment (seconds since the epoch).
    pub since: Option<i64>,
    /// Only the last lines.
    pub tail: Option<u64>,
}

/// The log of container `name` (or id), chunk by chunk as the engine sends it.
pub fn stream(engine: &Engine, name: &str, sel: &Selection) -> impl Stream<Item = Result<String, DockerError>> + use<> {
    let mut opts = LogsOptionsBuilder::new().stdout(true).stderr(true).follow(sel.follow);
    if let Some(since) = sel.since {
        opts = opts.since(since as i32);
    }
    opts = opts.tail(&sel.tail.map(|n| n.to_string()).unwrap_or_else(|| "all".into()));
    let what = format!("reading the log of {name}");
    engine
        .docker
        .logs(name, Some(opts.build()))
        .map(move |chunk| chunk.map(|c| c.to_string()).map_err(DockerError::api(what.clone())))
}
