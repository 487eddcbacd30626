//! A TLS cluster in the executor (docs/ARCHITECTURE.md, "Secrets"): the nonce its TLS volume
//! was labelled with, the material written into that volume before a Flink container of the
//! cluster starts, and the REST clients that present flinkform's certificate to it.

use super::{ApplyError, Shared};
use crate::docker::DockerError;
use crate::docker::files::{volume_labels, write_into_volume};
use crate::flink::rest::FlinkRest;
use crate::model::sensitive::Masker;
use crate::model::{Instance, TlsSettings};
use crate::plan::Plan;
use crate::tls::{ClientIdentity, NONCE_LABEL};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Each TLS cluster's settings (by cluster address), and what was learnt of them this run.
pub(crate) struct TlsClusters {
    settings: BTreeMap<String, TlsSettings>,
    /// Roots of clusters whose JobManagers still speak TLS but no longer should (TLS turned off).
    masker: Masker,
    /// Volume name → its nonce, as read from its label or made at its creation.
    nonces: Mutex<BTreeMap<String, String>>,
    /// Volume name → (nonce, flinkform's identity for it).
    identities: Mutex<BTreeMap<String, (String, ClientIdentity)>>,
}

impl TlsClusters {
    /// The TLS clusters a plan touches (their instances carry the settings).
    pub(crate) fn of(plan: &Plan, masker: Masker) -> TlsClusters {
        let settings = plan
            .changes
            .iter()
            .filter_map(|c| c.desired.as_ref())
            .filter_map(|d| Some((d.cluster.clone(), d.tls.clone()?)))
            .collect();
        TlsClusters { settings, masker, nonces: Mutex::default(), identities: Mutex::default() }
    }
}

/// A fresh nonce for a TLS volume about to be created: random, not secret.
pub(crate) fn new_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Records the nonce the TLS volume `volume` carries (the engine keeps an existing volume's
/// labels, so it is read back rather than assumed).
pub(crate) async fn learn_nonce(shared: &Shared, volume: &str) -> Result<String, ApplyError> {
    if let Some(n) = shared.tls.nonces.lock().ok().and_then(|m| m.get(volume).cloned()) {
        return Ok(n);
    }
    let nonce = read_nonce(&shared.engine, volume).await?;
    if let Ok(mut m) = shared.tls.nonces.lock() {
        m.insert(volume.to_string(), nonce.clone());
    }
    Ok(nonce)
}

/// Writes the cluster's keystores into its TLS volume `d` (before its Flink containers start).
pub(crate) async fn write(shared: &Shared, d: &Instance) -> Result<(), ApplyError> {
    let t = d.tls.as_ref().ok_or_else(|| ApplyError::Internal(format!("{}: TLS without settings", d.address)))?;
    let nonce = learn_nonce(shared, &t.volume).await?;
    let material =
        crate::tls::material(&t.root, &nonce, &t.volume, &t.hosts).map_err(|e| ApplyError::Internal(e.to_string()))?;
    let tar = crate::tls::archive(&material).map_err(|e| ApplyError::Internal(e.to_string()))?;
    super::ensure_image(shared, &t.image, Default::default()).await?;
    write_into_volume(&shared.engine, &t.image, &t.volume, tar).await?;
    Ok(())
}

/// A REST client for `cluster` at `url`: plain, or, for an `https://` URL (a JobManager that
/// runs with TLS, whatever the configuration now says), presenting flinkform's certificate.
pub(crate) async fn rest(shared: &Shared, cluster: &str, url: String) -> Result<FlinkRest, ApplyError> {
    if !url.starts_with("https://") {
        return Ok(FlinkRest::new(url));
    }
    let volume = match shared.tls.settings.get(cluster) {
        Some(t) => t.volume.clone(),
        None => recorded_volume(shared, cluster)?,
    };
    let nonce = learn_nonce(shared, &volume).await?;
    let cached = shared.tls.identities.lock().ok().and_then(|m| m.get(&volume).cloned());
    let identity = match cached {
        Some((n, identity)) if n == nonce => identity,
        _ => {
            let root = shared.tls.masker.tls_root(&volume);
            let identity =
                crate::tls::client(&root, &nonce, &volume).map_err(|e| ApplyError::Internal(e.to_string()))?;
            if let Ok(mut m) = shared.tls.identities.lock() {
                m.insert(volume, (nonce, identity.clone()));
            }
            identity
        }
    };
    Ok(FlinkRest::with_tls(url, &identity)?)
}

/// [`rest`] for what runs outside an apply (settling a killed run's stop-with-savepoint,
/// `status`): from the state and the engine alone.
pub async fn rest_outside_apply(
    engine: &crate::docker::Engine,
    state: &crate::state::State,
    masker: &Masker,
    cluster: &str,
    url: String,
) -> Result<FlinkRest, ApplyError> {
    if !url.starts_with("https://") {
        return Ok(FlinkRest::new(url));
    }
    let address = format!("{cluster}.volume[\"tls\"]");
    let volume = state.resource(&address).map(|r| r.name.clone()).ok_or_else(|| no_volume(cluster, &address))?;
    let identity = identity_of(engine, &masker.tls_root(&volume), &volume).await.map_err(ApplyError::Job)?;
    Ok(FlinkRest::with_tls(url, &identity)?)
}

/// flinkform's identity for the cluster whose TLS volume is `volume`, read from the engine
/// (the volume's nonce), or why there is none.
pub async fn identity_of(
    engine: &crate::docker::Engine,
    root: &crate::tls::Root,
    volume: &str,
) -> Result<ClientIdentity, String> {
    let nonce = read_nonce(engine, volume).await.map_err(|e| e.to_string())?;
    crate::tls::client(root, &nonce, volume).map_err(|e| e.to_string())
}

/// The nonce a TLS volume is labelled with, read from the engine.
async fn read_nonce(engine: &crate::docker::Engine, volume: &str) -> Result<String, ApplyError> {
    let labels = volume_labels(engine, volume).await?;
    labels.and_then(|l| l.get(NONCE_LABEL).cloned()).ok_or_else(|| {
        ApplyError::Docker(DockerError::Other(format!(
            "volume {volume} does not exist or holds no TLS nonce label: replace it (`flinkform apply -replace` of the cluster's volume[\"tls\"])"
        )))
    })
}

fn no_volume(cluster: &str, address: &str) -> ApplyError {
    ApplyError::Job(format!("{cluster} speaks TLS, but neither the configuration nor the state has its {address}"))
}

/// The TLS volume the state records for `cluster` (TLS being turned off: no longer configured).
fn recorded_volume(shared: &Shared, cluster: &str) -> Result<String, ApplyError> {
    let address = format!("{cluster}.volume[\"tls\"]");
    let guard = shared.state.lock().map_err(|_| ApplyError::Internal("state lock poisoned".into()))?;
    guard.0.resource(&address).map(|r| r.name.clone()).ok_or_else(|| no_volume(cluster, &address))
}

/// Forgets a volume's nonce (it is being replaced: the new one gets another).
pub(crate) fn forget(shared: &Shared, volume: &str) {
    if let Ok(mut m) = shared.tls.nonces.lock() {
        m.remove(volume);
    }
}
