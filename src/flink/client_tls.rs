//! The client side of a cluster's mutual TLS: the cluster's REST authority as the only root,
//! flinkform's certificate for client authentication, and the name a JobManager reached by
//! address is verified as (see [`ByAddress`]).

use crate::tls::ClientIdentity;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// The process's TLS provider (ring): reqwest asks for one even for plain `http://` clients.
pub(super) fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Another part of the process may have installed one first; either serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// rustls' client side of a cluster's mutual TLS: its REST authority as the only root, and
/// flinkform's certificate for client authentication.
pub(super) fn client_config(identity: &ClientIdentity) -> Result<rustls::ClientConfig, String> {
    install_crypto();
    let verifier = by_address(identity)?;
    let chain = CertificateDer::pem_slice_iter(identity.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).map_err(|e| e.to_string())?;
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(chain, key)
        .map_err(|e| e.to_string())
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The verifier trusting only the cluster's REST authority.
fn by_address(identity: &ClientIdentity) -> Result<ByAddress, String> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(identity.ca_pem.as_bytes()) {
        roots.add(ca.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    let webpki =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider()).build().map_err(|e| e.to_string())?;
    Ok(ByAddress(webpki))
}

/// The name a JobManager's REST certificate is checked for when flinkform reaches it by an
/// IP address: every cluster's certificate names it.
const BY_ADDRESS: &str = "localhost";

/// WebPKI's verification against the cluster's own authority, except that a server reached by
/// IP address is checked as `localhost`: a swarm task's port is reached at its node's address,
/// which the certificate cannot name (nodes join and leave without the certificate changing).
/// What makes the server the cluster's JobManager is that the cluster's authority — which only
/// the cluster's keystores and flinkform's client bundle come from — signed it for serving; a
/// server reached by a DNS name is still checked for that name.
#[derive(Debug)]
struct ByAddress(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ByAddress {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let localhost = ServerName::try_from(BY_ADDRESS).expect("a valid DNS name");
        let name = match server_name {
            ServerName::IpAddress(_) => &localhost,
            other => other,
        };
        self.0.verify_server_cert(end_entity, intermediates, name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;
    use crate::tls::{REST_KEYSTORE, Root, material};

    /// Cluster `seed`'s REST certificate for `hosts` (the keystore's certificate that is not
    /// its authority's), and flinkform's verifier for that cluster.
    fn rest_certificate(seed: u8, hosts: &[&str]) -> (Vec<u8>, ByAddress) {
        let root = Root::derive(&Key::from_bytes(&[seed; 32]), "salt", "p-c-tls");
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let m = material(&root, "n1", "p-c-tls", &hosts).unwrap();
        let store = &m.files.iter().find(|(f, _)| *f == REST_KEYSTORE).unwrap().1;
        let archive = p12_keystore::Pkcs12Archive::from_pkcs12(store, &root.keystore_password()).unwrap();
        let ca = CertificateDer::from_pem_slice(m.client.ca_pem.as_bytes()).unwrap();
        let leaf = archive.certs.iter().map(|c| c.cert.as_der().to_vec()).find(|c| c[..] != ca[..]).unwrap();
        (leaf, by_address(&m.client).unwrap())
    }

    fn verify(leaf: &[u8], verifier: &ByAddress, name: &str) -> Result<ServerCertVerified, rustls::Error> {
        let name = ServerName::try_from(name.to_string()).unwrap();
        verifier.verify_server_cert(&CertificateDer::from(leaf), &[], &name, &[], UnixTime::now())
    }

    #[test]
    fn a_jobmanager_reached_by_any_address_is_checked_as_localhost_and_a_name_as_itself() {
        let (leaf, verifier) = rest_certificate(7, &["localhost", "127.0.0.1", "p-c-jobmanager-0"]);
        // A swarm node's address the certificate does not name.
        assert!(verify(&leaf, &verifier, "10.231.1.2").is_ok());
        assert!(verify(&leaf, &verifier, "p-c-jobmanager-0").is_ok());
        assert!(verify(&leaf, &verifier, "elsewhere.example").is_err(), "a DNS name is still checked");
    }

    #[test]
    fn another_clusters_certificate_is_refused_at_any_address() {
        let (leaf, _) = rest_certificate(7, &["localhost"]);
        let (_, other) = rest_certificate(8, &["localhost"]);
        assert!(verify(&leaf, &other, "10.231.1.2").is_err());
    }
}
