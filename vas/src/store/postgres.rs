//! The PostgreSQL backend (production): connecting, and the dialect the shared queries
//! (`super::sql`) use. See the parent module for the contract.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use uuid::Uuid;

use super::{ACQUIRE_TIMEOUT, POSTGRES_MAX_CONNECTIONS, Subject, map_sqlx, mask_database_url};
use crate::{Error, Result};

/// A store in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database a `postgres://` URL names and migrates it.
    ///
    /// The pool re-establishes connections by itself, so after an outage the store recovers
    /// without a restart; while the server is down, calls fail with `Unavailable` after
    /// [`ACQUIRE_TIMEOUT`].
    pub async fn open(url: &str) -> Result<Self> {
        let masked = mask_database_url(url);
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            Error::invalid_input(format!("invalid PostgreSQL URL {masked}")).with_source(e)
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .map_err(|e| {
                let detail = e.to_string();
                let err = map_sqlx(e, Subject::Schema);
                let msg = format!(
                    "cannot connect to PostgreSQL at {masked}: {} ({})",
                    err.message(),
                    detail.replace('\n', " ")
                );
                Error::new(err.kind(), msg).with_source(err)
            })?;
        super::migrations::postgres()
            .run(&pool)
            .await
            .map_err(|e| {
                Error::internal(format!("cannot migrate PostgreSQL database {masked}: {e}"))
            })?;
        Ok(PostgresStore { pool })
    }

    /// The underlying pool (for tests and diagnostics).
    #[cfg(test)]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

// The dialect (see `super::sql`): native `uuid` and `timestamptz` columns.

type Db = sqlx::Postgres;
type DbRow = sqlx::postgres::PgRow;

/// One millisecond as an interval, to add to a stored time.
const MILLISECOND: &str = "interval '1 millisecond'";

fn db_id(id: Uuid) -> Uuid {
    id
}

fn db_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t
}

fn read_time(row: &DbRow, col: &str) -> Result<DateTime<Utc>> {
    row.try_get(col).map_err(|e| map_sqlx(e, Subject::Schema))
}

fn read_opt_time(row: &DbRow, col: &str) -> Result<Option<DateTime<Utc>>> {
    row.try_get(col).map_err(|e| map_sqlx(e, Subject::Schema))
}

fn read_id(row: &DbRow, col: &str) -> Result<Uuid> {
    row.try_get(col).map_err(|e| map_sqlx(e, Subject::Schema))
}

super::sql::sql_store!(PostgresStore, Postgres);
