//! Sensitive values in what flinkform shows and stores: each is replaced by a keyed hash
//! (`sensitive:v2:<hex>`, HMAC-SHA256 under the key of [`crate::key`] over the state's salt and
//! the value), enough to see that it changed and useless to read back or to guess offline: the
//! key is in neither the state nor the plan. States made before the key existed keep their
//! salted hashes (`sensitive:v1:`) until they hold none. Renderers show any such hash as
//! `(sensitive value)`.

use crate::key::Key;
use sha2::{Digest, Sha256};

const PREFIX: &str = "sensitive:v";
pub use crate::config::SENSITIVE_SHOWN as SHOWN;

/// How one state's sensitive values are hashed.
#[derive(Debug, Clone)]
pub struct Masker {
    key: Option<Key>,
    /// Hash with the key (v2), or salted only (v1) for a state that still holds such hashes.
    keyed: bool,
    salt: String,
}

impl Masker {
    /// Keyed hashes (scheme v2): what every new state uses.
    pub fn keyed(key: &Key, salt: &str) -> Masker {
        Masker { key: Some(key.clone()), keyed: true, salt: salt.to_string() }
    }

    /// Salted hashes (v1) for a state made before keys, with the key kept for what is derived
    /// from it (TLS material).
    pub fn legacy(key: &Key, salt: &str) -> Masker {
        Masker { key: Some(key.clone()), keyed: false, salt: salt.to_string() }
    }

    /// Salted hashes (scheme v1), for a state whose recorded hashes were made that way.
    pub fn salted(salt: &str) -> Masker {
        Masker { key: None, keyed: false, salt: salt.to_string() }
    }

    /// The TLS root of the cluster whose TLS volume is `volume`, for this state (see
    /// [`crate::tls`]). Without a key (reading a configuration only) the root is one nothing is
    /// ever written with.
    pub fn tls_root(&self, volume: &str) -> crate::tls::Root {
        let none = Key::from_bytes(&[]);
        crate::tls::Root::derive(self.key.as_ref().unwrap_or(&none), &self.salt, volume)
    }

    /// The hash that stands for `value` in attributes, config hashes, state and plan files.
    pub fn mask(&self, value: &str) -> String {
        match self.key.as_ref().filter(|_| self.keyed) {
            Some(key) => {
                format!("{PREFIX}2:{}", hex::encode(key.mac("sensitive", &[self.salt.as_bytes(), value.as_bytes()])))
            }
            None => {
                let mut h = Sha256::new();
                h.update(self.salt.as_bytes());
                h.update(b"\0");
                h.update(value.as_bytes());
                format!("{PREFIX}1:{}", hex::encode(h.finalize()))
            }
        }
    }
}

/// Does `text` hold a hash made by the salted scheme (v1)?
pub fn has_salted(text: &str) -> bool {
    text.contains("sensitive:v1:")
}

/// `text` with every masked value shown as `(sensitive value)`.
/// Whether `text` holds a sensitive value's hash ([`display`] would change it), without
/// copying it when it cannot.
pub fn is_masked(text: &str) -> bool {
    text.contains(PREFIX) && display(text) != text
}

pub fn display(text: &str) -> String {
    if !text.contains(PREFIX) {
        return text.to_string();
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(PREFIX) {
        out.push_str(&rest[..i]);
        let after = &rest[i + PREFIX.len()..];
        let version = after.find(':').filter(|&n| n > 0 && after[..n].bytes().all(|b| b.is_ascii_digit()));
        let Some(n) = version else {
            out.push_str(PREFIX);
            rest = after;
            continue;
        };
        out.push_str(SHOWN);
        let after = &after[n + 1..];
        let hex_len = after.chars().take_while(|c| c.is_ascii_hexdigit()).count();
        rest = &after[hex_len..];
    }
    out.push_str(rest);
    out
}

/// Attributes as shown to a reader.
pub fn display_map(
    attributes: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    attributes.iter().map(|(k, v)| (k.clone(), display(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_are_keyed_salted_and_displayed_masked() {
        let key = Key::from_bytes(b"a-key-of-at-least-thirty-two-bytes!!");
        let other = Key::from_bytes(b"another-key-of-at-least-thirty-two!!");
        let a = Masker::keyed(&key, "salt-a").mask("hunter2");
        assert_ne!(a, Masker::keyed(&key, "salt-b").mask("hunter2"));
        assert_ne!(a, Masker::keyed(&other, "salt-a").mask("hunter2"));
        assert_eq!(a, Masker::keyed(&key, "salt-a").mask("hunter2"));
        assert!(!a.contains("hunter2") && a.starts_with("sensitive:v2:"));
        assert_eq!(display(&format!("k: {a}\nx: 1")), "k: (sensitive value)\nx: 1");
        let legacy = Masker::salted("salt-a").mask("hunter2");
        assert!(has_salted(&legacy) && !has_salted(&a));
        assert_eq!(display(&format!("k: {legacy}")), "k: (sensitive value)");
        assert_eq!(display("sensitive:vx: not a hash"), "sensitive:vx: not a hash");
    }
}
