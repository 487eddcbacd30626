//! `refresh` (and `plan --refresh-only`): the state updated from what is live, changing nothing
//! on the engine.

use super::plan::{finish_observing, start_observing};
use crate::config::Config;
use crate::model::Kind;
use crate::state::{StateLock, StateWriter};
use miette::Report;
use std::time::Duration;

/// One line per resource the state would change for; written when `write`.
pub async fn refresh(config: &Config, write: bool) -> Result<Vec<String>, Report> {
    let location = super::location_of(config);
    let _lock =
        if write { Some(StateLock::acquire(&location, "refresh", Duration::ZERO).map_err(Report::new)?) } else { None };
    let mut state = super::load_state(config)?;
    let mut writer = StateWriter::new(&location, &state);
    let observing = start_observing(&config.settings);
    let masker = super::masker(&mut state)?;
    let desired = super::expand(config, &masker);
    let (_, live) = finish_observing(observing, config, &desired, &masker, &state).await?;
    let mut notes = Vec::new();
    for r in state.resources.clone() {
        if r.kind == Kind::Job {
            continue;
        }
        // A name now held by something without the project's labels, or another state's, is
        // not the recorded object.
        let ours = |l: &&crate::observe::LiveObject| l.owned_by(&config.settings.project, &state.lineage);
        match live.get(r.kind, &r.name).filter(ours) {
            None => {
                notes.push(format!("  - {}: removed outside flinkform; dropped from the state", r.address));
                state.remove(&r.address);
            }
            Some(l) if l.id != r.id || l.ports != r.ports => {
                notes.push(format!("  ~ {}: id or published ports changed; recorded", r.address));
                let mut r = r.clone();
                r.id = l.id.clone();
                r.ports = l.ports.clone();
                state.put(r);
            }
            Some(_) => {}
        }
    }
    if write && !notes.is_empty() {
        writer.save(&mut state).map_err(Report::new)?;
    }
    Ok(notes)
}
