//! Mutual TLS material for a cluster with `security { tls = true }` (docs/ARCHITECTURE.md,
//! "Secrets"): derived, never stored by flinkform. A cluster's [`Root`] is an HMAC under the key
//! of [`crate::key`] over the state's salt and the name of the cluster's TLS volume; the material is derived
//! from the root and the nonce its TLS volume was labelled with when created. So any run that
//! holds the key (a CI runner without a local file) can speak to the cluster, a new nonce (the
//! volume replaced) rotates every certificate, and neither the state, the plan nor a label holds
//! anything that opens a keystore or signs a certificate.
//!
//! Two trust domains, as Flink's SSL setup recommends: internal connections (RPC, blobs, data
//! exchange) use one self-signed certificate the cluster pins; REST uses a certificate authority
//! that signs the JobManagers' server certificate and flinkform's client certificate, and REST
//! trusts only that authority. ECDSA P-256 keys, so the cipher suites are ECDHE_ECDSA ones.

use crate::key::Key;
use p12_keystore::{Certificate as P12Cert, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
use p256::pkcs8::EncodePrivateKey;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber,
};

pub use crate::names::LABEL_TLS_NONCE as NONCE_LABEL;

/// The cipher suites Flink is told to use: ECDHE with the ECDSA keys derived here (Flink's
/// default, `TLS_RSA_WITH_AES_128_CBC_SHA`, needs RSA keys and has no forward secrecy).
pub const CIPHER_SUITES: &str = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TlsError {
    #[error("generating TLS certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("writing a PKCS#12 keystore: {0}")]
    Keystore(String),
}

/// A cluster's root secret, from which all its TLS material is derived.
#[derive(Clone, PartialEq, Eq)]
pub struct Root([u8; 32]);

impl std::fmt::Debug for Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Root(..)")
    }
}

impl Root {
    /// The root of the cluster whose TLS volume is `volume` (a name unique to the project and
    /// the cluster), for the state with `salt`.
    pub fn derive(key: &Key, salt: &str, volume: &str) -> Root {
        Root(key.mac("tls-root", &[salt.as_bytes(), volume.as_bytes()]))
    }

    fn mac(&self, purpose: &str, parts: &[&[u8]]) -> [u8; 32] {
        Key::from_bytes(&self.0).mac(purpose, parts)
    }

    /// The password of the cluster's keystores. It opens nothing without the files, which only
    /// the engine can read; it stays the same across rotations, so containers keep their hash.
    pub fn keystore_password(&self) -> String {
        hex::encode(&self.mac("keystore-password", &[])[..16])
    }
}

/// The client side of a cluster's REST TLS: what flinkform (or `curl --cert`) presents, and
/// the authority it trusts the JobManagers through. PEM text.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientIdentity(..)")
    }
}

/// The files written into a cluster's TLS volume (name → bytes), and the client identity.
pub struct Material {
    pub files: Vec<(&'static str, Vec<u8>)>,
    pub client: ClientIdentity,
}

/// Keystore file names in the TLS volume.
pub const INTERNAL_KEYSTORE: &str = "internal.p12";
pub const INTERNAL_TRUSTSTORE: &str = "internal-trust.p12";
pub const REST_KEYSTORE: &str = "rest.p12";
pub const REST_TRUSTSTORE: &str = "rest-trust.p12";

/// A key and its self-description, derived from `root`, `nonce` and `purpose`.
struct Derived {
    key: KeyPair,
    /// The same key, signing deterministically.
    signer: Deterministic,
    pkcs8: Vec<u8>,
    serial: SerialNumber,
}

/// A P-256 key that signs deterministically (RFC 6979), where ring's signatures are
/// randomized: the same root and nonce then give byte-identical certificates, so material
/// derived in another run, or for another swarm service, is the material already running (a
/// TaskManager started later trusts the JobManager's certificate only if it is the same one).
struct Deterministic {
    key: p256::ecdsa::SigningKey,
    public: Vec<u8>,
}

impl Deterministic {
    fn new(secret: &p256::SecretKey) -> Deterministic {
        let public = secret.public_key().to_sec1_bytes().to_vec();
        Deterministic { key: p256::ecdsa::SigningKey::from(secret), public }
    }
}

impl rcgen::PublicKeyData for Deterministic {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for Deterministic {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        use p256::ecdsa::signature::Signer;
        let signature: p256::ecdsa::Signature = self.key.sign(msg);
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

fn derive(root: &Root, nonce: &str, purpose: &str) -> Result<Derived, TlsError> {
    // A scalar outside the curve's order is skipped (chance about 2^-32).
    for counter in 0u8.. {
        let bytes = root.mac("tls-key", &[nonce.as_bytes(), purpose.as_bytes(), &[counter]]);
        if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
            let pkcs8 = secret.to_pkcs8_der().map_err(|e| TlsError::Keystore(e.to_string()))?.as_bytes().to_vec();
            let key = KeyPair::try_from(pkcs8.as_slice())?;
            let mut serial = root.mac("tls-serial", &[nonce.as_bytes(), purpose.as_bytes()])[..16].to_vec();
            serial[0] &= 0x7f;
            let signer = Deterministic::new(&secret);
            return Ok(Derived { key, signer, pkcs8, serial: SerialNumber::from_slice(&serial) });
        }
    }
    unreachable!("256 consecutive HMAC outputs outside the P-256 order")
}

fn params(common_name: &str, sans: &[String], serial: SerialNumber) -> Result<CertificateParams, TlsError> {
    let mut p = CertificateParams::new(sans.to_vec())?;
    p.distinguished_name.push(DnType::OrganizationName, "flinkform");
    p.distinguished_name.push(DnType::CommonName, common_name);
    p.serial_number = Some(serial);
    // Fixed dates keep derived certificates identical in meaning on every run; rotation is
    // replacing the cluster's TLS volume (README, "Security").
    p.not_before = rcgen::date_time_ymd(2025, 1, 1);
    p.not_after = rcgen::date_time_ymd(2125, 1, 1);
    Ok(p)
}

/// The REST certificate authority of a cluster (its certificate and its issuer).
fn rest_ca(
    root: &Root,
    nonce: &str,
    scope: &str,
) -> Result<(rcgen::Certificate, Issuer<'static, Deterministic>), TlsError> {
    let d = derive(root, nonce, "rest-ca")?;
    let mut p = params(&format!("flinkform REST CA {scope}"), &[], d.serial)?;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let cert = p.self_signed(&d.signer)?;
    Ok((cert, Issuer::new(p, d.signer)))
}

fn leaf(
    root: &Root,
    nonce: &str,
    purpose: &str,
    sans: &[String],
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, Deterministic>,
) -> Result<(rcgen::Certificate, Derived), TlsError> {
    let d = derive(root, nonce, purpose)?;
    let mut p = params(purpose, sans, d.serial.clone())?;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![usage];
    p.use_authority_key_identifier_extension = true;
    Ok((p.signed_by(&d.signer, issuer)?, d))
}

/// flinkform's client identity for the cluster whose TLS volume is `scope`.
pub fn client(root: &Root, nonce: &str, scope: &str) -> Result<ClientIdentity, TlsError> {
    let (ca, issuer) = rest_ca(root, nonce, scope)?;
    client_of(root, nonce, &ca, &issuer)
}

/// The client certificate signed by the REST authority `ca`.
fn client_of(
    root: &Root,
    nonce: &str,
    ca: &rcgen::Certificate,
    issuer: &Issuer<'_, Deterministic>,
) -> Result<ClientIdentity, TlsError> {
    let (cert, d) = leaf(root, nonce, "flinkform", &[], ExtendedKeyUsagePurpose::ClientAuth, issuer)?;
    Ok(ClientIdentity { ca_pem: ca.pem(), cert_pem: cert.pem(), key_pem: d.key.serialize_pem() })
}

/// Everything a cluster's containers read, and the client identity. `hosts`: the names and
/// addresses the JobManagers' REST endpoint is reached by.
pub fn material(root: &Root, nonce: &str, scope: &str, hosts: &[String]) -> Result<Material, TlsError> {
    let password = root.keystore_password();
    let internal = derive(root, nonce, "internal")?;
    let mut p = params(&format!("flink internal {scope}"), &[], internal.serial.clone())?;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    let internal_cert = p.self_signed(&internal.signer)?;

    let (ca, issuer) = rest_ca(root, nonce, scope)?;
    let (server, server_key) = leaf(root, nonce, "flink-rest", hosts, ExtendedKeyUsagePurpose::ServerAuth, &issuer)?;
    let client = client_of(root, nonce, &ca, &issuer)?;

    let files = vec![
        (INTERNAL_KEYSTORE, key_store("flink-internal", &internal.pkcs8, &[internal_cert.der()], &password)?),
        (INTERNAL_TRUSTSTORE, trust_store("flink-internal", internal_cert.der(), &password)?),
        (REST_KEYSTORE, key_store("flink-rest", &server_key.pkcs8, &[server.der(), ca.der()], &password)?),
        (REST_TRUSTSTORE, trust_store("flinkform-rest-ca", ca.der(), &password)?),
        ("rest-ca.pem", ca.pem().into_bytes()),
    ];
    Ok(Material { files, client })
}

fn p12(e: impl std::fmt::Display) -> TlsError {
    TlsError::Keystore(e.to_string())
}

fn key_store(alias: &str, pkcs8: &[u8], chain: &[&[u8]], password: &str) -> Result<Vec<u8>, TlsError> {
    let certs = chain.iter().map(|c| P12Cert::from_der(c)).collect::<Result<Vec<_>, _>>().map_err(p12)?;
    let key = PrivateKey::from_der(pkcs8).map_err(p12)?;
    let mut ks = KeyStore::new();
    ks.add_entry(alias, KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(alias, key, certs)));
    ks.writer(password).write().map_err(p12)
}

/// A truststore: one certificate marked trusted the way Java's PKCS#12 keystore reads it.
fn trust_store(alias: &str, cert: &[u8], password: &str) -> Result<Vec<u8>, TlsError> {
    let mut ks = KeyStore::new();
    ks.add_entry(alias, KeyStoreEntry::Certificate(P12Cert::from_der(cert).map_err(p12)?));
    ks.writer(password).write().map_err(p12)
}

/// Writes `identity` as `ca.pem`, `client.pem` and `client-key.pem` into `dir` (made
/// owner-only): what `curl --cacert ca.pem --cert client.pem --key client-key.pem` takes.
pub fn write_bundle(dir: &std::path::Path, identity: &ClientIdentity) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    for (name, text) in
        [("ca.pem", &identity.ca_pem), ("client.pem", &identity.cert_pem), ("client-key.pem", &identity.key_pem)]
    {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        std::io::Write::write_all(&mut f, text.as_bytes())?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(())
}

/// The material as a tar archive (what the engine's archive upload takes), readable by the
/// Flink image's user (uid 9999) and no one else.
pub fn archive(material: &Material) -> Result<Vec<u8>, TlsError> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in &material.files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o400);
        h.set_uid(9999);
        h.set_gid(9999);
        h.set_mtime(0);
        tar.append_data(&mut h, name, bytes.as_slice()).map_err(p12)?;
    }
    tar.into_inner().map_err(p12)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> Root {
        Root::derive(&Key::from_bytes(&[7; 32]), "salt", "proj-analytics-tls")
    }

    #[test]
    fn the_same_root_and_nonce_give_the_same_keys_and_another_nonce_other_keys() {
        let a = client(&root(), "n1", "analytics").unwrap();
        let b = client(&root(), "n1", "analytics").unwrap();
        let c = client(&root(), "n2", "analytics").unwrap();
        assert_eq!(a.key_pem, b.key_pem);
        assert_ne!(a.key_pem, c.key_pem);
        let other = Root::derive(&Key::from_bytes(&[8; 32]), "salt", "proj-analytics-tls");
        assert_ne!(client(&other, "n1", "analytics").unwrap().key_pem, a.key_pem);
    }

    #[test]
    fn the_same_root_and_nonce_give_the_same_certificates() {
        let hosts = ["localhost".to_string()];
        let a = material(&root(), "n1", "analytics", &hosts).unwrap();
        let b = material(&root(), "n1", "analytics", &hosts).unwrap();
        let pem = |m: &Material| m.files.iter().find(|(n, _)| *n == "rest-ca.pem").unwrap().1.clone();
        assert_eq!(pem(&a), pem(&b), "a certificate derived twice is the same certificate");
        assert_eq!(a.client.cert_pem, b.client.cert_pem);
        let password = root().keystore_password();
        let certs = |m: &Material, file: &str| {
            let bytes = &m.files.iter().find(|(n, _)| *n == file).unwrap().1;
            let ks = KeyStore::from_pkcs12(bytes, &password, p12_keystore::Pkcs12ImportPolicy::Strict).unwrap();
            format!("{:?}", ks.entries().map(|(_, e)| e).collect::<Vec<_>>())
        };
        assert_eq!(certs(&a, INTERNAL_TRUSTSTORE), certs(&b, INTERNAL_TRUSTSTORE));
        let c = material(&root(), "n2", "analytics", &hosts).unwrap();
        assert_ne!(pem(&a), pem(&c));
    }

    #[test]
    fn the_material_holds_four_keystores_that_open_with_the_password() {
        let m = material(&root(), "n1", "analytics", &["localhost".into(), "127.0.0.1".into()]).unwrap();
        let password = root().keystore_password();
        for (name, bytes) in m.files.iter().filter(|(n, _)| n.ends_with(".p12")) {
            let ks = KeyStore::from_pkcs12(bytes, &password, p12_keystore::Pkcs12ImportPolicy::Strict).unwrap();
            assert_eq!(ks.entries_len(), 1, "{name}");
            assert!(KeyStore::from_pkcs12(bytes, "wrong", p12_keystore::Pkcs12ImportPolicy::Strict).is_err());
        }
        let tar = archive(&m).unwrap();
        assert!(tar.len() > 1024);
    }
}
