//! The PostgreSQL backend (production). See the parent module for the contract.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row, Transaction};
use uuid::Uuid;

use super::{
    ACQUIRE_TIMEOUT, Backend, ListQuery, MAX_LIST_LIMIT, POSTGRES_MAX_CONNECTIONS, Store,
    StreamUsage, Subject, checked_limit, clamp_u64, duration_ms, map_sqlx, mask_database_url,
    ms_duration, to_i64,
};
use crate::camera_url::{CameraUrl, Credentials};
use crate::model::{
    Bookmark, BookmarkId, BookmarkState, DesiredState, DeviceId, DeviceRow, MAX_BOOKMARK_MARGIN,
    Order, Recording, RecordingId, Snapshot, SnapshotId, StreamId, StreamRow,
};
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

fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(col).map_err(|e| map_sqlx(e, Subject::Schema))
}

fn time(row: &PgRow, col: &str) -> Result<DateTime<Utc>> {
    get(row, col)
}

fn opt_time(row: &PgRow, col: &str) -> Result<Option<DateTime<Utc>>> {
    get(row, col)
}

fn uuid(row: &PgRow, col: &str) -> Result<Uuid> {
    get(row, col)
}

fn device_from_row(row: &PgRow) -> Result<DeviceRow> {
    let username: Option<String> = get(row, "username")?;
    let password: Option<String> = get(row, "password")?;
    let credentials = match (username, password) {
        (None, None) => None,
        (u, p) => Some(Credentials {
            username: u.unwrap_or_default(),
            password: p.unwrap_or_default(),
        }),
    };
    let sub: Option<String> = get(row, "sub_rtsp_url")?;
    Ok(DeviceRow {
        id: DeviceId(uuid(row, "id")?),
        name: get(row, "name")?,
        rtsp_url: CameraUrl::try_from(get::<String>(row, "rtsp_url")?)?,
        sub_rtsp_url: sub.map(CameraUrl::try_from).transpose()?,
        credentials,
        rtsp_transport: get::<String>(row, "rtsp_transport")?.parse()?,
        enabled: get(row, "enabled")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn stream_from_row(row: &PgRow) -> Result<StreamRow> {
    Ok(StreamRow {
        id: StreamId(uuid(row, "id")?),
        device_id: DeviceId(uuid(row, "device_id")?),
        profile: get::<String>(row, "profile")?.parse()?,
        desired: get::<String>(row, "desired_state")?.parse()?,
        record: get(row, "record")?,
        created_at: time(row, "created_at")?,
    })
}

fn recording_from_row(row: &PgRow) -> Result<Recording> {
    Ok(Recording {
        id: RecordingId(uuid(row, "id")?),
        stream_id: StreamId(uuid(row, "stream_id")?),
        start: time(row, "start_at")?,
        end: opt_time(row, "end_at")?,
        location: get(row, "location")?,
        bytes: clamp_u64(get(row, "bytes")?),
    })
}

fn bookmark_from_row(row: &PgRow) -> Result<Bookmark> {
    Ok(Bookmark {
        id: BookmarkId(uuid(row, "id")?),
        stream_id: StreamId(uuid(row, "stream_id")?),
        at: time(row, "at")?,
        before: ms_duration(get(row, "before_ms")?),
        after: ms_duration(get(row, "after_ms")?),
        label: get(row, "label")?,
        clip_location: get(row, "clip_location")?,
        state: get::<String>(row, "state")?.parse()?,
        created_at: time(row, "created_at")?,
        detail: get(row, "detail")?,
    })
}

fn snapshot_from_row(row: &PgRow) -> Result<Snapshot> {
    Ok(Snapshot {
        id: SnapshotId(uuid(row, "id")?),
        stream_id: StreamId(uuid(row, "stream_id")?),
        taken_at: time(row, "taken_at")?,
        location: get(row, "location")?,
        bytes: clamp_u64(get(row, "bytes")?),
        width: u32::try_from(get::<i32>(row, "width")?).unwrap_or(0),
        height: u32::try_from(get::<i32>(row, "height")?).unwrap_or(0),
        label: get(row, "label")?,
    })
}

async fn insert_stream(tx: &mut Transaction<'_, Postgres>, s: &StreamRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO streams (id, device_id, profile, desired_state, record, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(s.id.0)
    .bind(s.device_id.0)
    .bind(s.profile.as_str())
    .bind(s.desired.as_str())
    .bind(s.record)
    .bind(s.created_at)
    .execute(&mut **tx)
    .await
    .map_err(|e| map_sqlx(e, Subject::Stream))?;
    Ok(())
}

fn not_found(subject: Subject) -> Error {
    map_sqlx(sqlx::Error::RowNotFound, subject)
}

/// Builds `SELECT * FROM table WHERE … ORDER BY time LIMIT n` (in the query's order) with
/// only the filters the
/// range has, so the planner can always use the `(stream_id, time)` index. With `end_col`,
/// rows overlap the range (recordings); without, their `time_col` lies in it.
fn range_select(
    table: &str,
    time_col: &str,
    end_col: Option<&str>,
    r: &ListQuery,
) -> Result<QueryBuilder<Postgres>> {
    let limit = r.checked_limit()?;
    let mut q = QueryBuilder::new(format!("SELECT * FROM {table} WHERE 1 = 1"));
    if let Some(s) = r.stream_id {
        q.push(" AND stream_id = ").push_bind(s.0);
    }
    if let Some(to) = r.to {
        q.push(format_args!(" AND {time_col} < ")).push_bind(to);
    }
    if let Some(from) = r.from {
        match end_col {
            Some(end) => q
                .push(format_args!(" AND ({end} IS NULL OR {end} > "))
                .push_bind(from)
                .push(")"),
            None => q.push(format_args!(" AND {time_col} >= ")).push_bind(from),
        };
    }
    let direction = match r.order {
        Order::Newest => "DESC",
        _ => "ASC",
    };
    q.push(format_args!(
        " ORDER BY {time_col} {direction}, id {direction} LIMIT "
    ))
    .push_bind(limit);
    Ok(q)
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Schema))?;
        Ok(())
    }

    async fn insert_device(&self, d: &DeviceRow, streams: &[StreamRow]) -> Result<()> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| map_sqlx(e, Subject::Device))?;
        sqlx::query(
            "INSERT INTO devices (id, name, rtsp_url, sub_rtsp_url, username, password, enabled, \
             created_at, updated_at, rtsp_transport) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(d.id.0)
        .bind(&d.name)
        .bind(d.rtsp_url.as_str())
        .bind(d.sub_rtsp_url.as_ref().map(CameraUrl::as_str))
        .bind(d.credentials.as_ref().map(|c| c.username.as_str()))
        .bind(d.credentials.as_ref().map(|c| c.password.as_str()))
        .bind(d.enabled)
        .bind(d.created_at)
        .bind(d.updated_at)
        .bind(d.rtsp_transport.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| map_sqlx(e, Subject::Device))?;
        for s in streams {
            insert_stream(&mut tx, s).await?;
        }
        tx.commit().await.map_err(|e| map_sqlx(e, Subject::Device))
    }

    async fn get_device(&self, id: DeviceId) -> Result<DeviceRow> {
        let row = sqlx::query("SELECT * FROM devices WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Device))?;
        device_from_row(&row)
    }

    async fn list_devices(&self) -> Result<Vec<DeviceRow>> {
        sqlx::query("SELECT * FROM devices ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Device))?
            .iter()
            .map(device_from_row)
            .collect()
    }

    async fn update_device(
        &self,
        d: &DeviceRow,
        add_streams: &[StreamRow],
        remove_streams: &[StreamId],
    ) -> Result<()> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| map_sqlx(e, Subject::Device))?;
        let done = sqlx::query(
            "UPDATE devices SET name = $1, rtsp_url = $2, sub_rtsp_url = $3, username = $4, \
             password = $5, enabled = $6, updated_at = $7, rtsp_transport = $9 WHERE id = $8",
        )
        .bind(&d.name)
        .bind(d.rtsp_url.as_str())
        .bind(d.sub_rtsp_url.as_ref().map(CameraUrl::as_str))
        .bind(d.credentials.as_ref().map(|c| c.username.as_str()))
        .bind(d.credentials.as_ref().map(|c| c.password.as_str()))
        .bind(d.enabled)
        .bind(d.updated_at)
        .bind(d.id.0)
        .bind(d.rtsp_transport.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| map_sqlx(e, Subject::Device))?;
        if done.rows_affected() == 0 {
            return Err(not_found(Subject::Device));
        }
        for id in remove_streams {
            sqlx::query("DELETE FROM streams WHERE id = $1 AND device_id = $2")
                .bind(id.0)
                .bind(d.id.0)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_sqlx(e, Subject::Stream))?;
        }
        for s in add_streams {
            insert_stream(&mut tx, s).await?;
        }
        tx.commit().await.map_err(|e| map_sqlx(e, Subject::Device))
    }

    async fn delete_device(&self, id: DeviceId) -> Result<()> {
        let done = sqlx::query("DELETE FROM devices WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Device))?;
        if done.rows_affected() == 0 {
            return Err(not_found(Subject::Device));
        }
        Ok(())
    }

    async fn get_stream(&self, id: StreamId) -> Result<StreamRow> {
        let row = sqlx::query("SELECT * FROM streams WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Stream))?;
        stream_from_row(&row)
    }

    async fn list_streams(&self, device: Option<DeviceId>) -> Result<Vec<StreamRow>> {
        let rows =
            match device {
                Some(d) => sqlx::query(
                    "SELECT * FROM streams WHERE device_id = $1 ORDER BY created_at, profile, id",
                )
                .bind(d.0)
                .fetch_all(&self.pool)
                .await,
                None => {
                    sqlx::query("SELECT * FROM streams ORDER BY created_at, profile, id")
                        .fetch_all(&self.pool)
                        .await
                }
            }
            .map_err(|e| map_sqlx(e, Subject::Stream))?;
        rows.iter().map(stream_from_row).collect()
    }

    async fn set_stream_desired(&self, id: StreamId, desired: DesiredState) -> Result<StreamRow> {
        let row = sqlx::query("UPDATE streams SET desired_state = $1 WHERE id = $2 RETURNING *")
            .bind(desired.as_str())
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Stream))?;
        stream_from_row(&row)
    }

    async fn set_stream_record(&self, id: StreamId, record: bool) -> Result<StreamRow> {
        let row = sqlx::query("UPDATE streams SET record = $1 WHERE id = $2 RETURNING *")
            .bind(record)
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Stream))?;
        stream_from_row(&row)
    }

    async fn insert_recording(&self, r: &Recording) -> Result<()> {
        sqlx::query(
            "INSERT INTO recordings (id, stream_id, start_at, end_at, location, bytes) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.id.0)
        .bind(r.stream_id.0)
        .bind(r.start)
        .bind(r.end)
        .bind(&r.location)
        .bind(to_i64(r.bytes)?)
        .execute(&self.pool)
        .await
        .map_err(|e| map_sqlx(e, Subject::Recording))?;
        Ok(())
    }

    async fn update_recording(
        &self,
        id: RecordingId,
        end: Option<DateTime<Utc>>,
        bytes: u64,
    ) -> Result<()> {
        let done = sqlx::query("UPDATE recordings SET end_at = $1, bytes = $2 WHERE id = $3")
            .bind(end)
            .bind(to_i64(bytes)?)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Recording))?;
        if done.rows_affected() == 0 {
            return Err(not_found(Subject::Recording));
        }
        Ok(())
    }

    async fn get_recording(&self, id: RecordingId) -> Result<Recording> {
        let row = sqlx::query("SELECT * FROM recordings WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Recording))?;
        recording_from_row(&row)
    }

    async fn list_recordings(&self, range: ListQuery) -> Result<Vec<Recording>> {
        range_select("recordings", "start_at", Some("end_at"), &range)?
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Recording))?
            .iter()
            .map(recording_from_row)
            .collect()
    }

    async fn open_recordings(&self) -> Result<Vec<Recording>> {
        sqlx::query("SELECT * FROM recordings WHERE end_at IS NULL ORDER BY start_at, id")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Recording))?
            .iter()
            .map(recording_from_row)
            .collect()
    }

    async fn delete_recording(&self, id: RecordingId) -> Result<()> {
        let done = sqlx::query("DELETE FROM recordings WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Recording))?;
        if done.rows_affected() == 0 {
            return Err(not_found(Subject::Recording));
        }
        Ok(())
    }

    async fn recording_usage(&self) -> Result<Vec<StreamUsage>> {
        let rows = sqlx::query(
            "SELECT stream_id, COUNT(*) AS recordings, COALESCE(SUM(bytes), 0)::bigint AS bytes \
             FROM recordings GROUP BY stream_id ORDER BY stream_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map_sqlx(e, Subject::Recording))?;
        rows.iter()
            .map(|row| {
                Ok(StreamUsage {
                    stream: StreamId(uuid(row, "stream_id")?),
                    recordings: clamp_u64(get(row, "recordings")?),
                    bytes: clamp_u64(get(row, "bytes")?),
                })
            })
            .collect()
    }

    #[cfg(test)]
    async fn total_recording_bytes(&self) -> Result<u64> {
        let total: i64 =
            sqlx::query_scalar("SELECT COALESCE(SUM(bytes), 0)::bigint FROM recordings")
                .fetch_one(&self.pool)
                .await
                .map_err(|e| map_sqlx(e, Subject::Recording))?;
        Ok(clamp_u64(total))
    }

    async fn oldest_recordings(
        &self,
        stream: Option<StreamId>,
        limit: u32,
    ) -> Result<Vec<Recording>> {
        let limit = checked_limit(limit)?;
        let mut q =
            QueryBuilder::<Postgres>::new("SELECT * FROM recordings WHERE end_at IS NOT NULL");
        if let Some(s) = stream {
            q.push(" AND stream_id = ").push_bind(s.0);
        }
        q.push(" ORDER BY start_at, id LIMIT ").push_bind(limit);
        q.build()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Recording))?
            .iter()
            .map(recording_from_row)
            .collect()
    }

    async fn recording_ids(&self, stream: StreamId) -> Result<Vec<RecordingId>> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM recordings WHERE stream_id = $1 ORDER BY start_at, id",
        )
        .bind(stream.0)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map_sqlx(e, Subject::Recording))?;
        Ok(ids.into_iter().map(RecordingId).collect())
    }

    async fn pending_bookmarks_overlapping(
        &self,
        stream: StreamId,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<Bookmark>> {
        // The bounds on `at` let the (stream_id, at) index narrow the scan: no clip span
        // reaches further than the largest margin from its moment.
        let margin = chrono::Duration::from_std(MAX_BOOKMARK_MARGIN)
            .map_err(|_| Error::internal("bookmark margin out of range"))?;
        let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM bookmarks WHERE stream_id = ");
        q.push_bind(stream.0)
            .push(" AND state = 'pending' AND at >= ")
            .push_bind(from - margin)
            .push(" AND at + after_ms * interval '1 millisecond' >= ")
            .push_bind(from);
        if let Some(to) = to {
            q.push(" AND at <= ")
                .push_bind(to + margin)
                .push(" AND at - before_ms * interval '1 millisecond' <= ")
                .push_bind(to);
        }
        q.push(" ORDER BY at, id LIMIT ")
            .push_bind(i64::from(MAX_LIST_LIMIT));
        q.build()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Bookmark))?
            .iter()
            .map(bookmark_from_row)
            .collect()
    }

    async fn delete_recording_if_unreferenced(&self, id: RecordingId) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM recordings r WHERE r.id = $1 AND r.end_at IS NOT NULL AND NOT EXISTS (\
             SELECT 1 FROM bookmarks b WHERE b.stream_id = r.stream_id \
             AND b.state = 'pending' \
             AND b.at - b.before_ms * interval '1 millisecond' <= r.end_at \
             AND b.at + b.after_ms * interval '1 millisecond' >= r.start_at)",
        )
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(|e| map_sqlx(e, Subject::Recording))?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_bookmark(&self, b: &Bookmark) -> Result<()> {
        b.validate()?;
        sqlx::query(
            "INSERT INTO bookmarks (id, stream_id, at, before_ms, after_ms, label, \
             clip_location, state, created_at, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(b.id.0)
        .bind(b.stream_id.0)
        .bind(b.at)
        .bind(duration_ms(b.before)?)
        .bind(duration_ms(b.after)?)
        .bind(&b.label)
        .bind(&b.clip_location)
        .bind(b.state.as_str())
        .bind(b.created_at)
        .bind(&b.detail)
        .execute(&self.pool)
        .await
        .map_err(|e| map_sqlx(e, Subject::Bookmark))?;
        Ok(())
    }

    async fn get_bookmark(&self, id: BookmarkId) -> Result<Bookmark> {
        let row = sqlx::query("SELECT * FROM bookmarks WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Bookmark))?;
        bookmark_from_row(&row)
    }

    async fn list_bookmarks(&self, range: ListQuery) -> Result<Vec<Bookmark>> {
        range_select("bookmarks", "at", None, &range)?
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Bookmark))?
            .iter()
            .map(bookmark_from_row)
            .collect()
    }

    async fn update_bookmark(
        &self,
        id: BookmarkId,
        state: BookmarkState,
        clip_location: Option<&str>,
        detail: Option<&str>,
    ) -> Result<Bookmark> {
        let row = sqlx::query(
            "UPDATE bookmarks SET state = $1, clip_location = $2, detail = $3 WHERE id = $4 RETURNING *",
        )
        .bind(state.as_str())
        .bind(clip_location)
        .bind(detail)
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| map_sqlx(e, Subject::Bookmark))?;
        bookmark_from_row(&row)
    }

    async fn delete_bookmark(&self, id: BookmarkId) -> Result<()> {
        let done = sqlx::query("DELETE FROM bookmarks WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Bookmark))?;
        if done.rows_affected() == 0 {
            return Err(not_found(Subject::Bookmark));
        }
        Ok(())
    }

    async fn insert_snapshot(&self, s: &Snapshot) -> Result<()> {
        sqlx::query(
            "INSERT INTO snapshots (id, stream_id, taken_at, location, bytes, width, height, label) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.id.0)
        .bind(s.stream_id.0)
        .bind(s.taken_at)
        .bind(&s.location)
        .bind(to_i64(s.bytes)?)
        .bind(i32::try_from(s.width).map_err(|_| Error::invalid_input("width too large"))?)
        .bind(i32::try_from(s.height).map_err(|_| Error::invalid_input("height too large"))?)
        .bind(s.label.as_deref())
        .execute(&self.pool)
        .await
        .map_err(|e| map_sqlx(e, Subject::Snapshot))?;
        Ok(())
    }

    async fn get_snapshot(&self, id: SnapshotId) -> Result<Snapshot> {
        let row = sqlx::query("SELECT * FROM snapshots WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Snapshot))?;
        snapshot_from_row(&row)
    }

    async fn list_snapshots(&self, range: ListQuery) -> Result<Vec<Snapshot>> {
        range_select("snapshots", "taken_at", None, &range)?
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Snapshot))?
            .iter()
            .map(snapshot_from_row)
            .collect()
    }

    async fn delete_snapshot(&self, id: SnapshotId) -> Result<()> {
        let done = sqlx::query("DELETE FROM snapshots WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Subject::Snapshot))?;
        if done.rows_affected() == 0 {
            return Err(not_found(Subject::Snapshot));
        }
        Ok(())
    }
}
