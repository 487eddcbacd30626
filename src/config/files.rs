//! Every file a configuration load reads goes through here and is remembered: evaluating the
//! configuration again (the outputs, once apply knows the published ports) reads what the first
//! load read, never the disk, so a file edited while apply waits for its `yes` changes nothing.
//! The load is synchronous and runs on one thread; the record is that thread's.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What one load read: file contents (or the error reading them), directory listings, which
/// paths were files, and the hashes of job jars (their bytes are not kept).
#[derive(Debug, Default)]
pub struct Files {
    contents: BTreeMap<PathBuf, Result<String, (io::ErrorKind, String)>>,
    listings: BTreeMap<PathBuf, Vec<PathBuf>>,
    is_file: BTreeMap<PathBuf, bool>,
    hashes: BTreeMap<PathBuf, Result<String, (io::ErrorKind, String)>>,
}

enum Mode {
    Record(Files),
    Replay(Arc<Files>),
}

thread_local! {
    static MODE: RefCell<Mode> = RefCell::new(Mode::Record(Files::default()));
}

/// Starts recording a fresh load.
pub(super) fn record() {
    MODE.with(|m| *m.borrow_mut() = Mode::Record(Files::default()));
}

/// Serves every read from `files` until [`finish`].
pub(super) fn replay(files: Arc<Files>) {
    MODE.with(|m| *m.borrow_mut() = Mode::Replay(files));
}

/// Ends a load: what it recorded (or replayed).
pub(super) fn finish() -> Arc<Files> {
    MODE.with(|m| match std::mem::replace(&mut *m.borrow_mut(), Mode::Record(Files::default())) {
        Mode::Record(files) => Arc::new(files),
        Mode::Replay(files) => files,
    })
}

fn missing(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} was not read when the configuration was loaded", path.display()),
    )
}

type Table<T> = BTreeMap<PathBuf, Result<T, (io::ErrorKind, String)>>;

/// Reads through `read` when recording (and keeps the result in the table `get_mut` picks);
/// when replaying, answers from the table `get` picks.
fn remembered<T: Clone>(
    path: &Path,
    get: fn(&Files) -> &Table<T>,
    get_mut: fn(&mut Files) -> &mut Table<T>,
    read: impl FnOnce() -> io::Result<T>,
) -> io::Result<T> {
    let restore = |r: Result<T, (io::ErrorKind, String)>| r.map_err(|(kind, msg)| io::Error::new(kind, msg));
    MODE.with(|m| match &mut *m.borrow_mut() {
        Mode::Replay(files) => get(files).get(path).cloned().map(restore).unwrap_or_else(|| Err(missing(path))),
        Mode::Record(files) => {
            let result = read().map_err(|e| (e.kind(), e.to_string()));
            get_mut(files).insert(path.to_path_buf(), result.clone());
            restore(result)
        }
    })
}

/// `std::fs::read_to_string`, remembered.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    remembered(path, |f| &f.contents, |f| &mut f.contents, || std::fs::read_to_string(path))
}

/// The sha256 (hex) of a file's bytes, remembered (job jars: the bytes are not kept).
pub fn sha256(path: &Path) -> io::Result<String> {
    use sha2::{Digest, Sha256};
    let hash = || std::fs::read(path).map(|bytes| hex::encode(Sha256::digest(&bytes)));
    remembered(path, |f| &f.hashes, |f| &mut f.hashes, hash)
}

/// The paths in a directory (none when it cannot be read), remembered.
pub fn list(dir: &Path) -> Vec<PathBuf> {
    MODE.with(|m| match &mut *m.borrow_mut() {
        Mode::Replay(files) => files.listings.get(dir).cloned().unwrap_or_default(),
        Mode::Record(files) => {
            let paths: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            files.listings.insert(dir.to_path_buf(), paths.clone());
            paths
        }
    })
}

/// `Path::is_file`, remembered.
pub fn is_file(path: &Path) -> bool {
    MODE.with(|m| match &mut *m.borrow_mut() {
        Mode::Replay(files) => files.is_file.get(path).copied().unwrap_or(false),
        Mode::Record(files) => *files.is_file.entry(path.to_path_buf()).or_insert_with(|| path.is_file()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_reads_what_was_recorded_not_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.hcl");
        std::fs::write(&path, "first").unwrap();
        record();
        assert_eq!(read_to_string(&path).unwrap(), "first");
        assert_eq!(list(dir.path()), vec![path.clone()]);
        assert!(is_file(&path));
        let files = finish();
        std::fs::write(&path, "edited").unwrap();
        std::fs::write(dir.path().join("b.hcl"), "new").unwrap();
        replay(files);
        assert_eq!(read_to_string(&path).unwrap(), "first");
        assert_eq!(list(dir.path()), vec![path.clone()]);
        assert!(read_to_string(&dir.path().join("b.hcl")).is_err(), "never read the first time");
        finish();
    }
}
