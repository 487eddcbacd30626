//! Where the state lives — a local file (the default) or PostgreSQL — and its lock, whichever
//! it is. What reads, writes or locks a state asks a [`Location`], never a path.

use super::postgres::{PgLocation, PgLock};
use super::{FileLock, LockInfo, State, StateError};
use std::path::PathBuf;
use std::time::Duration;

/// Where a state lives: a local file (the default), or PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    Postgres(PgLocation),
}

impl Location {
    /// The state stored there; an empty one (no lineage yet) when there is none.
    pub fn read(&self) -> Result<State, StateError> {
        match self {
            Location::Local(path) => State::load(path),
            Location::Postgres(pg) => pg.read(),
        }
    }

    /// Where, for messages (no credentials).
    pub fn shown(&self) -> String {
        match self {
            Location::Local(path) => path.display().to_string(),
            Location::Postgres(pg) => format!("PostgreSQL ({})", pg.shown()),
        }
    }
}

/// The state's lock, held while a command reads-then-writes it; released on drop (and by the
/// operating system or PostgreSQL when the process dies).
pub enum StateLock {
    File(FileLock),
    Postgres(Box<PgLock>),
}

impl StateLock {
    /// Takes the lock, retrying until `timeout`; the error names the holder.
    pub fn acquire(location: &Location, operation: &str, timeout: Duration) -> Result<StateLock, StateError> {
        match location {
            Location::Local(path) => FileLock::acquire(path, operation, timeout).map(StateLock::File),
            Location::Postgres(pg) => {
                pg.lock(&LockInfo::new(operation), operation, timeout).map(|l| StateLock::Postgres(Box::new(l)))
            }
        }
    }

    /// Takes the lock if it is free now; None when another process holds it. A local lock says
    /// who holds it only at [`StateLock::announce`], for a caller with something to start first.
    pub fn try_take(location: &Location, operation: &str) -> Result<Option<StateLock>, StateError> {
        match location {
            Location::Local(path) => Ok(FileLock::try_take(path)?.map(StateLock::File)),
            Location::Postgres(pg) => match pg.lock(&LockInfo::new(operation), operation, Duration::ZERO) {
                Ok(lock) => Ok(Some(StateLock::Postgres(Box::new(lock)))),
                Err(StateError::Locked(_)) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// Writes who holds the lock (PostgreSQL's was written as it was taken).
    pub fn announce(&mut self, operation: &str) -> Result<(), StateError> {
        match self {
            StateLock::File(f) => f.announce(operation),
            StateLock::Postgres(_) => Ok(()),
        }
    }
}
