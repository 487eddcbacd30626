//! The config-hash: sha256 of the canonical JSON of a spec, prefixed by a hash-scheme version so
//! that a flinkform upgrade which changes the spec's shape can keep old hashes valid (by
//! computing the old scheme) instead of recreating everything.

use super::Spec;
use sha2::{Digest, Sha256};

/// The current hash scheme.
pub const SCHEME: &str = "v1";

/// `v1:<hex sha256>` of a spec (serde over BTreeMaps and ordered Vecs: canonical).
pub fn config_hash(spec: &Spec) -> String {
    hash_of(spec)
}

/// `v1:<hex sha256>` of any plain data's canonical JSON (a swarm service hashes its task's
/// config-hash with its placement).
pub fn hash_of<T: serde::Serialize>(value: &T) -> String {
    let json = serde_json::to_vec(value).expect("specs are plain data and always serialize");
    let mut h = Sha256::new();
    h.update(SCHEME.as_bytes());
    h.update(b"\n");
    h.update(&json);
    format!("{SCHEME}:{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_versioned() {
        let spec = Spec::Network { driver: "bridge".into() };
        let h = config_hash(&spec);
        assert!(h.starts_with("v1:"));
        assert_eq!(h, config_hash(&spec.clone()));
        assert_ne!(h, config_hash(&Spec::Volume { driver: "bridge".into() }));
    }
}
