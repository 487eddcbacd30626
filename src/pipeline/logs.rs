//! `logs`: what one container logged, or every container of a role or block (`cluster.a.taskmanager`,
//! `cluster.a`), found by address in the state and read from the engine; followed with `-f`.

use crate::docker::logs::Selection;
use crate::model::Kind;
use futures_util::StreamExt;
use miette::Report;
use std::path::Path;

/// Streams the logs of the containers at or under `address` to `line`: (container name when
/// there are several, one chunk of text as the engine sent it).
pub async fn logs(
    dir: &Path,
    address: &str,
    sel: &Selection,
    line: &mut dyn FnMut(Option<&str>, &str),
) -> Result<(), Report> {
    let wanted = crate::address::Address::parse(address).map_err(|e| miette::miette!("{e}"))?.to_string();
    let settings = crate::config::settings(dir, &Default::default()).map_err(Report::new)?;
    let state = super::read_state(&super::location(dir, &settings))?;
    let containers: Vec<(String, String)> = state
        .resources
        .iter()
        .filter(|r| r.kind == Kind::Container && crate::address::under(&r.address, &wanted))
        .map(|r| (r.name.clone(), r.id.clone()))
        .collect();
    if containers.is_empty() {
        let known: Vec<&str> =
            state.resources.iter().filter(|r| r.kind == Kind::Container).map(|r| r.address.as_str()).collect();
        let fix = if known.is_empty() {
            "run `flinkform apply` first".to_string()
        } else {
            format!("the containers in the state: {}", known.join(", "))
        };
        return Err(miette::miette!("no container is recorded at {wanted}; {fix}"));
    }
    let engine = crate::docker::connect(settings.docker_host.as_deref()).await.map_err(Report::new)?;
    let several = containers.len() > 1;
    let streams = containers.iter().map(|(name, id)| {
        let name = name.clone();
        crate::docker::logs::stream(&engine, id, sel).map(move |chunk| (name.clone(), chunk))
    });
    let mut merged = futures_util::stream::select_all(streams);
    while let Some((name, chunk)) = merged.next().await {
        let text = chunk.map_err(Report::new)?;
        line(several.then_some(name.as_str()), &text);
    }
    Ok(())
}
