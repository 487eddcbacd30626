//! The state's backend as a user handles it: `init` (a local state moved into the configured
//! backend), `state pull` / `state push` (Terraform's, with lineage and serial checks), and
//! PostgreSQL's history (`state history`, `state rollback SERIAL`). Every write goes through
//! the state's lock and its writer (compare-and-swap in PostgreSQL).

use crate::state::{Location, State, StateLock, StateWriter, postgres::Version};
use miette::Report;
use std::path::Path;
use std::time::Duration;

fn locked(location: &Location, operation: &str) -> Result<StateLock, Report> {
    StateLock::acquire(location, operation, Duration::ZERO).map_err(Report::new)
}

fn postgres(location: &Location, what: &str) -> Result<crate::state::PgLocation, Report> {
    match location {
        Location::Postgres(pg) => Ok(pg.clone()),
        Location::Local(path) => Err(miette::miette!(
            help = "configure `backend \"postgres\" {{ … }}` in the flinkform block, then `flinkform init`",
            "{what} needs a backend that keeps history; the local state {} keeps only its last backup",
            path.display()
        )),
    }
}

/// Every version PostgreSQL keeps of the state.
pub fn history(location: &Location) -> Result<Vec<Version>, Report> {
    postgres(location, "state history")?.history().map_err(Report::new)
}

/// Writes version `serial` of the current lineage again, as a new version (nothing is lost:
/// the version rolled back from stays in the history). Returns the new serial.
pub fn rollback(location: &Location, serial: u64) -> Result<u64, Report> {
    let pg = postgres(location, "state rollback")?;
    let _lock = locked(location, "state rollback")?;
    let current = location.read().map_err(Report::new)?;
    let old = pg.version(&current.lineage, serial).map_err(Report::new)?.ok_or_else(|| {
        miette::miette!(
            "no version {serial} of lineage {} in the history; see `flinkform state history`",
            current.lineage
        )
    })?;
    write_over(location, &current, old)
}

/// `state` written over `current` through the writer: a new serial, the same lineage.
fn write_over(location: &Location, current: &State, mut state: State) -> Result<u64, Report> {
    let mut writer = StateWriter::new(location, current);
    state.lineage = current.lineage.clone();
    state.serial = current.serial;
    writer.save(&mut state).map_err(Report::new)?;
    Ok(state.serial)
}

/// The state's bytes, as stored (`state pull`).
pub fn pull(location: &Location) -> Result<Vec<u8>, Report> {
    let state = location.read().map_err(Report::new)?;
    Ok(state.to_bytes())
}

/// `state push FILE`: replaces the stored state with `bytes`, refused when their lineage
/// differs from the stored one or their serial is older (unless `force`). Returns the serial.
pub fn push(location: &Location, bytes: &[u8], force: bool) -> Result<u64, Report> {
    let pushed = State::parse(bytes, "the pushed state").map_err(Report::new)?;
    let _lock = locked(location, "state push")?;
    let current = location.read().map_err(Report::new)?;
    if !force && !current.lineage.is_empty() {
        if pushed.lineage != current.lineage {
            return Err(miette::miette!(
                help = "push a state of this lineage, or pass -force to replace it anyway",
                "the pushed state's lineage {} is not the stored one's ({}): it belongs to another state",
                pushed.lineage,
                current.lineage
            ));
        }
        if pushed.serial < current.serial {
            return Err(miette::miette!(
                help = "pull the current state first, or pass -force",
                "the pushed state (serial {}) is older than the stored one (serial {})",
                pushed.serial,
                current.serial
            ));
        }
    }
    if current.lineage.is_empty() {
        let mut state = pushed;
        StateWriter::new(location, &current).save(&mut state).map_err(Report::new)?;
        return Ok(state.serial);
    }
    let lineage = pushed.lineage.clone();
    let serial = write_over(location, &current, pushed)?;
    if lineage != current.lineage {
        tracing::warn!("the stored state's lineage {} was replaced by {lineage}", current.lineage);
    }
    Ok(serial)
}

/// What `init` last set up in a directory (`.flinkform/backend.json`): which remote backend,
/// never its credentials. With it, `init` after the `backend` block is removed moves the
/// state back into the local file, as Terraform's `init -migrate-state` does.
#[derive(serde::Serialize, serde::Deserialize)]
struct Initialised {
    backend: String,
    schema: String,
}

fn initialised_path(dir: &Path) -> std::path::PathBuf {
    dir.join(".flinkform").join("backend.json")
}

/// `init`: with a remote backend configured and a local state file beside the configuration,
/// moves the local state into the backend (its lineage and serial kept) and renames the file
/// `<file>.migrated`; refused when the backend already holds another lineage. With the local
/// backend configured after an `init` for PostgreSQL, moves the state back into the file. One
/// line saying what was done.
pub fn init(dir: &Path) -> Result<String, Report> {
    let settings = crate::config::settings(dir, &Default::default()).map_err(Report::new)?;
    let target = super::location(dir, &settings);
    let local_path = dir.join(&settings.state_path);
    let Location::Postgres(pg) = &target else {
        return back_to_local(dir, &settings, &local_path);
    };
    let marker = Initialised { backend: "postgres".into(), schema: pg.schema.clone() };
    let record = || -> Result<(), Report> {
        let path = initialised_path(dir);
        let parent = path.parent().expect("a file in .flinkform");
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(parent)
            .map_err(|e| miette::miette!("cannot create {}: {e}", parent.display()))?;
        let text = serde_json::to_vec_pretty(&marker).expect("plain data");
        crate::state::write_atomic(&path, &text).map_err(|e| miette::miette!("cannot write {}: {e}", path.display()))
    };
    let message = into_backend(&target, &local_path)?;
    record()?;
    Ok(message)
}

/// The local state moved into `target` (see [`init`]).
fn into_backend(target: &Location, local_path: &Path) -> Result<String, Report> {
    if !local_path.exists() {
        let stored = target.read().map_err(Report::new)?;
        let what = if stored.lineage.is_empty() { "empty" } else { "in use" };
        return Ok(format!("The state is in {} ({what}); no local state to migrate.", target.shown()));
    }
    let local = Location::Local(local_path.to_path_buf());
    copy_state(
        &local,
        target,
        "the backend belongs to another state of this project: choose another project or schema, or remove the local file",
    )?;
    let moved = local_path.with_extension("json.migrated");
    std::fs::rename(local_path, &moved)
        .map_err(|e| miette::miette!("migrated, but cannot rename {}: {e}", local_path.display()))?;
    Ok(format!("The local state was migrated to {}; the file is kept as {}.", target.shown(), moved.display()))
}

/// `init` with the local backend configured: when the last `init` here set up PostgreSQL, its
/// state (read with the same connection settings) becomes the local file, refused when a local
/// state of another lineage is in the way.
fn back_to_local(dir: &Path, settings: &crate::config::Settings, local_path: &Path) -> Result<String, Report> {
    let marker: Option<Initialised> =
        std::fs::read(initialised_path(dir)).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let Some(marker) = marker.filter(|m| m.backend == "postgres") else {
        return Ok(format!("The state is the local file {}; nothing to migrate.", local_path.display()));
    };
    let mut remote_settings = settings.clone();
    remote_settings.backend = crate::config::BackendSettings::Postgres { conn_str: None, schema: marker.schema };
    let source = super::location(dir, &remote_settings);
    copy_state(&source, &Location::Local(local_path.to_path_buf()), "move or remove the local file first")?;
    let _ = std::fs::remove_file(initialised_path(dir));
    Ok(format!(
        "The state in {} was copied back to the local file {} (the database keeps its copy and history).",
        source.shown(),
        local_path.display()
    ))
}

/// Copies the state at `from` to `to`, both locked, keeping its lineage and serial: written
/// when `to` holds none or an older version of it; refused, with `help`, when `to` holds
/// another lineage.
fn copy_state(from: &Location, to: &Location, help: &str) -> Result<(), Report> {
    let _from_lock = locked(from, "init")?;
    let _to_lock = locked(to, "init")?;
    let source = from.read().map_err(Report::new)?;
    let stored = to.read().map_err(Report::new)?;
    if source.lineage.is_empty() {
        return Ok(());
    }
    if !stored.lineage.is_empty() && stored.lineage != source.lineage {
        return Err(miette::miette!(
            help = help.to_string(),
            "{} already holds lineage {}, and {} is lineage {}; nothing was migrated",
            to.shown(),
            stored.lineage,
            from.shown(),
            source.lineage
        ));
    }
    if stored.lineage.is_empty() {
        let mut state = source;
        StateWriter::new(to, &stored).save(&mut state).map_err(Report::new)?;
    } else if source.serial > stored.serial {
        write_over(to, &stored, source)?;
    }
    Ok(())
}
