//! Persistence: the [`Store`] trait and its two sqlx backends.
//!
//! Owns the SQL schema (one migration folder per backend, applied on open), the mapping of
//! rows to [`crate::model`] values, and the mapping of database failures to [`ErrorKind`]s.
//! It must never decide policy (what to record, when to delete): the engine does that.
//!
//! * `sqlite://path` — the embedded default; WAL mode, foreign keys on, file created if
//!   missing. Times are stored as integer microseconds since the Unix epoch, so range queries
//!   compare integers on an index.
//! * `postgres://…` — production; native `uuid` and `timestamptz` columns.
//!
//! Both run the same queries (`sql`), each with its dialect: how ids and times are stored.
//! Both answer "recordings of stream S between T1 and T2" from one index on
//! `(stream_id, start_at)`.

mod migrations;
mod postgres;
mod sql;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::{
    Bookmark, BookmarkId, BookmarkState, DesiredState, DeviceId, DeviceRow, Recording, RecordingId,
    Snapshot, SnapshotId, StreamId, StreamRow,
};
pub(crate) use crate::model::{ListQuery, MAX_LIST_LIMIT, checked_limit};
use crate::{Error, ErrorKind, Result};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// How long a request waits for a database connection before failing with
/// [`ErrorKind::Unavailable`] (so an outage answers quickly instead of hanging clients).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Connections kept in the PostgreSQL pool.
pub const POSTGRES_MAX_CONNECTIONS: u32 = 16;
/// Connections kept in the SQLite pool (one writer at a time; readers share WAL).
pub const SQLITE_MAX_CONNECTIONS: u32 = 4;
/// How long SQLite waits on a locked database before giving up.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// How much recorded media one stream has, from the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamUsage {
    /// The stream.
    pub stream: StreamId,
    /// Its recordings.
    pub recordings: u64,
    /// Their bytes on disk, as the rows say.
    pub bytes: u64,
}

/// Persistent state of VAS. Implemented for SQLite and PostgreSQL; see the module docs.
///
/// Every method maps database failures to [`ErrorKind`]s: a lost connection is
/// `Unavailable`, a duplicate is `AlreadyExists`, a missing row is `NotFound`.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Which backend this is.
    fn backend(&self) -> Backend;
    /// Checks the database answers.
    async fn ping(&self) -> Result<()>;

    /// Adds a camera and its streams in one transaction.
    async fn insert_device(&self, device: &DeviceRow, streams: &[StreamRow]) -> Result<()>;
    /// One camera.
    async fn get_device(&self, id: DeviceId) -> Result<DeviceRow>;
    /// All cameras, by creation time.
    async fn list_devices(&self) -> Result<Vec<DeviceRow>>;
    /// Replaces a camera's fields and adds/removes streams, in one transaction.
    async fn update_device(
        &self,
        device: &DeviceRow,
        add_streams: &[StreamRow],
        remove_streams: &[StreamId],
    ) -> Result<()>;
    /// Removes a camera and (by cascade) everything indexed under its streams.
    async fn delete_device(&self, id: DeviceId) -> Result<()>;

    /// One stream.
    async fn get_stream(&self, id: StreamId) -> Result<StreamRow>;
    /// All streams, or one camera's, by creation time.
    async fn list_streams(&self, device: Option<DeviceId>) -> Result<Vec<StreamRow>>;
    /// Stores whether the user wants the stream running.
    async fn set_stream_desired(&self, id: StreamId, desired: DesiredState) -> Result<StreamRow>;
    /// Stores whether the stream records.
    async fn set_stream_record(&self, id: StreamId, record: bool) -> Result<StreamRow>;

    /// Indexes a recording (its playlist must already exist on disk).
    async fn insert_recording(&self, recording: &Recording) -> Result<()>;
    /// Updates a recording's end and size.
    async fn update_recording(
        &self,
        id: RecordingId,
        end: Option<DateTime<Utc>>,
        bytes: u64,
    ) -> Result<()>;
    /// One recording.
    async fn get_recording(&self, id: RecordingId) -> Result<Recording>;
    /// Recordings overlapping a range, in the query's order (by start).
    async fn list_recordings(&self, range: ListQuery) -> Result<Vec<Recording>>;
    /// Recordings without an end (left open by a crash, or still running).
    async fn open_recordings(&self) -> Result<Vec<Recording>>;
    /// Removes a recording's row (delete its files afterwards).
    async fn delete_recording(&self, id: RecordingId) -> Result<()>;
    /// Bytes and number of recordings per stream (open recordings included; streams without
    /// recordings are absent), by stream id.
    async fn recording_usage(&self) -> Result<Vec<StreamUsage>>;
    /// Bytes of all recordings (open ones included).
    #[cfg(test)]
    async fn total_recording_bytes(&self) -> Result<u64>;
    /// The oldest closed recordings, of one stream or of all, oldest first, at most `limit`
    /// (1 to [`MAX_LIST_LIMIT`]).
    async fn oldest_recordings(
        &self,
        stream: Option<StreamId>,
        limit: u32,
    ) -> Result<Vec<Recording>>;
    /// The ids of every recording of a stream, oldest first (for reconciling rows with the
    /// media folder).
    async fn recording_ids(&self, stream: StreamId) -> Result<Vec<RecordingId>>;
    /// Pending bookmarks of a stream whose clip span `[at - before, at + after]` overlaps
    /// `[from, to]` (`to = None`: open-ended), by moment, at most [`MAX_LIST_LIMIT`].
    async fn pending_bookmarks_overlapping(
        &self,
        stream: StreamId,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<Bookmark>>;
    /// Removes a closed recording's row unless a pending bookmark of its stream still needs
    /// it (its clip span overlaps the recording), in one statement; returns whether the row
    /// was removed (false: still needed, still open, or already gone). Delete the files
    /// afterwards.
    async fn delete_recording_if_unreferenced(&self, id: RecordingId) -> Result<bool>;

    /// Adds a bookmark.
    async fn insert_bookmark(&self, bookmark: &Bookmark) -> Result<()>;
    /// One bookmark.
    async fn get_bookmark(&self, id: BookmarkId) -> Result<Bookmark>;
    /// Bookmarks whose moment lies in a range, in the query's order (by moment).
    async fn list_bookmarks(&self, range: ListQuery) -> Result<Vec<Bookmark>>;
    /// Moves a bookmark's clip along its lifecycle (`detail`: why it failed, or what a ready
    /// clip lacks).
    async fn update_bookmark(
        &self,
        id: BookmarkId,
        state: BookmarkState,
        clip_location: Option<&str>,
        detail: Option<&str>,
    ) -> Result<Bookmark>;
    /// Removes a bookmark's row.
    async fn delete_bookmark(&self, id: BookmarkId) -> Result<()>;

    /// Indexes a snapshot (its file must already exist).
    async fn insert_snapshot(&self, snapshot: &Snapshot) -> Result<()>;
    /// One snapshot.
    async fn get_snapshot(&self, id: SnapshotId) -> Result<Snapshot>;
    /// Snapshots taken in a range, in the query's order (by capture time).
    async fn list_snapshots(&self, range: ListQuery) -> Result<Vec<Snapshot>>;
    /// Removes a snapshot's row.
    async fn delete_snapshot(&self, id: SnapshotId) -> Result<()>;
}

/// Opens the store a URL names, creating the database file (SQLite) and applying migrations.
///
/// Errors: `InvalidInput` for a URL that is neither `sqlite:` nor `postgres(ql)://` or does
/// not parse; `Unavailable` when the server cannot be reached within [`ACQUIRE_TIMEOUT`]-ish
/// time. Messages never contain the URL's password.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(Error::invalid_input(format!(
            "database URL {} must start with sqlite:// or postgres://",
            mask_database_url(url)
        )))
    }
}

/// Renders a database URL with its password replaced by `***`, for messages and logs.
///
/// ```
/// assert_eq!(
///     vas::config::mask_database_url("postgres://vas:hunter2@db:5432/vas"),
///     "postgres://vas:***@db:5432/vas"
/// );
/// ```
pub fn mask_database_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.into()
        }
        Ok(u) => u.into(),
        // Unparseable: show only the scheme, as anything after it might be a secret.
        Err(_) => match url.split_once(':') {
            Some((scheme, _)) if scheme.len() < 16 => format!("{scheme}:…"),
            _ => "(unparseable URL)".to_owned(),
        },
    }
}

/// What a failed statement was about, for turning constraint violations into clear messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject {
    Device,
    Stream,
    Recording,
    Bookmark,
    Snapshot,
    Schema,
}

impl Subject {
    fn noun(self) -> &'static str {
        match self {
            Subject::Device => "device",
            Subject::Stream => "stream",
            Subject::Recording => "recording",
            Subject::Bookmark => "bookmark",
            Subject::Snapshot => "snapshot",
            Subject::Schema => "database schema",
        }
    }
}

/// The one place database errors become VAS errors.
pub(crate) fn map_sqlx(err: sqlx::Error, subject: Subject) -> Error {
    use sqlx::error::ErrorKind as DbKind;
    let noun = subject.noun();
    let (kind, message) = match &err {
        sqlx::Error::RowNotFound => (ErrorKind::NotFound, format!("{noun} not found")),
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let text = format!("{} {}", db.constraint().unwrap_or(""), db.message());
            match db.kind() {
                DbKind::UniqueViolation => {
                    let what = if text.contains("rtsp_url") {
                        "this RTSP URL"
                    } else if text.contains("name") {
                        "this name"
                    } else if text.contains("profile") {
                        "this profile"
                    } else {
                        "this identity"
                    };
                    (
                        ErrorKind::AlreadyExists,
                        format!("a {noun} with {what} already exists"),
                    )
                }
                DbKind::ForeignKeyViolation => (
                    ErrorKind::NotFound,
                    format!("the {noun} refers to something that does not exist"),
                ),
                DbKind::NotNullViolation | DbKind::CheckViolation => (
                    ErrorKind::InvalidInput,
                    format!("the {noun} violates a database rule"),
                ),
                _ if is_unavailable_code(&code) => (
                    ErrorKind::Unavailable,
                    "the database is unavailable".to_owned(),
                ),
                _ if code == "13" || code.starts_with("53") => (
                    ErrorKind::ResourceExhausted,
                    "the database is out of space or resources".to_owned(),
                ),
                _ => (ErrorKind::Internal, format!("database error on {noun}")),
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => (
            ErrorKind::Unavailable,
            "the database is unavailable".to_owned(),
        ),
        sqlx::Error::Configuration(_) => (
            ErrorKind::InvalidInput,
            "the database URL or options are invalid".to_owned(),
        ),
        sqlx::Error::Migrate(_) => (ErrorKind::Internal, "database migration failed".to_owned()),
        _ => (ErrorKind::Internal, format!("database error on {noun}")),
    };
    Error::new(kind, message).with_source(err)
}

/// SQLSTATE / SQLite result codes that mean "try again later".
fn is_unavailable_code(code: &str) -> bool {
    // PostgreSQL: 08xxx connection exceptions, 57P01..57P03 shutdown / cannot connect now.
    // SQLite: 5 BUSY, 6 LOCKED, 10 IOERR (and extended codes).
    code.starts_with("08")
        || matches!(code, "57P01" | "57P02" | "57P03")
        || matches!(code, "5" | "6" | "10" | "261" | "262" | "517")
}

pub(crate) fn clamp_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::invalid_input("value too large to store"))
}

pub(crate) fn duration_ms(d: Duration) -> Result<i64> {
    i64::try_from(d.as_millis()).map_err(|_| Error::invalid_input("duration too large to store"))
}

pub(crate) fn ms_duration(ms: i64) -> Duration {
    Duration::from_millis(clamp_u64(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_database_passwords() {
        assert_eq!(
            mask_database_url("postgresql://u:p@h/d?sslmode=disable"),
            "postgresql://u:***@h/d?sslmode=disable"
        );
        assert_eq!(
            mask_database_url("sqlite://./vas-data/vas.db"),
            "sqlite://./vas-data/vas.db"
        );
        assert_eq!(mask_database_url("postgres://u:p@[bad"), "postgres:…");
    }

    #[test]
    fn range_limits_are_checked() {
        assert!(ListQuery::default().checked_limit().is_ok());
        let zero = ListQuery {
            limit: 0,
            ..Default::default()
        };
        assert!(zero.checked_limit().is_err());
        let huge = ListQuery {
            limit: MAX_LIST_LIMIT + 1,
            ..Default::default()
        };
        assert!(huge.checked_limit().is_err());
        let now = Utc::now();
        let r = ListQuery::default().between(now, now - chrono::Duration::seconds(1));
        assert!(r.checked_limit().is_err());
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `store::open` is used.
    #[test]
    fn open_example() {
        tokio_test_block(async {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/vas.db", dir.path().display());
            let store = crate::store::open(&url).await.unwrap();
            assert_eq!(store.backend(), crate::store::Backend::Sqlite);
            assert!(store.list_devices().await.unwrap().is_empty());
        });
        fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
            tokio::runtime::Runtime::new().unwrap().block_on(f)
        }
    }
}
