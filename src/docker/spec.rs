//! The parts of flinkform's container spec that a container and a swarm service's task give
//! the engine alike: mounts and the healthcheck.

use crate::model::ContainerSpec;
use bollard::models::{HealthConfig, Mount, MountType};

/// Named volumes and host paths (`bind`), read-only when asked.
pub(super) fn mounts(spec: &ContainerSpec) -> Vec<Mount> {
    spec.mounts
        .iter()
        .map(|m| Mount {
            target: Some(m.target.clone()),
            source: Some(m.volume.clone()),
            typ: Some(if m.bind { MountType::BIND } else { MountType::VOLUME }),
            read_only: m.read_only.then_some(true),
            ..Default::default()
        })
        .collect()
}

/// Docker's healthcheck, its durations in nanoseconds.
pub(super) fn healthcheck(spec: &ContainerSpec) -> Option<HealthConfig> {
    let secs = |s: u64| (s as i64) * 1_000_000_000;
    spec.healthcheck.as_ref().map(|h| HealthConfig {
        test: Some(h.test.clone()),
        interval: Some(secs(h.interval_s)),
        timeout: Some(secs(h.timeout_s)),
        retries: Some(h.retries as i64),
        start_period: Some(secs(h.start_period_s)),
        ..Default::default()
    })
}
