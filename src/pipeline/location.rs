//! Where a configuration's state lives (`flinkform { backend … }`), resolved once: the local
//! file, or PostgreSQL with its connection string from the block, `FLINKFORM_PG_CONN_STR`, or
//! libpq's `PG*` variables (so a CI's secret store supplies the password, never the repository).

use crate::config::{BackendSettings, Settings};
use crate::state::{Location, PgLocation};
use std::path::Path;

/// The state's location for `settings` read in `dir`.
pub fn location(dir: &Path, settings: &Settings) -> Location {
    match &settings.backend {
        BackendSettings::Local => Location::Local(dir.join(&settings.state_path)),
        BackendSettings::Postgres { conn_str, schema } => Location::Postgres(PgLocation {
            conn_str: conn_str.clone().or_else(|| std::env::var("FLINKFORM_PG_CONN_STR").ok()).unwrap_or_else(from_env),
            schema: schema.clone(),
            project: settings.project.clone(),
        }),
    }
}

/// A libpq key=value connection string from `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE` and
/// `PGPASSWORD`, with libpq's defaults (Debian's socket directory, the login user).
fn from_env() -> String {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let user = env("PGUSER").or_else(|| env("USER")).unwrap_or_else(|| "postgres".into());
    let mut parts = vec![
        format!("host='{}'", env("PGHOST").unwrap_or_else(|| "/var/run/postgresql".into())),
        format!("port='{}'", env("PGPORT").unwrap_or_else(|| "5432".into())),
        format!("dbname='{}'", env("PGDATABASE").unwrap_or_else(|| user.clone())),
        format!("user='{user}'"),
    ];
    if let Some(p) = env("PGPASSWORD") {
        parts.push(format!("password='{}'", p.replace('\\', "\\\\").replace('\'', "\\'")));
    }
    parts.join(" ")
}
