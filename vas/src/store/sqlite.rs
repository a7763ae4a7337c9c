//! The SQLite backend (the embedded default): opening the file, and the dialect the shared
//! queries (`super::sql`) use. See the parent module for the contract.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use uuid::Uuid;

use super::{
    ACQUIRE_TIMEOUT, SQLITE_BUSY_TIMEOUT, SQLITE_MAX_CONNECTIONS, Subject, map_sqlx,
    mask_database_url,
};
use crate::{Error, Result};

/// A store in an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database a `sqlite:` URL names and migrates it.
    pub async fn open(url: &str) -> Result<Self> {
        let masked = mask_database_url(url);
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| {
                Error::invalid_input(format!("invalid SQLite URL {masked}")).with_source(e)
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        let file = options.get_filename();
        if let Some(parent) = file.parent()
            && !parent.as_os_str().is_empty()
            && file.as_os_str() != ":memory:"
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::from(e).context(format_args!(
                    "cannot create database folder {}",
                    parent.display()
                ))
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(SQLITE_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| {
                let err = map_sqlx(e, Subject::Schema);
                let msg = format!("cannot open SQLite database {masked}: {}", err.message());
                Error::new(err.kind(), msg).with_source(err)
            })?;
        super::migrations::sqlite().run(&pool).await.map_err(|e| {
            Error::internal(format!("cannot migrate SQLite database {masked}: {e}"))
        })?;
        Ok(SqliteStore { pool })
    }

    /// The underlying pool (for tests and diagnostics).
    #[cfg(test)]
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

// The dialect (see `super::sql`): ids as text, times as integer microseconds since 1970.

type Db = sqlx::Sqlite;
type DbRow = sqlx::sqlite::SqliteRow;

/// One millisecond in the unit of a stored time (microseconds).
const MILLISECOND: &str = "1000";

fn db_id(id: Uuid) -> String {
    id.to_string()
}

fn db_time(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn read_time(row: &DbRow, col: &str) -> Result<DateTime<Utc>> {
    let v: i64 = row.try_get(col).map_err(|e| map_sqlx(e, Subject::Schema))?;
    DateTime::from_timestamp_micros(v)
        .ok_or_else(|| Error::internal(format!("stored time {col} is out of range")))
}

fn read_opt_time(row: &DbRow, col: &str) -> Result<Option<DateTime<Utc>>> {
    let v: Option<i64> = row.try_get(col).map_err(|e| map_sqlx(e, Subject::Schema))?;
    v.map(|v| {
        DateTime::from_timestamp_micros(v)
            .ok_or_else(|| Error::internal(format!("stored time {col} is out of range")))
    })
    .transpose()
}

fn read_id(row: &DbRow, col: &str) -> Result<Uuid> {
    let v: String = row.try_get(col).map_err(|e| map_sqlx(e, Subject::Schema))?;
    Uuid::try_parse(&v).map_err(|_| Error::internal(format!("stored {col} is not a UUID")))
}

super::sql::sql_store!(SqliteStore, Sqlite);
