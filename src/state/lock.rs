//! The local state's lock: an OS advisory lock (`File::try_lock`, released when the process dies) on
//! `<state>.lock.info`, whose JSON says who holds it.

use super::StateError;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockInfo {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Operation")]
    pub operation: String,
    #[serde(rename = "Who")]
    pub who: String,
    #[serde(rename = "Pid")]
    pub pid: u32,
    #[serde(rename = "Created")]
    pub created: String,
}

impl LockInfo {
    /// This process, about to do `operation`.
    pub fn new(operation: &str) -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.into(),
            who: who(),
            pid: std::process::id(),
            created: crate::clock::now_rfc3339(),
        }
    }
}

impl LockInfo {
    /// Who holds a lock, for the message of the one waiting for it.
    pub fn describe(info: Option<&LockInfo>) -> String {
        match info {
            Some(i) => format!("ID {}, {} by {} (pid {}) since {}", i.id, i.operation, i.who, i.pid, i.created),
            None => "another flinkform process".into(),
        }
    }
}

/// What to do about a busy lock: only apply and destroy take --lock-timeout.
pub fn busy_hint(operation: &str) -> &'static str {
    if matches!(operation, "apply" | "destroy") {
        "Wait for it to finish, or pass --lock-timeout to wait longer"
    } else {
        "Run this again once it has finished"
    }
}

/// `user@host` of this process.
pub fn who() -> String {
    format!(
        "{}@{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
        std::fs::read_to_string("/etc/hostname").unwrap_or_default().trim()
    )
}

/// Held while a command reads-then-writes a local state; released on drop.
pub struct FileLock {
    file: File,
    path: PathBuf,
}

pub fn lock_path(state: &Path) -> PathBuf {
    PathBuf::from(format!("{}.lock.info", state.display()))
}

impl FileLock {
    /// Takes the lock if it is free now; None when another process holds it.
    pub fn try_acquire(state: &Path, operation: &str) -> Result<Option<FileLock>, StateError> {
        let Some(mut lock) = Self::try_take(state)? else { return Ok(None) };
        lock.announce(operation)?;
        Ok(Some(lock))
    }

    /// [`FileLock::try_acquire`] without saying who holds it yet, for a caller with something
    /// to start the moment the lock is held: [`FileLock::announce`] must follow.
    pub fn try_take(state: &Path) -> Result<Option<FileLock>, StateError> {
        let path = lock_path(state);
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                // Who holds the lock, from where: the state's own business, as private as it.
                .mode(0o600)
                .open(&path)
                .map_err(|source| StateError::Write { path: path.clone(), source })?;
            if file.try_lock().is_err() {
                return Ok(None);
            }
            // The file may have been removed by the previous holder between open and lock.
            let same = std::fs::metadata(&path).is_ok_and(|m| file.metadata().is_ok_and(|f| f.ino() == m.ino()));
            if same {
                return Ok(Some(FileLock { file, path }));
            }
        }
    }

    /// Takes the lock, retrying until `timeout`.
    pub fn acquire(state: &Path, operation: &str, timeout: Duration) -> Result<FileLock, StateError> {
        let path = lock_path(state);
        let start = Instant::now();
        loop {
            if let Some(lock) = Self::try_acquire(state, operation)? {
                return Ok(lock);
            }
            if start.elapsed() >= timeout {
                // The holder writes its info just after taking the lock: give it a moment.
                let mut text = String::new();
                for _ in 0..20 {
                    text.clear();
                    let _ = std::fs::File::open(&path).and_then(|mut f| f.read_to_string(&mut text));
                    if serde_json::from_str::<LockInfo>(&text).is_ok() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                let holder = serde_json::from_str::<LockInfo>(&text).ok();
                let holder = LockInfo::describe(holder.as_ref());
                let wait = busy_hint(operation);
                return Err(StateError::Locked(format!("the state {} is locked: {holder}. {wait}", state.display())));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Writes who holds the lock, for the message another process shows while it waits.
    pub fn announce(&mut self, operation: &str) -> Result<(), StateError> {
        let info = LockInfo::new(operation);
        let bytes = serde_json::to_vec_pretty(&info).expect("plain data");
        let io = |source| StateError::Write { path: self.path.clone(), source };
        self.file.set_len(0).map_err(io)?;
        self.file.rewind().map_err(io)?;
        self.file.write_all(&bytes).map_err(io)?;
        self.file.sync_all().map_err(io)
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_second_lock_fails_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let first = FileLock::acquire(&state, "apply", Duration::ZERO).unwrap();
        let err = FileLock::acquire(&state, "apply", Duration::ZERO).err().unwrap().to_string();
        assert!(err.contains("locked") && err.contains("apply by"), "{err}");
        assert!(err.contains("--lock-timeout"), "apply takes --lock-timeout: {err}");
        let err = FileLock::acquire(&state, "state rm", Duration::ZERO).err().unwrap().to_string();
        assert!(
            !err.contains("--lock-timeout") && err.contains("Run this again"),
            "state rm has no --lock-timeout: {err}"
        );
        let mode = std::fs::metadata(lock_path(&state)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the lock info is private");
        drop(first);
        FileLock::acquire(&state, "apply", Duration::ZERO).unwrap();
    }
}
