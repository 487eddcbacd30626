//! The key behind flinkform's keyed hashes: the hashes that stand for sensitive values in state
//! and plans, and the authentication of saved plan files (docs/ARCHITECTURE.md, "Secrets").
//! It lives outside the state, the plan file and the repository, so neither can be used to
//! guess a secret offline nor forged: `FLINKFORM_KEY` (a team's CI secret), else the file
//! `FLINKFORM_KEY_FILE` names, else `~/.config/flinkform/key`, made on first use, owner-only.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::path::{Path, PathBuf};

/// Shortest key accepted from the environment or a file (a 32-byte key written as hex is 64).
pub const MIN_LEN: usize = 32;

#[derive(Clone)]
pub struct Key {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.id())
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum KeyError {
    #[error("FLINKFORM_KEY is {0} characters long; it needs at least {MIN_LEN}")]
    #[diagnostic(help("make one with `openssl rand -hex 32` and keep it in the CI's secret store"))]
    TooShort(usize),
    #[error("cannot read the key file {path}: {source}")]
    #[diagnostic(help("FLINKFORM_KEY_FILE or ~/.config/flinkform/key holds the key of the keyed hashes"))]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the key file {path} holds {len} characters; it needs at least {MIN_LEN}")]
    #[diagnostic(help("replace it with the output of `openssl rand -hex 32`"))]
    Short { path: PathBuf, len: usize },
    #[error("cannot create the key file {path}: {source}")]
    #[diagnostic(help("set FLINKFORM_KEY, or FLINKFORM_KEY_FILE to a writable path"))]
    Create { path: PathBuf, source: std::io::Error },
}

impl Key {
    /// A key from its bytes (tests, and the loaders below).
    pub fn from_bytes(bytes: &[u8]) -> Key {
        Key { bytes: bytes.to_vec() }
    }

    /// The key this process uses: environment, then file, then the user's own (made if absent).
    pub fn load() -> Result<Key, KeyError> {
        if let Ok(text) = std::env::var("FLINKFORM_KEY") {
            let text = text.trim();
            if text.len() < MIN_LEN {
                return Err(KeyError::TooShort(text.len()));
            }
            return Ok(Key::from_bytes(text.as_bytes()));
        }
        if let Some(path) = std::env::var_os("FLINKFORM_KEY_FILE") {
            return read_file(Path::new(&path));
        }
        let path = default_path();
        match read_file(&path) {
            Err(KeyError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => create(&path),
            other => other,
        }
    }

    /// A short public name of the key (recorded beside the hashes it made, so a run with
    /// another key says so instead of seeing every secret as changed).
    pub fn id(&self) -> String {
        hex::encode(&self.mac("key-id", &[])[..8])
    }

    /// HMAC-SHA256 of `parts` (length-prefixed: no two inputs collide) for one `purpose`.
    pub fn mac(&self, purpose: &str, parts: &[&[u8]]) -> [u8; 32] {
        self.hmac(purpose, parts).finalize().into_bytes().into()
    }

    /// Does `tag` authenticate `parts` for `purpose`? Compared in constant time.
    pub fn verify(&self, purpose: &str, parts: &[&[u8]], tag: &[u8]) -> bool {
        self.hmac(purpose, parts).verify_slice(tag).is_ok()
    }

    fn hmac(&self, purpose: &str, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.bytes).expect("HMAC takes any key length");
        m.update(purpose.as_bytes());
        m.update(b"\0");
        for p in parts {
            m.update(&(p.len() as u64).to_le_bytes());
            m.update(p);
        }
        m
    }
}

fn default_path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("flinkform").join("key")
}

fn read_file(path: &Path) -> Result<Key, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read { path: path.into(), source })?;
    let text = text.trim();
    if text.len() < MIN_LEN {
        return Err(KeyError::Short { path: path.into(), len: text.len() });
    }
    Ok(Key::from_bytes(text.as_bytes()))
}

/// Makes the user's key: 32 random bytes as hex, mode 0600, published with a hard link so two
/// processes starting at once end up with the same key (the second reads the first's).
fn create(path: &Path) -> Result<Key, KeyError> {
    use std::io::Write;
    let err = |source| KeyError::Create { path: path.into(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let text = format!("{}{}\n", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    }
    tmp.write_all(text.as_bytes()).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    match std::fs::hard_link(tmp.path(), path) {
        Ok(()) => Ok(Key::from_bytes(text.trim().as_bytes())),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_file(path),
        Err(e) => Err(err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_depend_on_key_purpose_and_framing() {
        let a = Key::from_bytes(b"a-key-of-at-least-thirty-two-bytes!!");
        let b = Key::from_bytes(b"another-key-of-at-least-thirty-two!!");
        assert_ne!(a.mac("p", &[b"x"]), b.mac("p", &[b"x"]));
        assert_ne!(a.mac("p", &[b"x"]), a.mac("q", &[b"x"]));
        assert_ne!(a.mac("p", &[b"ab", b"c"]), a.mac("p", &[b"a", b"bc"]));
        assert!(a.verify("p", &[b"x"], &a.mac("p", &[b"x"])));
        assert!(!b.verify("p", &[b"x"], &a.mac("p", &[b"x"])));
        assert_eq!(a.id().len(), 16);
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn the_users_key_is_made_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flinkform").join("key");
        let first = create(&path).unwrap();
        let again = create(&path).unwrap();
        assert_eq!(first.id(), again.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
