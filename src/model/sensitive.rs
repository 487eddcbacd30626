//! Sensitive values in what flinkform shows and stores: each is replaced by a salted hash
//! (`sensitive:v1:<hex>`), enough to see that it changed and useless to read it back. The salt is
//! the state's own (random, kept in the state file), so the same secret hashes differently in
//! two projects. Renderers show any such hash as `(sensitive value)`.

use sha2::{Digest, Sha256};

const PREFIX: &str = "sensitive:v1:";
pub use crate::config::SENSITIVE_SHOWN as SHOWN;

/// The salted hash that stands for `value` in attributes, hashes, state and plan files.
pub fn mask(salt: &str, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(b"\0");
    h.update(value.as_bytes());
    format!("{PREFIX}{}", hex::encode(h.finalize()))
}

/// `text` with every masked value shown as `(sensitive value)`.
pub fn display(text: &str) -> String {
    if !text.contains(PREFIX) {
        return text.to_string();
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(PREFIX) {
        out.push_str(&rest[..i]);
        out.push_str(SHOWN);
        let after = &rest[i + PREFIX.len()..];
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
    fn masks_are_salted_and_displayed_masked() {
        let a = mask("salt-a", "hunter2");
        assert_ne!(a, mask("salt-b", "hunter2"));
        assert_eq!(a, mask("salt-a", "hunter2"));
        assert!(!a.contains("hunter2"));
        assert_eq!(display(&format!("k: {a}\nx: 1")), "k: (sensitive value)\nx: 1");
    }
}
