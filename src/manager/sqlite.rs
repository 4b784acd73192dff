//! The embedded store: SQLite (bundled) with one `BEGIN IMMEDIATE … COMMIT` per event.
//!
//! Crash safety comes from the transaction: a process killed at any point leaves the database
//! with every event either fully applied (run log, states, history, trigger records and the
//! outbox together) or not at all. The journal is WAL with `synchronous = NORMAL`, which is
//! durable across process crashes; after a power loss the last transactions may be missing,
//! and redelivery (events arrive at least once) re-applies them through de-duplication.
//!
//! Registrations and dependency states are JSON documents (read whole, written whole); the
//! run log is a table whose `(upstream, started, id)` index answers "latest run" directly.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::lifecycle::{DependentState, HistoryEntry};
use super::registry::Registration;
use super::runlog::{Run, RunType};
use super::store::{Millis, OutboxItem, OutboxKind, Store, StoreError, TriggerRecord, Tx};

/// The schema version in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS registrations (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dependents (
    upstream TEXT NOT NULL, pipeline TEXT NOT NULL, PRIMARY KEY (upstream, pipeline)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dependents_by_pipeline ON dependents (pipeline);
CREATE TABLE IF NOT EXISTS event_ids (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS facts (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    upstream TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL, redrive INTEGER NOT NULL,
    run_type TEXT NOT NULL, started INTEGER NOT NULL, time INTEGER NOT NULL,
    stop_date INTEGER NOT NULL, trigger_id TEXT, PRIMARY KEY (upstream, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS runs_latest ON runs (upstream, started DESC, id DESC);
CREATE TABLE IF NOT EXISTS states (pipeline TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, at INTEGER NOT NULL,
    kind TEXT NOT NULL, change TEXT NOT NULL, cause TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_pipeline ON history (pipeline, seq);
CREATE TABLE IF NOT EXISTS triggers (
    trigger_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    claim_id TEXT PRIMARY KEY, execution_arn TEXT NOT NULL, claimed_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS open_alerts (pipeline TEXT PRIMARY KEY, aliases TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL
);
";

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// WAL pages after which a commit checkpoints by itself (see `init`).
pub const DEFAULT_AUTO_CHECKPOINT_PAGES: u32 = 10_000;

/// A SQLite-backed store.
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn =
            Connection::open(path).map_err(|e| StoreError(format!("{}: {e}", path.display())))?;
        Self::init(conn, true)
    }

    /// A private in-memory database.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::init(Connection::open_in_memory()?, false)
    }

    fn init(conn: Connection, file: bool) -> Result<SqliteStore, StoreError> {
        if file {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            // A checkpoint syncs the database file (milliseconds). SQLite's default of one per
            // 1,000 WAL pages lands on about 1% of events; one per 10,000 pages (a WAL of at most
            // ~40 MB) keeps it off the p99 of event handling.
            conn.pragma_update(None, "wal_autocheckpoint", DEFAULT_AUTO_CHECKPOINT_PAGES)?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Keep one query plan per statement: this SQLite build otherwise re-plans the run-log
        // lookups for every bound value (measured: 16% of a 700-pipeline local run).
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError(format!(
                "the store has schema version {version}; this dpc knows up to {SCHEMA_VERSION}"
            )));
        }
        conn.execute_batch(SCHEMA)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(SqliteStore { conn })
    }
}

impl crate::local::runtime::Claims for SqliteStore {
    /// The claims table of `dpc local run`: `attribute_not_exists(claimId)` as a primary key.
    fn claim(
        &mut self,
        claim_id: &str,
        execution_arn: &str,
        at: Millis,
    ) -> Result<bool, StoreError> {
        let inserted = self.conn.execute(
            "INSERT OR IGNORE INTO claims (claim_id, execution_arn, claimed_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![claim_id, execution_arn, at],
        )?;
        Ok(inserted == 1)
    }
}

impl crate::local::runtime::OpenAlerts for SqliteStore {
    fn open_alerts(&self, pipeline: &str) -> Result<Vec<String>, StoreError> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT aliases FROM open_alerts WHERE pipeline = ?1",
                [pipeline],
                |r| r.get(0),
            )
            .optional()?;
        Ok(body
            .map(|b| b.lines().map(str::to_string).collect())
            .unwrap_or_default())
    }

    fn set_open_alerts(&mut self, pipeline: &str, aliases: &[String]) -> Result<(), StoreError> {
        if aliases.is_empty() {
            self.conn
                .execute("DELETE FROM open_alerts WHERE pipeline = ?1", [pipeline])?;
        } else {
            self.conn.execute(
                "INSERT OR REPLACE INTO open_alerts (pipeline, aliases) VALUES (?1, ?2)",
                rusqlite::params![pipeline, aliases.join("\n")],
            )?;
        }
        Ok(())
    }
}

impl SqliteStore {
    /// Sets after how many WAL pages a commit checkpoints by itself (dpc's default is
    /// [`DEFAULT_AUTO_CHECKPOINT_PAGES`]; 0 turns automatic checkpoints off). A checkpoint syncs the database file, which
    /// takes milliseconds: a latency-sensitive caller turns them off and calls
    /// [`SqliteStore::checkpoint`] when idle.
    pub fn set_auto_checkpoint(&mut self, pages: u32) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "wal_autocheckpoint", pages)
            .map_err(StoreError::from)
    }

    /// Copies the WAL into the database file (PASSIVE: never blocks writers).
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(StoreError::from)
    }
}

impl Store for SqliteStore {
    fn transaction<R>(
        &mut self,
        mut f: impl FnMut(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut wrapped = SqlTx(tx);
        // On error the transaction is dropped, which rolls it back.
        let result = f(&mut wrapped)?;
        wrapped.0.commit()?;
        Ok(result)
    }
}

struct SqlTx<'a>(rusqlite::Transaction<'a>);

impl SqlTx<'_> {
    fn claim(&self, sql: &str, key: &str) -> Result<bool, StoreError> {
        let n = self.0.prepare_cached(sql)?.execute([key])?;
        Ok(n == 1)
    }

    /// The JSON `body` of the row `sql` selects by `key`, decoded.
    fn body<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let body: Option<String> = self
            .0
            .prepare_cached(sql)?
            .query_row([key], |r| r.get(0))
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }
}

fn run_from_row(row: &rusqlite::Row) -> rusqlite::Result<Run> {
    let run_type: String = row.get(4)?;
    Ok(Run {
        upstream: row.get(0)?,
        id: row.get(1)?,
        status: row.get(2)?,
        redrive: row.get(3)?,
        run_type: RunType::parse(&run_type).unwrap_or(RunType::Manual),
        started: row.get(5)?,
        time: row.get(6)?,
        stop_date: row.get(7)?,
        trigger_id: row.get(8)?,
    })
}

const RUN_COLUMNS: &str =
    "upstream, id, status, redrive, run_type, started, time, stop_date, trigger_id";

impl Tx for SqlTx<'_> {
    fn registration(&self, id: &str) -> Result<Option<Registration>, StoreError> {
        self.body("SELECT body FROM registrations WHERE id = ?1", id)
    }

    fn put_registration(&mut self, reg: &Registration) -> Result<(), StoreError> {
        let key = reg.key();
        self.delete_registration(&key)?;
        let body = serde_json::to_string(reg)?;
        self.0
            .prepare_cached("INSERT INTO registrations (id, body) VALUES (?1, ?2)")?
            .execute(params![key, body])?;
        let mut insert = self.0.prepare_cached(
            "INSERT OR IGNORE INTO dependents (upstream, pipeline) VALUES (?1, ?2)",
        )?;
        for leaf in &reg.leaves {
            insert.execute(params![leaf.upstream.key(), key])?;
        }
        Ok(())
    }

    fn delete_registration(&mut self, id: &str) -> Result<bool, StoreError> {
        self.0
            .prepare_cached("DELETE FROM dependents WHERE pipeline = ?1")?
            .execute([id])?;
        let n = self
            .0
            .prepare_cached("DELETE FROM registrations WHERE id = ?1")?
            .execute([id])?;
        Ok(n > 0)
    }

    fn registrations(&self) -> Result<Vec<Registration>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT body FROM registrations ORDER BY id")?;
        let bodies = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(StoreError::from))
            .collect()
    }

    fn dependents(&self, upstream: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT pipeline FROM dependents WHERE upstream = ?1 ORDER BY pipeline",
        )?;
        let rows = stmt.query_map([upstream], |r| r.get(0))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::from)
    }

    fn claim_event_id(&mut self, id: &str) -> Result<bool, StoreError> {
        self.claim("INSERT OR IGNORE INTO event_ids (id) VALUES (?1)", id)
    }

    fn claim_fact(&mut self, key: &str) -> Result<bool, StoreError> {
        self.claim("INSERT OR IGNORE INTO facts (key) VALUES (?1)", key)
    }

    fn run(&self, upstream: &str, id: &str) -> Result<Option<Run>, StoreError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE upstream = ?1 AND id = ?2");
        self.0
            .prepare_cached(&sql)?
            .query_row([upstream, id], run_from_row)
            .optional()
            .map_err(StoreError::from)
    }

    fn put_run(&mut self, run: &Run) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT OR REPLACE INTO runs ({RUN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        );
        self.0.prepare_cached(&sql)?.execute(params![
            run.upstream,
            run.id,
            run.status,
            run.redrive,
            run.run_type.as_str(),
            run.started,
            run.time,
            run.stop_date,
            run.trigger_id
        ])?;
        Ok(())
    }

    fn latest_run(
        &self,
        upstream: &str,
        since: Option<(Millis, bool)>,
        include_manual: bool,
    ) -> Result<Option<Run>, StoreError> {
        // Walks the index newest first and stops at the first run that counts.
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE upstream = ?1
               AND (?2 IS NULL OR time > ?2 OR (time = ?2 AND NOT ?3))
               AND (?4 OR run_type <> 'MANUAL')
             ORDER BY started DESC, id DESC LIMIT 1"
        );
        let (at, strict) = match since {
            Some((at, strict)) => (Some(at), strict),
            None => (None, false),
        };
        self.0
            .prepare_cached(&sql)?
            .query_row(params![upstream, at, strict, include_manual], run_from_row)
            .optional()
            .map_err(StoreError::from)
    }

    fn state(&self, id: &str) -> Result<Option<DependentState>, StoreError> {
        self.body("SELECT body FROM states WHERE pipeline = ?1", id)
    }

    fn put_state(&mut self, id: &str, state: &DependentState) -> Result<(), StoreError> {
        let body = serde_json::to_string(state)?;
        self.0
            .prepare_cached("INSERT OR REPLACE INTO states (pipeline, body) VALUES (?1, ?2)")?
            .execute(params![id, body])?;
        Ok(())
    }

    fn add_history(&mut self, e: &HistoryEntry) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "INSERT INTO history (pipeline, at, kind, change, cause) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            ?
            .execute(params![e.pipeline, e.at, e.kind, e.change, e.cause])
            ?;
        Ok(())
    }

    fn history(&self, id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT pipeline, at, kind, change, cause FROM history WHERE pipeline = ?1 ORDER BY seq",
            )
            ?;
        let rows = stmt.query_map([id], |r| {
            Ok(HistoryEntry {
                pipeline: r.get(0)?,
                at: r.get(1)?,
                kind: r.get(2)?,
                change: r.get(3)?,
                cause: r.get(4)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::from)
    }

    fn insert_trigger(&mut self, r: &TriggerRecord) -> Result<bool, StoreError> {
        let n = self
            .0
            .prepare_cached(
                "INSERT OR IGNORE INTO triggers (trigger_id, pipeline, at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![r.trigger_id, r.pipeline, r.at])?;
        Ok(n == 1)
    }

    fn triggers(&self) -> Result<Vec<TriggerRecord>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT trigger_id, pipeline, at FROM triggers ORDER BY at, trigger_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(TriggerRecord {
                trigger_id: r.get(0)?,
                pipeline: r.get(1)?,
                at: r.get(2)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::from)
    }

    fn push_outbox(&mut self, id: &str, kind: OutboxKind, body: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached("INSERT INTO outbox (id, kind, body) VALUES (?1, ?2, ?3)")?
            .execute(params![id, kind.as_str(), body])?;
        Ok(())
    }

    fn outbox(&self) -> Result<Vec<OutboxItem>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT seq, id, kind, body FROM outbox ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            let kind: String = r.get(2)?;
            Ok((r.get(0)?, r.get(1)?, kind, r.get(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, id, kind, body): (i64, String, String, String) = row?;
            let kind = OutboxKind::parse(&kind)
                .ok_or_else(|| StoreError(format!("outbox row {seq}: unknown kind `{kind}`")))?;
            out.push(OutboxItem {
                seq,
                id,
                kind,
                body,
            });
        }
        Ok(out)
    }

    fn remove_outbox(&mut self, seq: i64) -> Result<(), StoreError> {
        self.0
            .prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
            .execute([seq])?;
        Ok(())
    }
}
