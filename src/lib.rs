//! flinkform: declare Flink clusters on Docker in HCL, plan, apply, destroy.
//!
//! One module per stage of the pipeline: [`config`] (HCL → typed config) → [`model`] (resource
//! instances, canonical specs, hashes) → [`plan`] (desired × state × live → changes) →
//! [`apply`] (the executor, along [`graph`]) with [`docker`], [`flink`] and [`state`] as the
//! outside world. [`cli`] wires commands to them.

pub mod address;
pub mod apply;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cores;
pub mod docker;
pub mod flink;
pub mod graph;
pub mod key;
pub mod model;
pub mod names;
pub mod observe;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod state;
pub mod tls;
pub mod ui;
