//! The state file (docs/ARCHITECTURE.md, "State"): what flinkform owns. Plain data with its own
//! format, written atomically (temp file, fsync, rename, fsync dir, mode 0600) after every
//! resource operation; `serial` moves only when content changes; a newer schema is refused.

mod location;
mod lock;
pub mod postgres;

pub use location::{Location, StateLock};
pub use lock::{FileLock, LockInfo, lock_path};
pub use postgres::PgLocation;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub flinkform_version: String,
    pub serial: u64,
    pub lineage: String,
    /// Random, per state: the salt of the hashes that stand for sensitive values.
    #[serde(default)]
    pub salt: String,
    /// The id of the key whose keyed hashes stand for this state's sensitive values (the key
    /// itself is never here); absent in a state whose hashes are salted only (made before keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_key: Option<String>,
    pub resources: Vec<Resource>,
    #[serde(default)]
    pub outputs: BTreeMap<String, StateOutput>,
    /// Ids of Docker objects forgotten with `state rm`: still labelled, no longer managed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forgotten: Vec<String>,
    /// Engine calls sent but not yet known to have completed (write-ahead intent): recorded
    /// before each create or remove, dropped with the write that records its result. A run
    /// that finds entries here was stopped mid-call; it resolves them before planning.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Pending>,
}

/// An engine call in flight, as recorded before it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub operation: PendingOp,
    pub address: String,
    pub kind: crate::model::Kind,
    /// The object's Docker name.
    pub name: String,
    /// The object being removed (removes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PendingOp {
    /// Creating the object: it may exist, labelled, without being recorded (it is adopted by
    /// its labels, as any object a stopped run created).
    Create,
    /// Removing the object: a container's stop may still be under way on the engine.
    Remove,
    /// Stopping a job with a savepoint (its id): the savepoint may complete after the run died.
    StopJob,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub address: String,
    pub kind: crate::model::Kind,
    /// Docker object name.
    pub name: String,
    /// Docker object id.
    pub id: String,
    pub attributes: BTreeMap<String, String>,
    pub config_hash: String,
    pub dependencies: Vec<String>,
    /// Published ports as observed: "8081/tcp" → host port.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ports: BTreeMap<String, u16>,
    /// Jobs: the last savepoint taken or restored from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub savepoint: Option<String>,
    /// Jobs: what flinkform acts on (the attributes only explain it to a reader).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobRecord>,
    /// JobManagers: the REST API's URL, as published when the container was created or started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_url: Option<String>,
    /// Created (or started) but never became ready (Terraform's word): the next plan replaces it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tainted: bool,
}

/// A job as recorded: the cluster it runs on, how it is upgraded, whether it is suspended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The cluster's address (`cluster.analytics`).
    pub cluster: String,
    pub upgrade_mode: crate::config::UpgradeMode,
    /// Stopped (with a savepoint, when it has one) and not to be resubmitted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
}

impl Resource {
    /// A job that is recorded as suspended.
    pub fn suspended(&self) -> bool {
        self.job.as_ref().is_some_and(|j| j.suspended)
    }

    /// A state written before jobs and REST URLs were recorded typed: read from the attributes.
    fn migrate(&mut self) {
        use crate::config::UpgradeMode;
        if self.kind == crate::model::Kind::Job && self.job.is_none() {
            let stateless = self.attributes.get("upgrade_mode").is_some_and(|m| m == "stateless");
            self.job = Some(JobRecord {
                cluster: self.attributes.get("cluster").cloned().unwrap_or_default(),
                upgrade_mode: if stateless { UpgradeMode::Stateless } else { UpgradeMode::Savepoint },
                suspended: self.attributes.get("state").is_some_and(|s| s == "suspended"),
            });
        }
        if self.rest_url.is_none()
            && let Some(port) = self.ports.get("8081/tcp")
            && crate::address::Address::parse(&self.address).is_ok_and(|a| a.role() == Some("jobmanager"))
        {
            let published = self.attributes.get("port.8081").or_else(|| self.attributes.get("port.8081/tcp"));
            let bind = published.and_then(|v| v.split(':').next()).unwrap_or("127.0.0.1");
            self.rest_url = Some(crate::names::rest_url(bind, *port, false));
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateOutput {
    pub value: serde_json::Value,
    #[serde(default)]
    pub sensitive: bool,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StateError {
    #[error("cannot read state file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "state file {path} is not valid ({source}); it was left untouched. If it was damaged, restore {path}.backup"
    )]
    Corrupt { path: PathBuf, source: serde_json::Error },
    #[error(
        "state file {path} was written by a newer flinkform (schema {found}, this build reads up to {SCHEMA_VERSION}); upgrade flinkform"
    )]
    TooNew { path: PathBuf, found: u32 },
    #[error("cannot write state file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Locked(String),
    /// A remote backend failed (the message names it, never its credentials).
    #[error("{0}")]
    Backend(String),
}

impl State {
    pub fn new() -> Self {
        State {
            version: SCHEMA_VERSION,
            flinkform_version: env!("CARGO_PKG_VERSION").into(),
            serial: 0,
            lineage: uuid::Uuid::new_v4().to_string(),
            salt: new_salt(),
            hash_key: None,
            resources: Vec::new(),
            outputs: BTreeMap::new(),
            forgotten: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// Reads the state at `path`; a missing file is an empty state with a fresh lineage.
    pub fn load(path: &Path) -> Result<State, StateError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            // No state yet: an empty one whose lineage is fixed when it is first written.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State { lineage: String::new(), ..State::new() });
            }
            Err(source) => return Err(StateError::Read { path: path.into(), source }),
        };
        Self::parse_at(&bytes, path)
    }

    /// A state from its bytes, read from `place` (for messages).
    pub fn parse(bytes: &[u8], place: &str) -> Result<State, StateError> {
        Self::parse_at(bytes, Path::new(place))
    }

    fn parse_at(bytes: &[u8], path: &Path) -> Result<State, StateError> {
        #[derive(Deserialize)]
        struct Head {
            version: u32,
        }
        let too_new = |found| (found > SCHEMA_VERSION).then(|| StateError::TooNew { path: path.into(), found });
        // One pass when the state is this version's (a no-op plan reads it on its way); a
        // newer state that does not read as this one is said to be newer, not corrupt.
        let mut state: State = match serde_json::from_slice(bytes) {
            Ok(state) => state,
            Err(source) => {
                let head = serde_json::from_slice::<Head>(bytes);
                return Err(head
                    .ok()
                    .and_then(|h| too_new(h.version))
                    .unwrap_or(StateError::Corrupt { path: path.into(), source }));
            }
        };
        if let Some(e) = too_new(state.version) {
            return Err(e);
        }
        state.resources.sort_by(|a, b| a.address.cmp(&b.address));
        state.resources.iter_mut().for_each(Resource::migrate);
        if state.salt.is_empty() {
            // A state from before sensitive values were hashed: it gets its salt now.
            state.salt = new_salt();
        }
        Ok(state)
    }

    /// Resources are kept sorted by address (on load and on every change): lookups are binary
    /// searches, which matters with thousands of them.
    pub fn resource(&self, address: &str) -> Option<&Resource> {
        self.position(address).ok().map(|i| &self.resources[i])
    }

    fn position(&self, address: &str) -> Result<usize, usize> {
        self.resources.binary_search_by(|r| r.address.as_str().cmp(address))
    }

    /// Marks a resource tainted: it exists but never became ready.
    pub fn taint(&mut self, address: &str) {
        if let Ok(i) = self.position(address) {
            self.resources[i].tainted = true;
        }
    }

    /// Inserts or replaces a resource, keeping resources sorted by address.
    pub fn put(&mut self, r: Resource) {
        match self.position(&r.address) {
            Ok(i) => self.resources[i] = r,
            Err(i) => self.resources.insert(i, r),
        }
    }

    pub fn remove(&mut self, address: &str) {
        if let Ok(i) = self.position(address) {
            self.resources.remove(i);
        }
    }

    /// Records an engine call as in flight.
    pub fn intend(&mut self, pending: Pending) {
        self.pending.push(pending);
    }

    /// The call `operation` on `address` completed (or failed and the engine said so).
    pub fn settle(&mut self, operation: PendingOp, address: &str) {
        self.pending.retain(|p| !(p.operation == operation && p.address == address));
    }

    /// Is the object with this id being removed by a call a stopped run left in flight?
    pub fn removal_pending(&self, id: &str) -> bool {
        self.pending.iter().any(|p| p.operation == PendingOp::Remove && p.id.as_deref() == Some(id))
    }

    /// JSON bytes as written (pretty, sorted, trailing newline).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = serde_json::to_vec_pretty(self).expect("state is plain data");
        b.push(b'\n');
        b
    }
}

fn new_salt() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

/// Writes the state for one run: locally, the backup once before the first change, then every
/// save atomically; in PostgreSQL, every save a checked transaction. `serial` is bumped only
/// when content changed.
pub struct StateWriter {
    location: Location,
    last_written: Option<State>,
    backed_up: bool,
    /// PostgreSQL: the run's connection for writes.
    connection: postgres::Connection,
}

impl StateWriter {
    pub fn new(location: &Location, loaded: &State) -> Self {
        let exists = match location {
            Location::Local(path) => path.exists(),
            Location::Postgres(_) => !loaded.lineage.is_empty(),
        };
        StateWriter {
            location: location.clone(),
            last_written: exists.then(|| loaded.clone()),
            backed_up: false,
            connection: Default::default(),
        }
    }

    pub fn save(&mut self, state: &mut State) -> Result<(), StateError> {
        if let Some(prev) = &self.last_written {
            // Compared as if serial and version were the previous ones (in place: no copy of the
            // whole state for every operation's save).
            let serial = std::mem::replace(&mut state.serial, prev.serial);
            let version = std::mem::replace(&mut state.flinkform_version, prev.flinkform_version.clone());
            let unchanged = state == prev;
            state.serial = serial;
            state.flinkform_version = version;
            if unchanged {
                return Ok(());
            }
            state.serial = prev.serial + 1;
        } else if state.serial == 0 {
            state.serial = 1;
        }
        state.flinkform_version = env!("CARGO_PKG_VERSION").into();
        if state.lineage.is_empty() {
            state.lineage = uuid::Uuid::new_v4().to_string();
        }
        match &self.location {
            Location::Local(path) => {
                if !self.backed_up && path.exists() {
                    let backup = backup_path(path);
                    let bytes =
                        std::fs::read(path).map_err(|source| StateError::Read { path: path.clone(), source })?;
                    write_atomic(&backup, &bytes).map_err(|source| StateError::Write { path: backup, source })?;
                }
                self.backed_up = true;
                write_atomic(path, &state.to_bytes())
                    .map_err(|source| StateError::Write { path: path.clone(), source })?;
            }
            Location::Postgres(pg) => {
                let previous = self.last_written.as_ref().map(|p| (p.lineage.as_str(), p.serial));
                pg.write(&mut self.connection, state, previous)?;
            }
        }
        self.last_written = Some(state.clone());
        Ok(())
    }
}

pub fn backup_path(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.backup", path.display()))
}

/// Temp file in the same directory, fsync, rename over, fsync the directory; mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o600))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_moves_only_on_change_and_backup_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut s = State::new();
        let mut w = StateWriter::new(&Location::Local(path.clone()), &s);
        w.save(&mut s).unwrap();
        assert_eq!(s.serial, 1);
        w.save(&mut s).unwrap();
        assert_eq!(s.serial, 1, "no content change, no new serial");
        s.outputs.insert("x".into(), StateOutput { value: 1.into(), sensitive: false });
        w.save(&mut s).unwrap();
        assert_eq!(s.serial, 2);
        assert!(!backup_path(&path).exists(), "no previous version existed when this run began");

        // A new run backs up the previous version once, before its first change.
        let before = std::fs::read(&path).unwrap();
        let mut w = StateWriter::new(&Location::Local(path.clone()), &State::load(&path).unwrap());
        s.outputs.insert("y".into(), StateOutput { value: 2.into(), sensitive: false });
        w.save(&mut s).unwrap();
        s.outputs.insert("z".into(), StateOutput { value: 3.into(), sensitive: false });
        w.save(&mut s).unwrap();
        assert_eq!(s.serial, 4);
        assert_eq!(std::fs::read(backup_path(&path)).unwrap(), before);
        let loaded = State::load(&path).unwrap();
        assert_eq!(loaded, s);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn corrupt_and_newer_states_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, "{ not json").unwrap();
        assert!(matches!(State::load(&path), Err(StateError::Corrupt { .. })));
        std::fs::write(&path, r#"{"version": 99}"#).unwrap();
        assert!(matches!(State::load(&path), Err(StateError::TooNew { .. })));
        // A newer state that reads as this version's is still refused.
        let newer = State { version: SCHEMA_VERSION + 1, ..State::new() };
        std::fs::write(&path, serde_json::to_vec(&newer).unwrap()).unwrap();
        assert!(matches!(State::load(&path), Err(StateError::TooNew { found, .. }) if found == SCHEMA_VERSION + 1));
    }
}
