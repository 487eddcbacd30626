//! Flink's REST API ([`rest`]): what readiness, job submission, savepoints and the
//! observation of jobs ask a running cluster. How a cluster's configuration is rendered is
//! part of the model (`model::flink_conf`): expansion needs it before anything runs.

mod client_tls;
pub mod rest;
