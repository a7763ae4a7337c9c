//! The queries of both store backends, written once.
//!
//! SQLite and PostgreSQL agree on almost all of the SQL VAS needs: the same tables, the same
//! statements, `$N` parameters (sqlx's SQLite driver reads `$N` as the N-th argument). What
//! differs is how a value is stored — ids as text in SQLite and `uuid` in PostgreSQL, times
//! as integer microseconds in SQLite and `timestamptz` in PostgreSQL — and how a number of
//! milliseconds is added to a time. Each backend module says those differences once, as
//! the "dialect" this module's queries use:
//!
//! * `type Db` (the sqlx database) and `type DbRow` (its row);
//! * `fn db_id(Uuid)` and `fn db_time(DateTime<Utc>)`: the value bound for an id or a time;
//! * `fn read_id`, `fn read_time`, `fn read_opt_time`: an id or a time read from a row;
//! * `const MILLISECOND: &str`: SQL for one millisecond in the unit of a stored time.
//!
//! [`sql_store!`] then writes the row mapping and the [`super::Store`] implementation for
//! that backend, in a private module `queries` beside the dialect. A macro rather than a
//! function generic over `sqlx::Database`: sqlx's generic form needs bounds on every type
//! bound or read (and on its executors) at every use, which would bury the SQL; the macro
//! gives each backend ordinary concrete code from one text.

/// Writes the `queries` module of a store backend: `sql_store!(SqliteStore, Sqlite)` for the
/// store type and its [`super::Backend`] variant; see the module documentation.
macro_rules! sql_store {
    ($store:ident, $backend:ident) => {
        mod queries {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::{QueryBuilder, Row, Transaction};

            use super::{
                Db, DbRow, MILLISECOND, db_id, db_time, read_id, read_opt_time, read_time,
            };
            use crate::camera_url::{CameraUrl, Credentials};
            use crate::model::{
                Bookmark, BookmarkId, BookmarkState, DesiredState, DeviceId, DeviceRow,
                MAX_BOOKMARK_MARGIN, Order, Recording, RecordingId, Snapshot, SnapshotId, StreamId,
                StreamRow,
            };
            use crate::store::{
                Backend, ListQuery, MAX_LIST_LIMIT, Store, StreamUsage, Subject, checked_limit,
                clamp_u64, duration_ms, map_sqlx, ms_duration, to_i64,
            };
            use crate::{Error, Result};

            fn get<'r, T>(row: &'r DbRow, col: &str) -> Result<T>
            where
                T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
            {
                row.try_get(col).map_err(|e| map_sqlx(e, Subject::Schema))
            }

            fn device_from_row(row: &DbRow) -> Result<DeviceRow> {
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
                    id: DeviceId(read_id(row, "id")?),
                    name: get(row, "name")?,
                    rtsp_url: CameraUrl::try_from(get::<String>(row, "rtsp_url")?)?,
                    sub_rtsp_url: sub.map(CameraUrl::try_from).transpose()?,
                    credentials,
                    rtsp_transport: get::<String>(row, "rtsp_transport")?.parse()?,
                    enabled: get(row, "enabled")?,
                    created_at: read_time(row, "created_at")?,
                    updated_at: read_time(row, "updated_at")?,
                })
            }

            fn stream_from_row(row: &DbRow) -> Result<StreamRow> {
                Ok(StreamRow {
                    id: StreamId(read_id(row, "id")?),
                    device_id: DeviceId(read_id(row, "device_id")?),
                    profile: get::<String>(row, "profile")?.parse()?,
                    desired: get::<String>(row, "desired_state")?.parse()?,
                    record: get(row, "record")?,
                    created_at: read_time(row, "created_at")?,
                })
            }

            fn recording_from_row(row: &DbRow) -> Result<Recording> {
                Ok(Recording {
                    id: RecordingId(read_id(row, "id")?),
                    stream_id: StreamId(read_id(row, "stream_id")?),
                    start: read_time(row, "start_at")?,
                    end: read_opt_time(row, "end_at")?,
                    location: get(row, "location")?,
                    bytes: clamp_u64(get(row, "bytes")?),
                })
            }

            fn bookmark_from_row(row: &DbRow) -> Result<Bookmark> {
                Ok(Bookmark {
                    id: BookmarkId(read_id(row, "id")?),
                    stream_id: StreamId(read_id(row, "stream_id")?),
                    at: read_time(row, "at")?,
                    before: ms_duration(get(row, "before_ms")?),
                    after: ms_duration(get(row, "after_ms")?),
                    label: get(row, "label")?,
                    clip_location: get(row, "clip_location")?,
                    state: get::<String>(row, "state")?.parse()?,
                    created_at: read_time(row, "created_at")?,
                    detail: get(row, "detail")?,
                })
            }

            fn snapshot_from_row(row: &DbRow) -> Result<Snapshot> {
                Ok(Snapshot {
                    id: SnapshotId(read_id(row, "id")?),
                    stream_id: StreamId(read_id(row, "stream_id")?),
                    taken_at: read_time(row, "taken_at")?,
                    location: get(row, "location")?,
                    bytes: clamp_u64(get(row, "bytes")?),
                    width: u32::try_from(get::<i32>(row, "width")?).unwrap_or(0),
                    height: u32::try_from(get::<i32>(row, "height")?).unwrap_or(0),
                    label: get(row, "label")?,
                })
            }

            async fn insert_stream(tx: &mut Transaction<'_, Db>, s: &StreamRow) -> Result<()> {
                sqlx::query(
                    "INSERT INTO streams \
                     (id, device_id, profile, desired_state, record, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(db_id(s.id.0))
                .bind(db_id(s.device_id.0))
                .bind(s.profile.as_str())
                .bind(s.desired.as_str())
                .bind(s.record)
                .bind(db_time(s.created_at))
                .execute(&mut **tx)
                .await
                .map_err(|e| map_sqlx(e, Subject::Stream))?;
                Ok(())
            }

            /// The row of `table` with this id (`NotFound`, as `subject`, when there is none).
            async fn row_by_id(
                pool: &sqlx::Pool<Db>,
                table: &str,
                id: uuid::Uuid,
                subject: Subject,
            ) -> Result<DbRow> {
                // Audited: `table` is always one of this module's table names, never input.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT * FROM {table} WHERE id = $1"
                )))
                .bind(db_id(id))
                .fetch_one(pool)
                .await
                .map_err(|e| map_sqlx(e, subject))
            }

            /// Deletes the row of `table` with this id (`NotFound`, as `subject`, when there is
            /// none); what refers to it goes with it (the schema's cascades).
            async fn delete_by_id(
                pool: &sqlx::Pool<Db>,
                table: &str,
                id: uuid::Uuid,
                subject: Subject,
            ) -> Result<()> {
                // Audited: `table` is always one of this module's table names, never input.
                let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE id = $1"
                )))
                .bind(db_id(id))
                .execute(pool)
                .await
                .map_err(|e| map_sqlx(e, subject))?;
                if done.rows_affected() == 0 {
                    return Err(not_found(subject));
                }
                Ok(())
            }

            /// A size as the schema's `integer` column holds it.
            fn small(v: u32, what: &str) -> Result<i32> {
                i32::try_from(v).map_err(|_| Error::invalid_input(format!("{what} too large")))
            }

            fn not_found(subject: Subject) -> Error {
                map_sqlx(sqlx::Error::RowNotFound, subject)
            }

            /// The rows of `SELECT * FROM table WHERE … ORDER BY time LIMIT n` (in the query's
            /// order), with only the filters the range has, so the planner can always use the
            /// `(stream_id, time)` index. With `end_col`, rows overlap the range
            /// (recordings); without, their `time_col` lies in it.
            async fn range_rows(
                pool: &sqlx::Pool<Db>,
                (table, time_col, end_col): (&str, &str, Option<&str>),
                r: &ListQuery,
                subject: Subject,
            ) -> Result<Vec<DbRow>> {
                let limit = r.checked_limit()?;
                let mut q = QueryBuilder::new(format!("SELECT * FROM {table} WHERE 1 = 1"));
                if let Some(s) = r.stream_id {
                    q.push(" AND stream_id = ").push_bind(db_id(s.0));
                }
                if let Some(to) = r.to {
                    q.push(format_args!(" AND {time_col} < "))
                        .push_bind(db_time(to));
                }
                if let Some(from) = r.from {
                    match end_col {
                        Some(end) => q
                            .push(format_args!(" AND ({end} IS NULL OR {end} > "))
                            .push_bind(db_time(from))
                            .push(")"),
                        None => q
                            .push(format_args!(" AND {time_col} >= "))
                            .push_bind(db_time(from)),
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
                q.build()
                    .fetch_all(pool)
                    .await
                    .map_err(|e| map_sqlx(e, subject))
            }

            #[async_trait]
            impl Store for super::$store {
                fn backend(&self) -> Backend {
                    Backend::$backend
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
                        "INSERT INTO devices (id, name, rtsp_url, sub_rtsp_url, username, \
                         password, enabled, created_at, updated_at, rtsp_transport) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(db_id(d.id.0))
                    .bind(&d.name)
                    .bind(d.rtsp_url.as_str())
                    .bind(d.sub_rtsp_url.as_ref().map(CameraUrl::as_str))
                    .bind(d.credentials.as_ref().map(|c| c.username.as_str()))
                    .bind(d.credentials.as_ref().map(|c| c.password.as_str()))
                    .bind(d.enabled)
                    .bind(db_time(d.created_at))
                    .bind(db_time(d.updated_at))
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
                    device_from_row(&row_by_id(&self.pool, "devices", id.0, Subject::Device).await?)
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
                        "UPDATE devices SET name = $1, rtsp_url = $2, sub_rtsp_url = $3, \
                         username = $4, password = $5, enabled = $6, updated_at = $7, \
                         rtsp_transport = $8 WHERE id = $9",
                    )
                    .bind(&d.name)
                    .bind(d.rtsp_url.as_str())
                    .bind(d.sub_rtsp_url.as_ref().map(CameraUrl::as_str))
                    .bind(d.credentials.as_ref().map(|c| c.username.as_str()))
                    .bind(d.credentials.as_ref().map(|c| c.password.as_str()))
                    .bind(d.enabled)
                    .bind(db_time(d.updated_at))
                    .bind(d.rtsp_transport.as_str())
                    .bind(db_id(d.id.0))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| map_sqlx(e, Subject::Device))?;
                    if done.rows_affected() == 0 {
                        return Err(not_found(Subject::Device));
                    }
                    for id in remove_streams {
                        sqlx::query("DELETE FROM streams WHERE id = $1 AND device_id = $2")
                            .bind(db_id(id.0))
                            .bind(db_id(d.id.0))
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
                    delete_by_id(&self.pool, "devices", id.0, Subject::Device).await
                }

                async fn get_stream(&self, id: StreamId) -> Result<StreamRow> {
                    stream_from_row(&row_by_id(&self.pool, "streams", id.0, Subject::Stream).await?)
                }

                async fn list_streams(&self, device: Option<DeviceId>) -> Result<Vec<StreamRow>> {
                    let mut q = QueryBuilder::<Db>::new("SELECT * FROM streams");
                    if let Some(d) = device {
                        q.push(" WHERE device_id = ").push_bind(db_id(d.0));
                    }
                    q.push(" ORDER BY created_at, profile, id")
                        .build()
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| map_sqlx(e, Subject::Stream))?
                        .iter()
                        .map(stream_from_row)
                        .collect()
                }

                async fn set_stream_desired(
                    &self,
                    id: StreamId,
                    desired: DesiredState,
                ) -> Result<StreamRow> {
                    let row = sqlx::query(
                        "UPDATE streams SET desired_state = $1 WHERE id = $2 RETURNING *",
                    )
                    .bind(desired.as_str())
                    .bind(db_id(id.0))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| map_sqlx(e, Subject::Stream))?;
                    stream_from_row(&row)
                }

                async fn set_stream_record(&self, id: StreamId, record: bool) -> Result<StreamRow> {
                    let row =
                        sqlx::query("UPDATE streams SET record = $1 WHERE id = $2 RETURNING *")
                            .bind(record)
                            .bind(db_id(id.0))
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
                    .bind(db_id(r.id.0))
                    .bind(db_id(r.stream_id.0))
                    .bind(db_time(r.start))
                    .bind(r.end.map(db_time))
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
                    let done =
                        sqlx::query("UPDATE recordings SET end_at = $1, bytes = $2 WHERE id = $3")
                            .bind(end.map(db_time))
                            .bind(to_i64(bytes)?)
                            .bind(db_id(id.0))
                            .execute(&self.pool)
                            .await
                            .map_err(|e| map_sqlx(e, Subject::Recording))?;
                    if done.rows_affected() == 0 {
                        return Err(not_found(Subject::Recording));
                    }
                    Ok(())
                }

                async fn get_recording(&self, id: RecordingId) -> Result<Recording> {
                    recording_from_row(
                        &row_by_id(&self.pool, "recordings", id.0, Subject::Recording).await?,
                    )
                }

                async fn list_recordings(&self, range: ListQuery) -> Result<Vec<Recording>> {
                    let table = ("recordings", "start_at", Some("end_at"));
                    range_rows(&self.pool, table, &range, Subject::Recording)
                        .await?
                        .iter()
                        .map(recording_from_row)
                        .collect()
                }

                async fn open_recordings(&self) -> Result<Vec<Recording>> {
                    sqlx::query(
                        "SELECT * FROM recordings WHERE end_at IS NULL ORDER BY start_at, id",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| map_sqlx(e, Subject::Recording))?
                    .iter()
                    .map(recording_from_row)
                    .collect()
                }

                async fn delete_recording(&self, id: RecordingId) -> Result<()> {
                    delete_by_id(&self.pool, "recordings", id.0, Subject::Recording).await
                }

                async fn recording_usage(&self) -> Result<Vec<StreamUsage>> {
                    let rows = sqlx::query(
                        "SELECT stream_id, COUNT(*) AS recordings, \
                         CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS bytes \
                         FROM recordings GROUP BY stream_id ORDER BY stream_id",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| map_sqlx(e, Subject::Recording))?;
                    rows.iter()
                        .map(|row| {
                            Ok(StreamUsage {
                                stream: StreamId(read_id(row, "stream_id")?),
                                recordings: clamp_u64(get(row, "recordings")?),
                                bytes: clamp_u64(get(row, "bytes")?),
                            })
                        })
                        .collect()
                }

                #[cfg(test)]
                async fn total_recording_bytes(&self) -> Result<u64> {
                    let total: i64 = sqlx::query_scalar(
                        "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM recordings",
                    )
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
                    let mut q = QueryBuilder::<Db>::new(
                        "SELECT * FROM recordings WHERE end_at IS NOT NULL",
                    );
                    if let Some(s) = stream {
                        q.push(" AND stream_id = ").push_bind(db_id(s.0));
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
                    sqlx::query(
                        "SELECT id FROM recordings WHERE stream_id = $1 ORDER BY start_at, id",
                    )
                    .bind(db_id(stream.0))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| map_sqlx(e, Subject::Recording))?
                    .iter()
                    .map(|row| Ok(RecordingId(read_id(row, "id")?)))
                    .collect()
                }

                async fn pending_bookmarks_overlapping(
                    &self,
                    stream: StreamId,
                    from: DateTime<Utc>,
                    to: Option<DateTime<Utc>>,
                ) -> Result<Vec<Bookmark>> {
                    // The bounds on `at` let the (stream_id, at) index narrow the scan: no
                    // clip span reaches further than the largest margin from its moment.
                    let margin = chrono::Duration::from_std(MAX_BOOKMARK_MARGIN)
                        .map_err(|_| Error::internal("bookmark margin out of range"))?;
                    let mut q =
                        QueryBuilder::<Db>::new("SELECT * FROM bookmarks WHERE stream_id = ");
                    q.push_bind(db_id(stream.0))
                        .push(" AND state = 'pending' AND at >= ")
                        .push_bind(db_time(from - margin))
                        .push(format_args!(" AND at + after_ms * {MILLISECOND} >= "))
                        .push_bind(db_time(from));
                    if let Some(to) = to {
                        q.push(" AND at <= ")
                            .push_bind(db_time(to + margin))
                            .push(format_args!(" AND at - before_ms * {MILLISECOND} <= "))
                            .push_bind(db_time(to));
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
                    let sql = format!(
                        "DELETE FROM recordings WHERE id = $1 AND end_at IS NOT NULL \
                         AND NOT EXISTS (SELECT 1 FROM bookmarks b \
                         WHERE b.stream_id = recordings.stream_id \
                         AND b.state = 'pending' \
                         AND b.at - b.before_ms * {MILLISECOND} <= recordings.end_at \
                         AND b.at + b.after_ms * {MILLISECOND} >= recordings.start_at)"
                    );
                    // Audited: the only text formatted in is the dialect's constant.
                    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(db_id(id.0))
                        .execute(&self.pool)
                        .await
                        .map_err(|e| map_sqlx(e, Subject::Recording))?;
                    Ok(done.rows_affected() > 0)
                }

                async fn insert_bookmark(&self, b: &Bookmark) -> Result<()> {
                    b.validate()?;
                    sqlx::query(
                        "INSERT INTO bookmarks (id, stream_id, at, before_ms, after_ms, label, \
                         clip_location, state, created_at, detail) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(db_id(b.id.0))
                    .bind(db_id(b.stream_id.0))
                    .bind(db_time(b.at))
                    .bind(duration_ms(b.before)?)
                    .bind(duration_ms(b.after)?)
                    .bind(&b.label)
                    .bind(&b.clip_location)
                    .bind(b.state.as_str())
                    .bind(db_time(b.created_at))
                    .bind(&b.detail)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| map_sqlx(e, Subject::Bookmark))?;
                    Ok(())
                }

                async fn get_bookmark(&self, id: BookmarkId) -> Result<Bookmark> {
                    bookmark_from_row(
                        &row_by_id(&self.pool, "bookmarks", id.0, Subject::Bookmark).await?,
                    )
                }

                async fn list_bookmarks(&self, range: ListQuery) -> Result<Vec<Bookmark>> {
                    let table = ("bookmarks", "at", None);
                    range_rows(&self.pool, table, &range, Subject::Bookmark)
                        .await?
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
                        "UPDATE bookmarks SET state = $1, clip_location = $2, detail = $3 \
                         WHERE id = $4 RETURNING *",
                    )
                    .bind(state.as_str())
                    .bind(clip_location)
                    .bind(detail)
                    .bind(db_id(id.0))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| map_sqlx(e, Subject::Bookmark))?;
                    bookmark_from_row(&row)
                }

                async fn delete_bookmark(&self, id: BookmarkId) -> Result<()> {
                    delete_by_id(&self.pool, "bookmarks", id.0, Subject::Bookmark).await
                }

                async fn insert_snapshot(&self, s: &Snapshot) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO snapshots \
                         (id, stream_id, taken_at, location, bytes, width, height, label) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(db_id(s.id.0))
                    .bind(db_id(s.stream_id.0))
                    .bind(db_time(s.taken_at))
                    .bind(&s.location)
                    .bind(to_i64(s.bytes)?)
                    .bind(small(s.width, "width")?)
                    .bind(small(s.height, "height")?)
                    .bind(s.label.as_deref())
                    .execute(&self.pool)
                    .await
                    .map_err(|e| map_sqlx(e, Subject::Snapshot))?;
                    Ok(())
                }

                async fn get_snapshot(&self, id: SnapshotId) -> Result<Snapshot> {
                    snapshot_from_row(
                        &row_by_id(&self.pool, "snapshots", id.0, Subject::Snapshot).await?,
                    )
                }

                async fn list_snapshots(&self, range: ListQuery) -> Result<Vec<Snapshot>> {
                    let table = ("snapshots", "taken_at", None);
                    range_rows(&self.pool, table, &range, Subject::Snapshot)
                        .await?
                        .iter()
                        .map(snapshot_from_row)
                        .collect()
                }

                async fn delete_snapshot(&self, id: SnapshotId) -> Result<()> {
                    delete_by_id(&self.pool, "snapshots", id.0, Subject::Snapshot).await
                }
            }
        }
    };
}

pub(super) use sql_store;
