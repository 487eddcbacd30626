//! The PostgreSQL backend (docs/ARCHITECTURE.md, "State"): one state per project in
//! `<schema>.states`, every version kept in `<schema>.history`, the lock a session advisory
//! lock held by its own connection for the whole run (released by PostgreSQL when that
//! connection ends, also when the process is killed), who holds it in `<schema>.locks`. Every
//! write is a transaction that checks the stored lineage and serial (compare-and-swap): a writer
//! that lost the lock cannot overwrite a newer state.
//!
//! The sync `postgres` client runs its own small runtime; each call is made on a scoped thread
//! of its own, so it can be used from inside flinkform's async runtime as from outside it.

use super::{State, StateError};
use postgres::{Client, NoTls};
use std::time::{Duration, Instant};

/// Where a state lives in PostgreSQL. The connection string may hold a password: it is never
/// shown; [`PgLocation::shown`] names the place without it.
#[derive(Clone, PartialEq, Eq)]
pub struct PgLocation {
    pub conn_str: String,
    pub schema: String,
    pub project: String,
}

impl std::fmt::Debug for PgLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

/// One version of the state, as `state history` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Version {
    pub serial: u64,
    pub lineage: String,
    pub written_at: String,
    pub written_by: String,
    pub resources: usize,
}

fn pg_error(location: &PgLocation, what: &str, e: postgres::Error) -> StateError {
    // A server error's own text (never the connection string).
    let detail = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string());
    StateError::Backend(format!("PostgreSQL state {}: {what}: {detail}", location.shown()))
}

/// Runs `f` on a thread of its own: the sync client must not run inside an async runtime.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("a PostgreSQL call does not panic"))
}

/// A connection that is closed off the async runtime when dropped (closing it blocks).
#[derive(Default)]
pub struct Connection(Option<Client>);

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            off_runtime(move || drop(client));
        }
    }
}

impl PgLocation {
    /// `postgres://host/db (schema s, project p)`, without user or password.
    pub fn shown(&self) -> String {
        let place = match self.conn_str.parse::<postgres::Config>() {
            Ok(c) => {
                let hosts: Vec<String> = c
                    .get_hosts()
                    .iter()
                    .map(|h| match h {
                        postgres::config::Host::Tcp(h) => h.clone(),
                        postgres::config::Host::Unix(p) => p.display().to_string(),
                    })
                    .collect();
                format!("{} database {}", hosts.join(","), c.get_dbname().unwrap_or("(default)"))
            }
            Err(_) => "(unreadable connection string)".into(),
        };
        format!("{place}, schema {}, project {}", self.schema, self.project)
    }

    fn connect(&self) -> Result<Client, StateError> {
        let mut config: postgres::Config = self.conn_str.parse().map_err(|_| {
            StateError::Backend(format!("PostgreSQL state {}: the connection string does not parse", self.shown()))
        })?;
        config.connect_timeout(Duration::from_secs(10));
        config.application_name("flinkform");
        let mut client = config.connect(NoTls).map_err(|e| pg_error(self, "cannot connect", e))?;
        let s = &self.schema;
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {s};
                 CREATE TABLE IF NOT EXISTS {s}.states (project text PRIMARY KEY, lineage text NOT NULL,
                   serial bigint NOT NULL, body text NOT NULL, written_at timestamptz NOT NULL DEFAULT now());
                 CREATE TABLE IF NOT EXISTS {s}.history (project text NOT NULL, lineage text NOT NULL,
                   serial bigint NOT NULL, body text NOT NULL, written_at timestamptz NOT NULL DEFAULT now(),
                   written_by text NOT NULL, PRIMARY KEY (project, lineage, serial));
                 CREATE TABLE IF NOT EXISTS {s}.locks (project text PRIMARY KEY, info text NOT NULL);"
            ))
            .or_else(|e| {
                // Two first uses at once: one creates, the other sees it exist.
                if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) { Ok(()) } else { Err(e) }
            })
            .map_err(|e| pg_error(self, "cannot create its tables", e))?;
        Ok(client)
    }

    /// The stored state; an empty one (no lineage yet) when there is none.
    pub fn read(&self) -> Result<State, StateError> {
        off_runtime(|| {
            let mut c = self.connect()?;
            let row = c
                .query_opt(&format!("SELECT body FROM {}.states WHERE project = $1", self.schema), &[&self.project])
                .map_err(|e| pg_error(self, "cannot read the state", e))?;
            match row {
                None => Ok(State { lineage: String::new(), ..State::new() }),
                Some(row) => State::parse(row.get::<_, String>(0).as_bytes(), &self.shown()),
            }
        })
    }

    /// Writes `state` if the stored one is still `previous` (lineage and serial; None: none
    /// stored), and keeps it in the history. `client` is the run's connection, made on first use.
    pub fn write(
        &self,
        connection: &mut Connection,
        state: &State,
        previous: Option<(&str, u64)>,
    ) -> Result<(), StateError> {
        let body = String::from_utf8(state.to_bytes()).expect("the state is JSON text");
        let who = super::lock::who();
        off_runtime(|| {
            let client = &mut connection.0;
            if client.as_ref().is_none_or(Client::is_closed) {
                *client = Some(self.connect()?);
            }
            let c = client.as_mut().expect("connected above");
            let s = &self.schema;
            let mut tx = c.transaction().map_err(|e| pg_error(self, "cannot begin a write", e))?;
            let stored = tx
                .query_opt(
                    &format!("SELECT lineage, serial FROM {s}.states WHERE project = $1 FOR UPDATE"),
                    &[&self.project],
                )
                .map_err(|e| pg_error(self, "cannot read the stored serial", e))?
                .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64));
            let expected = previous.map(|(l, s)| (l.to_string(), s));
            if stored != expected {
                let found = stored.map(|(l, s)| format!("lineage {l} serial {s}")).unwrap_or_else(|| "no state".into());
                let wanted =
                    expected.map(|(l, s)| format!("lineage {l} serial {s}")).unwrap_or_else(|| "no state".into());
                return Err(StateError::Backend(format!(
                    "PostgreSQL state {}: another writer changed it (it holds {found}, this run read {wanted}); nothing was overwritten. Run plan again",
                    self.shown()
                )));
            }
            let serial = state.serial as i64;
            tx.execute(
                &format!(
                    "INSERT INTO {s}.states (project, lineage, serial, body) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (project) DO UPDATE SET lineage = $2, serial = $3, body = $4, written_at = now()"
                ),
                &[&self.project, &state.lineage, &serial, &body],
            )
            .map_err(|e| pg_error(self, "cannot write the state", e))?;
            tx.execute(
                &format!(
                    "INSERT INTO {s}.history (project, lineage, serial, body, written_by) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT DO NOTHING"
                ),
                &[&self.project, &state.lineage, &serial, &body, &who],
            )
            .map_err(|e| pg_error(self, "cannot keep the state's history", e))?;
            tx.commit().map_err(|e| pg_error(self, "cannot commit the write", e))
        })
    }

    /// Every version kept, oldest first.
    pub fn history(&self) -> Result<Vec<Version>, StateError> {
        off_runtime(|| {
            let mut c = self.connect()?;
            let rows = c
                .query(
                    &format!(
                        "SELECT serial, lineage, EXTRACT(EPOCH FROM written_at)::bigint,
                           written_by, body FROM {}.history WHERE project = $1 ORDER BY written_at, serial",
                        self.schema
                    ),
                    &[&self.project],
                )
                .map_err(|e| pg_error(self, "cannot read the history", e))?;
            rows.iter()
                .map(|r| {
                    let state = State::parse(r.get::<_, String>(4).as_bytes(), &self.shown())?;
                    Ok(Version {
                        serial: r.get::<_, i64>(0) as u64,
                        lineage: r.get(1),
                        written_at: crate::clock::rfc3339(
                            &chrono::DateTime::from_timestamp(r.get::<_, i64>(2), 0).unwrap_or_default(),
                        ),
                        written_by: r.get(3),
                        resources: state.resources.len(),
                    })
                })
                .collect()
        })
    }

    /// The version `serial` of the current lineage.
    pub fn version(&self, lineage: &str, serial: u64) -> Result<Option<State>, StateError> {
        off_runtime(|| {
            let mut c = self.connect()?;
            let row = c
                .query_opt(
                    &format!(
                        "SELECT body FROM {}.history WHERE project = $1 AND lineage = $2 AND serial = $3",
                        self.schema
                    ),
                    &[&self.project, &lineage, &(serial as i64)],
                )
                .map_err(|e| pg_error(self, "cannot read the history", e))?;
            row.map(|r| State::parse(r.get::<_, String>(0).as_bytes(), &self.shown())).transpose()
        })
    }

    fn lock_key(&self) -> String {
        format!("flinkform:{}:{}", self.schema, self.project)
    }

    /// Takes the project's advisory lock, retrying until `timeout`; `info` says who holds it.
    pub fn lock(&self, info: &super::lock::LockInfo, operation: &str, timeout: Duration) -> Result<PgLock, StateError> {
        let start = Instant::now();
        let text = serde_json::to_string(info).expect("plain data");
        let mut connection = Connection(Some(off_runtime(|| self.connect())?));
        let client = connection.0.as_mut().expect("just connected");
        loop {
            let got: bool = off_runtime(|| {
                client
                    .query_one("SELECT pg_try_advisory_lock(hashtext($1))", &[&self.lock_key()])
                    .map(|r| r.get(0))
                    .map_err(|e| pg_error(self, "cannot take the lock", e))
            })?;
            if got {
                off_runtime(|| {
                    client.execute(
                        &format!(
                            "INSERT INTO {}.locks (project, info) VALUES ($1, $2) ON CONFLICT (project) DO UPDATE SET info = $2",
                            self.schema
                        ),
                        &[&self.project, &text],
                    )
                })
                .map_err(|e| pg_error(self, "cannot record who holds the lock", e))?;
                return Ok(PgLock { connection, location: self.clone() });
            }
            if start.elapsed() >= timeout {
                let holder = super::lock::LockInfo::describe(self.holder().as_ref());
                let wait = super::lock::busy_hint(operation);
                return Err(StateError::Locked(format!(
                    "the state in PostgreSQL ({}) is locked: {holder}. {wait}; `flinkform force-unlock` ends a holder that is gone",
                    self.shown()
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Who holds the lock, as it recorded itself.
    fn holder(&self) -> Option<super::lock::LockInfo> {
        off_runtime(|| {
            let mut c = self.connect().ok()?;
            let row = c
                .query_opt(&format!("SELECT info FROM {}.locks WHERE project = $1", self.schema), &[&self.project])
                .ok()??;
            serde_json::from_str(&row.get::<_, String>(0)).ok()
        })
    }

    /// Ends the session holding the project's lock (its holder is stuck) when the lock's ID is
    /// `id`; false when no session holds it. A killed holder's lock is gone already: PostgreSQL
    /// releases it with the holder's connection.
    pub fn force_unlock(&self, id: &str) -> Result<bool, StateError> {
        if let Some(info) = self.holder().filter(|i| i.id != id) {
            return Err(StateError::Locked(format!("the lock's ID is {}, not {id}; nothing was changed", info.id)));
        }
        off_runtime(|| {
            let mut c = self.connect()?;
            let row = c
                .query_one(
                    "SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l
                     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                       AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtext($1)::bigint",
                    &[&self.lock_key()],
                )
                .map_err(|e| pg_error(self, "cannot end the lock's holder", e))?;
            let ended = row.get::<_, i64>(0) > 0;
            if ended {
                let _ = c.execute(&format!("DELETE FROM {}.locks WHERE project = $1", self.schema), &[&self.project]);
            }
            Ok(ended)
        })
    }
}

/// The project's lock, held by its own connection until dropped (or the process ends).
pub struct PgLock {
    connection: Connection,
    location: PgLocation,
}

impl Drop for PgLock {
    fn drop(&mut self) {
        if let Some(mut client) = self.connection.0.take() {
            let key = self.location.lock_key();
            let schema = self.location.schema.clone();
            let project = self.location.project.clone();
            off_runtime(move || {
                let _ = client.execute(&format!("DELETE FROM {schema}.locks WHERE project = $1"), &[&project]);
                let _ = client.query_one("SELECT pg_advisory_unlock(hashtext($1))", &[&key]);
                drop(client);
            });
        }
    }
}
