//! Flink knowledge: configuration rendering per version and role ([`config`]) and the REST
//! client used for readiness ([`rest`]).

pub mod config;
pub mod rest;
