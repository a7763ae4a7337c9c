//! Retention: which recordings to delete, and deleting them.
//!
//! Owns the [`RetentionPolicy`] (maximum age, bytes per stream, total bytes, a free-space
//! watermark on the media filesystem), the sans-IO planner [`plan`], which picks closed
//! recordings oldest first from the figures it is given, and the driver — [`enforce`] for
//! one pass, [`Retention::spawn`] for a periodic task — which gathers those figures from the
//! store and the filesystem and deletes each chosen recording's row first, then its folder.
//!
//! It must never delete an open recording, nor one a pending bookmark still needs (a
//! bookmark in state `pending` whose `[at - before, at + after]` overlaps the recording):
//! the planner skips those, and the store's delete re-checks it in the same statement, so a
//! bookmark added meanwhile still protects its recording. The planner never reads a clock,
//! the store or a file.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::fs::{FsSpace, MediaFs};
use super::layout::MediaLayout;
use crate::clock::SharedClock;
use crate::model::{Bookmark, BookmarkState, Recording, RecordingId, StreamId};
use crate::store::{MAX_LIST_LIMIT, Store, StreamUsage};
use crate::{Error, Result};

/// Oldest recordings the driver considers per query (and per stream over its quota) in one
/// round.
pub const RETENTION_BATCH: u32 = 256;

/// Rounds of (gather, plan, delete) one [`enforce`] pass runs at most; each round deletes up
/// to a batch per constraint, so one pass frees at most this many batches.
pub const MAX_RETENTION_ROUNDS: usize = 64;

/// What to keep. Every limit is optional; the default keeps everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionPolicy {
    /// Delete recordings that ended longer ago than this.
    pub max_age: Option<Duration>,
    /// Keep each stream's recordings under this many bytes.
    pub max_bytes_per_stream: Option<u64>,
    /// Keep all recordings together under this many bytes.
    pub max_total_bytes: Option<u64>,
    /// Keep at least this many bytes free on the media filesystem.
    pub min_free_bytes: Option<u64>,
}

impl RetentionPolicy {
    /// Whether no limit is set.
    pub fn keeps_everything(&self) -> bool {
        *self == RetentionPolicy::default()
    }
}

/// Why a recording is deleted (the first limit it helps with, in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeletionReason {
    /// Older than the maximum age.
    Age,
    /// Its stream is over its byte quota.
    StreamBytes,
    /// All recordings together are over the total quota.
    TotalBytes,
    /// The media filesystem is below the free-space watermark.
    FreeSpace,
}

/// What the planner is told.
#[derive(Debug, Clone, Default)]
pub struct RetentionInput {
    /// The current time.
    pub now: DateTime<Utc>,
    /// Bytes per stream (all recordings, open ones included).
    pub usage: Vec<StreamUsage>,
    /// The media filesystem's size and free space, if the watermark is checked.
    pub space: Option<FsSpace>,
    /// Recordings that may be deleted, oldest first (open ones are ignored).
    pub candidates: Vec<Recording>,
    /// Pending bookmarks that may overlap the candidates.
    pub pending_bookmarks: Vec<Bookmark>,
}

/// One recording the planner chose.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedDeletion {
    /// The recording.
    pub recording: Recording,
    /// Why.
    pub reason: DeletionReason,
}

/// What the planner decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetentionPlan {
    /// Recordings to delete, oldest first.
    pub deletions: Vec<PlannedDeletion>,
    /// Recordings a limit wanted gone but a pending bookmark still needs.
    pub kept_for_bookmarks: Vec<RecordingId>,
    /// Whether every limit is met once the deletions are done (false: the candidates given
    /// were not enough, or protected).
    pub satisfied: bool,
}

/// Whether a pending bookmark needs `r`: its clip span overlaps the recording.
pub fn bookmark_needs(b: &Bookmark, r: &Recording) -> bool {
    if b.state != BookmarkState::Pending || b.stream_id != r.stream_id {
        return false;
    }
    let margin = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    let from = b.at - margin(b.before);
    let to = b.at + margin(b.after);
    from <= r.end.unwrap_or(DateTime::<Utc>::MAX_UTC) && to >= r.start
}

/// Picks the recordings to delete; see the module docs. Pure: same input, same plan.
pub fn plan(policy: &RetentionPolicy, input: &RetentionInput) -> RetentionPlan {
    let mut per_stream: BTreeMap<StreamId, u64> =
        input.usage.iter().map(|u| (u.stream, u.bytes)).collect();
    let mut total: u64 = per_stream.values().sum();
    let mut available = input.space.map(|s| s.available);
    let cutoff = policy
        .max_age
        .and_then(|age| chrono::Duration::from_std(age).ok())
        .and_then(|age| input.now.checked_sub_signed(age));

    let mut candidates: Vec<&Recording> = input.candidates.iter().collect();
    candidates.sort_by_key(|r| (r.start, r.id));
    candidates.dedup_by_key(|r| r.id);

    let mut result = RetentionPlan::default();
    for r in candidates {
        let Some(end) = r.end else { continue };
        let over = |limit: Option<u64>, value: u64| limit.is_some_and(|l| value > l);
        let reason = if cutoff.is_some_and(|c| end <= c) {
            DeletionReason::Age
        } else if over(
            policy.max_bytes_per_stream,
            per_stream.get(&r.stream_id).copied().unwrap_or(0),
        ) {
            DeletionReason::StreamBytes
        } else if over(policy.max_total_bytes, total) {
            DeletionReason::TotalBytes
        } else if policy
            .min_free_bytes
            .zip(available)
            .is_some_and(|(min, free)| free < min)
        {
            DeletionReason::FreeSpace
        } else {
            continue;
        };
        if input.pending_bookmarks.iter().any(|b| bookmark_needs(b, r)) {
            result.kept_for_bookmarks.push(r.id);
            continue;
        }
        if let Some(b) = per_stream.get_mut(&r.stream_id) {
            *b = b.saturating_sub(r.bytes);
        }
        total = total.saturating_sub(r.bytes);
        available = available.map(|a| a.saturating_add(r.bytes));
        result.deletions.push(PlannedDeletion {
            recording: r.clone(),
            reason,
        });
    }
    let expired_left = cutoff.is_some_and(|c| {
        input.candidates.iter().any(|r| {
            r.end.is_some_and(|e| e <= c)
                && !result.deletions.iter().any(|d| d.recording.id == r.id)
        })
    });
    result.satisfied = !expired_left
        && policy
            .max_bytes_per_stream
            .is_none_or(|l| per_stream.values().all(|&b| b <= l))
        && policy.max_total_bytes.is_none_or(|l| total <= l)
        && match (policy.min_free_bytes, available) {
            (Some(min), Some(free)) => free >= min,
            _ => true,
        };
    result
}

/// What one [`enforce`] pass did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetentionReport {
    /// Recordings deleted, with why, oldest first.
    pub deleted: Vec<(RecordingId, DeletionReason)>,
    /// Bytes their rows accounted for.
    pub bytes_freed: u64,
    /// Recordings kept because a pending bookmark needs them.
    pub kept_for_bookmarks: Vec<RecordingId>,
    /// Whether every limit was met at the end.
    pub satisfied: bool,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("retention file task failed: {e}")))
}

/// Gathers what the planner needs for one round.
async fn gather(
    store: &dyn Store,
    layout: &MediaLayout,
    fs: &Arc<dyn MediaFs>,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    skip: &HashSet<RecordingId>,
) -> Result<RetentionInput> {
    let usage = store.recording_usage().await?;
    let space = match policy.min_free_bytes {
        Some(_) => {
            let (fs, root) = (fs.clone(), layout.root().to_path_buf());
            Some(blocking(move || fs.space(&root)).await?.map_err(|e| {
                Error::from(e).context("cannot measure free space of the media folder")
            })?)
        }
        None => None,
    };
    let batch = RETENTION_BATCH.min(MAX_LIST_LIMIT);
    let mut candidates = store.oldest_recordings(None, batch).await?;
    if let Some(limit) = policy.max_bytes_per_stream {
        for u in usage.iter().filter(|u| u.bytes > limit) {
            candidates.extend(store.oldest_recordings(Some(u.stream), batch).await?);
        }
    }
    candidates.retain(|r| !skip.contains(&r.id));
    candidates.sort_by_key(|r| (r.start, r.id));
    candidates.dedup_by_key(|r| r.id);

    let mut spans: BTreeMap<StreamId, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    for r in &candidates {
        let end = r.end.unwrap_or(now);
        spans
            .entry(r.stream_id)
            .and_modify(|(from, to)| {
                *from = (*from).min(r.start);
                *to = (*to).max(end);
            })
            .or_insert((r.start, end));
    }
    let mut pending_bookmarks = Vec::new();
    for (stream, (from, to)) in spans {
        pending_bookmarks.extend(
            store
                .pending_bookmarks_overlapping(stream, from, Some(to))
                .await?,
        );
    }
    Ok(RetentionInput {
        now,
        usage,
        space,
        candidates,
        pending_bookmarks,
    })
}

/// Runs one retention pass: plans and deletes (row first, then folder) until every limit
/// is met, nothing more may be deleted, or [`MAX_RETENTION_ROUNDS`] rounds have run.
///
/// Store errors end the pass with that error; a folder that cannot be removed is logged
/// (its row is already gone, so crash recovery deletes it at the next start).
pub async fn enforce(
    store: &dyn Store,
    layout: &MediaLayout,
    fs: &Arc<dyn MediaFs>,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> Result<RetentionReport> {
    let mut report = RetentionReport {
        satisfied: true,
        ..Default::default()
    };
    if policy.keeps_everything() {
        return Ok(report);
    }
    let mut skip: HashSet<RecordingId> = HashSet::new();
    for _ in 0..MAX_RETENTION_ROUNDS {
        let input = gather(store, layout, fs, policy, now, &skip).await?;
        let planned = plan(policy, &input);
        report.satisfied = planned.satisfied;
        for id in &planned.kept_for_bookmarks {
            if skip.insert(*id) {
                report.kept_for_bookmarks.push(*id);
            }
        }
        if planned.deletions.is_empty() {
            break;
        }
        for d in planned.deletions {
            let r = d.recording;
            if !store.delete_recording_if_unreferenced(r.id).await? {
                // A bookmark arrived meanwhile, or the row went: leave it.
                skip.insert(r.id);
                continue;
            }
            remove_folder(layout, fs, &r).await;
            report.deleted.push((r.id, d.reason));
            report.bytes_freed += r.bytes;
        }
    }
    if !report.deleted.is_empty() {
        info!(
            recordings = report.deleted.len(),
            bytes = report.bytes_freed,
            satisfied = report.satisfied,
            "retention deleted recordings"
        );
    }
    if !report.satisfied {
        warn!("retention limits are still exceeded (recordings are open or needed by bookmarks)");
    }
    Ok(report)
}

/// Removes a deleted recording's folder, if its location is the layout's.
async fn remove_folder(layout: &MediaLayout, fs: &Arc<dyn MediaFs>, r: &Recording) {
    if r.location != layout.recording_location(r.stream_id, r.id) {
        warn!(recording = %r.id, location = %r.location, "recording outside the layout; its files were left");
        return;
    }
    let dir = match layout.resolve(&r.location) {
        Ok(p) => p.parent().map(std::path::Path::to_path_buf),
        Err(e) => {
            warn!(recording = %r.id, error = %e, "cannot resolve a deleted recording's folder");
            return;
        }
    };
    let Some(dir) = dir else { return };
    let fs = fs.clone();
    let shown = dir.display().to_string();
    let removed = blocking(move || match fs.remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    })
    .await;
    match removed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            warn!(folder = %shown, error = %e, "cannot remove a deleted recording's folder")
        }
        Err(e) => warn!(folder = %shown, error = %e, "cannot remove a deleted recording's folder"),
    }
}

/// A periodic retention task, ready to start.
#[derive(Debug, Clone)]
pub struct Retention {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The media folder layout.
    pub layout: MediaLayout,
    /// Where files are.
    pub fs: Arc<dyn MediaFs>,
    /// Wall-clock time for the age limit.
    pub clock: SharedClock,
    /// What to keep.
    pub policy: RetentionPolicy,
    /// Time between passes (the first runs at once).
    pub interval: Duration,
}

impl Retention {
    /// Starts the task.
    pub fn spawn(self) -> RetentionTask {
        let (stop_tx, mut stop) = watch::channel(false);
        let (report_tx, report_rx) = watch::channel(None);
        let handle = tokio::spawn(async move {
            loop {
                let now = self.clock.now_utc();
                match enforce(&*self.store, &self.layout, &self.fs, &self.policy, now).await {
                    Ok(r) => {
                        let _ = report_tx.send(Some(r));
                    }
                    Err(e) => warn!(error = %e, "retention pass failed"),
                }
                tokio::select! {
                    _ = stop.changed() => break,
                    () = tokio::time::sleep(self.interval) => {}
                }
            }
        });
        RetentionTask {
            stop: stop_tx,
            report: report_rx,
            handle,
        }
    }
}

/// A running retention task.
#[derive(Debug)]
pub struct RetentionTask {
    stop: watch::Sender<bool>,
    #[cfg_attr(not(test), allow(dead_code))] // read by tests, through `watch_reports`
    report: watch::Receiver<Option<RetentionReport>>,
    handle: JoinHandle<()>,
}

impl RetentionTask {
    /// A receiver that sees every pass's report.
    #[cfg(test)]
    pub fn watch_reports(&self) -> watch::Receiver<Option<RetentionReport>> {
        self.report.clone()
    }

    /// Stops the task (after the pass in progress, if any) and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.handle.await
            && e.is_panic()
        {
            warn!("the retention task panicked while stopping");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, SimulatedClock};
    use crate::model::BookmarkId;

    const HOUR: Duration = Duration::from_secs(3600);
    const MB: u64 = 1 << 20;

    /// A camera recording 10-minute chunks of `bytes` each on a simulated clock.
    struct Device {
        stream: StreamId,
        recordings: Vec<Recording>,
    }

    impl Device {
        fn new() -> Self {
            Device {
                stream: StreamId::new(),
                recordings: Vec::new(),
            }
        }

        /// Records one chunk ending now.
        fn chunk(&mut self, clock: &SimulatedClock, bytes: u64) {
            let end = clock.now_utc();
            self.recordings.push(Recording {
                id: RecordingId::new(),
                stream_id: self.stream,
                start: end - chrono::Duration::minutes(10),
                end: Some(end),
                location: String::new(),
                bytes,
            });
        }

        fn usage(&self) -> StreamUsage {
            StreamUsage {
                stream: self.stream,
                recordings: self.recordings.len() as u64,
                bytes: self.recordings.iter().map(|r| r.bytes).sum(),
            }
        }
    }

    fn input(now: DateTime<Utc>, cams: &[&Device]) -> RetentionInput {
        let mut candidates: Vec<Recording> = cams
            .iter()
            .flat_map(|c| c.recordings.iter().cloned())
            .collect();
        candidates.sort_by_key(|r| r.start);
        RetentionInput {
            now,
            usage: cams.iter().map(|c| c.usage()).collect(),
            candidates,
            ..Default::default()
        }
    }

    fn apply(cams: &mut [&mut Device], p: &RetentionPlan) {
        for c in cams {
            c.recordings
                .retain(|r| !p.deletions.iter().any(|d| d.recording.id == r.id));
        }
    }

    #[test]
    fn age_limit_follows_the_simulated_clock() {
        let clock = SimulatedClock::new("2026-03-01T00:00:00Z".parse().unwrap());
        let mut cam = Device::new();
        let policy = RetentionPolicy {
            max_age: Some(24 * HOUR),
            ..Default::default()
        };
        // Two days of 10-minute chunks, planning every hour as a driver would.
        let mut deleted = 0;
        for step in 0..(48 * 6) {
            clock.advance(Duration::from_secs(600));
            cam.chunk(&clock, MB);
            if step % 6 == 5 {
                let p = plan(&policy, &input(clock.now_utc(), &[&cam]));
                assert!(p.satisfied);
                assert!(p.deletions.iter().all(|d| d.reason == DeletionReason::Age));
                deleted += p.deletions.len();
                apply(&mut [&mut cam], &p);
                let oldest_end = cam.recordings[0].end.unwrap();
                assert!(clock.now_utc() - oldest_end < chrono::Duration::hours(24));
            }
        }
        // 48 h recorded, 24 h kept: 144 chunks kept, the day before deleted.
        assert_eq!(cam.recordings.len(), 144);
        assert_eq!(deleted, 144);
    }

    #[test]
    fn byte_limits_delete_oldest_first_per_stream_and_in_total() {
        let clock = SimulatedClock::new("2026-03-01T00:00:00Z".parse().unwrap());
        let (mut a, mut b) = (Device::new(), Device::new());
        for _ in 0..10 {
            clock.advance(Duration::from_secs(600));
            a.chunk(&clock, 3 * MB);
            b.chunk(&clock, MB);
        }
        // a: 30 MB, b: 10 MB.
        let per_stream = RetentionPolicy {
            max_bytes_per_stream: Some(20 * MB),
            ..Default::default()
        };
        let p = plan(&per_stream, &input(clock.now_utc(), &[&a, &b]));
        let ids: Vec<RecordingId> = p.deletions.iter().map(|d| d.recording.id).collect();
        let expected: Vec<RecordingId> = a.recordings[..4].iter().map(|r| r.id).collect();
        assert_eq!(ids, expected, "a's four oldest: 30 → 18 MB; b untouched");
        assert!(p.satisfied);

        let total = RetentionPolicy {
            max_total_bytes: Some(30 * MB),
            ..Default::default()
        };
        let p = plan(&total, &input(clock.now_utc(), &[&a, &b]));
        // Oldest first across streams: a0 (3), b0 (1), a1 (3), b1 (1), a2 (3) → 40 - 11 = 29.
        let ids: Vec<RecordingId> = p.deletions.iter().map(|d| d.recording.id).collect();
        assert_eq!(
            ids,
            vec![
                a.recordings[0].id,
                b.recordings[0].id,
                a.recordings[1].id,
                b.recordings[1].id,
                a.recordings[2].id
            ]
        );
        assert!(
            p.deletions
                .iter()
                .all(|d| d.reason == DeletionReason::TotalBytes)
        );
        apply(&mut [&mut a, &mut b], &p);
        assert!(
            plan(&total, &input(clock.now_utc(), &[&a, &b]))
                .deletions
                .is_empty()
        );
    }

    #[test]
    fn watermark_deletes_until_enough_is_free() {
        let clock = SimulatedClock::new("2026-03-01T00:00:00Z".parse().unwrap());
        let mut a = Device::new();
        for _ in 0..10 {
            clock.advance(Duration::from_secs(600));
            a.chunk(&clock, 2 * MB);
        }
        let policy = RetentionPolicy {
            min_free_bytes: Some(5 * MB),
            ..Default::default()
        };
        let mut i = input(clock.now_utc(), &[&a]);
        i.space = Some(FsSpace {
            total: 100 * MB,
            available: MB,
        });
        let p = plan(&policy, &i);
        assert_eq!(p.deletions.len(), 2, "1 + 2 + 2 ≥ 5 MB");
        assert!(
            p.deletions
                .iter()
                .all(|d| d.reason == DeletionReason::FreeSpace)
        );
        assert!(p.satisfied);
        // Without the figure (not measured), the watermark cannot trigger.
        i.space = None;
        assert!(plan(&policy, &i).deletions.is_empty());
    }

    #[test]
    fn pending_bookmarks_and_open_recordings_are_never_deleted() {
        let clock = SimulatedClock::new("2026-03-01T00:00:00Z".parse().unwrap());
        let mut a = Device::new();
        for _ in 0..6 {
            clock.advance(Duration::from_secs(600));
            a.chunk(&clock, MB);
        }
        a.recordings[5].end = None; // still recording
        let bookmark = |at: DateTime<Utc>, state| Bookmark {
            id: BookmarkId::new(),
            stream_id: a.stream,
            at,
            before: Duration::from_secs(5),
            after: Duration::from_secs(5),
            label: None,
            clip_location: None,
            state,
            created_at: at,
            detail: None,
        };
        // Pending 3 s after recording 1 ends: its span reaches back into recording 1 and on
        // into recording 2. A ready bookmark in recording 3 protects nothing.
        let r1_end = a.recordings[1].end.unwrap();
        let mut i = input(clock.now_utc(), &[&a]);
        i.pending_bookmarks = vec![
            bookmark(
                r1_end + chrono::Duration::seconds(3),
                BookmarkState::Pending,
            ),
            bookmark(a.recordings[3].start, BookmarkState::Ready),
        ];
        let policy = RetentionPolicy {
            max_total_bytes: Some(0),
            ..Default::default()
        };
        let p = plan(&policy, &i);
        let ids: Vec<RecordingId> = p.deletions.iter().map(|d| d.recording.id).collect();
        assert_eq!(
            ids,
            vec![a.recordings[0].id, a.recordings[3].id, a.recordings[4].id]
        );
        assert_eq!(
            p.kept_for_bookmarks,
            vec![a.recordings[1].id, a.recordings[2].id]
        );
        assert!(!p.satisfied, "what is protected or open still counts");
        // A bookmark of another stream protects nothing here.
        let mut other = i.pending_bookmarks[0].clone();
        other.stream_id = StreamId::new();
        assert!(!bookmark_needs(&other, &a.recordings[1]));
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `record::retention::plan` is used.
    #[test]
    fn plan_example() {
        use crate::model::{Recording, RecordingId, StreamId};
        use crate::record::retention::{DeletionReason, RetentionInput, RetentionPolicy, plan};
        use crate::store::StreamUsage;
        let now: chrono::DateTime<chrono::Utc> = "2026-05-01T00:00:00Z".parse().unwrap();
        let stream = StreamId::new();
        let rec = |hours_ago: i64, bytes| Recording {
            id: RecordingId::new(),
            stream_id: stream,
            bytes,
            start: now - chrono::Duration::hours(hours_ago),
            end: Some(now - chrono::Duration::hours(hours_ago - 1)),
            location: String::new(),
        };
        let input = RetentionInput {
            now,
            usage: vec![StreamUsage {
                stream,
                recordings: 3,
                bytes: 300,
            }],
            candidates: vec![rec(30, 100), rec(20, 100), rec(10, 100)],
            ..Default::default()
        };
        let policy = RetentionPolicy {
            max_bytes_per_stream: Some(150),
            ..Default::default()
        };
        let p = plan(&policy, &input);
        assert_eq!(p.deletions.len(), 2);
        assert!(
            p.deletions
                .iter()
                .all(|d| d.reason == DeletionReason::StreamBytes)
        );
        assert!(p.satisfied);
    }
}
