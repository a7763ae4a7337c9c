/*
 * parity.c: the parity scenario through the C ABI (see tests/parity/README.md).
 *
 *   parity --url rtsp://camera --data DIR
 *
 * Does the README's scenario with an engine on DIR and prints one JSON document on standard
 * output: every field of every record the description has, normalised as the README says
 * (ids as text, times as integer microseconds, durations as seconds, enums by name, absent
 * values as null). `calls` is left out: the driver reads the C shell's calls from the header.
 * Anything else goes to standard error; the exit status is 0 only if every step succeeded.
 * `scripts/c-abi.sh` builds it with the sanitizers and runs it through
 * `python3 tests/parity/run.py shell c -- parity`.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vas.h"

/* Deadline of every wait of the scenario (a state, an event, a frame). */
#define DEADLINE_MS 30000
/* Longest single pull while waiting. */
#define PULL_MS 500

/* ---- failing ---- */

static void die(const char *what, vas_result r) {
  char msg[1024] = "";
  vas_last_error_message(msg, sizeof msg, NULL);
  fprintf(stderr, "parity: %s: %s: %s\n", what, vas_result_name(r), msg);
  exit(1);
}

#define OK(call)                        \
  do {                                  \
    vas_result r_ = (call);             \
    if (r_ != VAS_OK) die(#call, r_);   \
  } while (0)

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- a growing text buffer for the JSON document ---- */

typedef struct {
  char *data;
  size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = t->cap - t->len;
    int n = vsnprintf(t->data ? t->data + t->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
      fprintf(stderr, "parity: vsnprintf failed\n");
      exit(1);
    }
    if ((size_t)n < room) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = t->cap ? t->cap * 2 : 4096;
    while (cap - t->len <= (size_t)n) cap *= 2;
    char *d = realloc(t->data, cap);
    if (d == NULL) {
      fprintf(stderr, "parity: out of memory\n");
      exit(1);
    }
    t->data = d;
    t->cap = cap;
  }
}

/* A JSON string, or null for NULL. */
static void put_str(text *t, const char *s) {
  if (s == NULL) {
    put(t, "null");
    return;
  }
  put(t, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': put(t, "\\\""); break;
      case '\\': put(t, "\\\\"); break;
      case '\n': put(t, "\\n"); break;
      case '\r': put(t, "\\r"); break;
      case '\t': put(t, "\\t"); break;
      default:
        if (*p < 0x20) put(t, "\\u%04x", *p);
        else put(t, "%c", *p);
    }
  }
  put(t, "\"");
}

static void put_id(text *t, vas_id id) {
  char buf[VAS_ID_STRING_SIZE];
  OK(vas_id_format(id, buf, sizeof buf));
  put_str(t, buf);
}

static void put_opt_id(text *t, bool present, vas_id id) {
  if (present) put_id(t, id);
  else put(t, "null");
}

static void put_bool(text *t, bool b) { put(t, b ? "true" : "false"); }
static void put_u64(text *t, uint64_t v) { put(t, "%" PRIu64, v); }
static void put_i64(text *t, int64_t v) { put(t, "%" PRId64, v); }
static void put_f64(text *t, double v) {
  if (isfinite(v)) put(t, "%.17g", v);
  else put(t, "null");
}
/* A duration the C ABI gives in milliseconds, as seconds. */
static void put_ms_as_s(text *t, uint64_t ms) { put_f64(t, (double)ms / 1000.0); }
/* An enum by name (its `_name` function's answer). */
static void put_enum(text *t, const char *name) { put_str(t, name); }

/* `"key": ` (with a comma before every key but an object's first). */
static void key(text *t, int *first, const char *k) {
  put(t, "%s\"%s\": ", *first ? "" : ", ", k);
  *first = 0;
}

/* ---- records ---- */

static void put_device(text *t, const vas_device *d) {
  int f = 1;
  vas_id sub;
  put(t, "{");
  key(t, &f, "id"); put_id(t, vas_device_id(d));
  key(t, &f, "name"); put_str(t, vas_device_name(d));
  key(t, &f, "main_stream_id"); put_id(t, vas_device_main_stream_id(d));
  key(t, &f, "sub_stream_id"); put_opt_id(t, vas_device_sub_stream_id(d, &sub), sub);
  key(t, &f, "rtsp_url"); put_str(t, vas_device_rtsp_url(d));
  key(t, &f, "sub_rtsp_url"); put_str(t, vas_device_sub_rtsp_url(d));
  key(t, &f, "has_credentials"); put_bool(t, vas_device_has_credentials(d));
  key(t, &f, "rtsp_transport"); put_enum(t, vas_rtp_transport_name(vas_device_rtsp_transport(d)));
  key(t, &f, "enabled"); put_bool(t, vas_device_enabled(d));
  key(t, &f, "created_at"); put_i64(t, vas_device_created_at_us(d));
  key(t, &f, "updated_at"); put_i64(t, vas_device_updated_at_us(d));
  put(t, "}");
}

static void put_recorder_status(text *t, const vas_recorder_status *r) {
  if (r == NULL) {
    put(t, "null");
    return;
  }
  int f = 1;
  vas_id rec;
  put(t, "{");
  key(t, &f, "state"); put_enum(t, vas_recorder_state_name(vas_recorder_status_state(r)));
  key(t, &f, "recording_id"); put_opt_id(t, vas_recorder_status_recording_id(r, &rec), rec);
  key(t, &f, "last_error"); put_str(t, vas_recorder_status_last_error(r));
  key(t, &f, "recordings"); put_u64(t, vas_recorder_status_recordings(r));
  key(t, &f, "segments"); put_u64(t, vas_recorder_status_segments(r));
  key(t, &f, "bytes"); put_u64(t, vas_recorder_status_bytes(r));
  key(t, &f, "frames_written"); put_u64(t, vas_recorder_status_frames_written(r));
  key(t, &f, "frames_received"); put_u64(t, vas_recorder_status_frames_received(r));
  key(t, &f, "frames_dropped"); put_u64(t, vas_recorder_status_frames_dropped(r));
  key(t, &f, "frames_lost"); put_u64(t, vas_recorder_status_frames_lost(r));
  key(t, &f, "discontinuities"); put_u64(t, vas_recorder_status_discontinuities(r));
  key(t, &f, "errors"); put_u64(t, vas_recorder_status_errors(r));
  put(t, "}");
}

static void put_stream(text *t, const vas_stream *s) {
  int f = 1;
  int64_t last_frame = 0;
  put(t, "{");
  key(t, &f, "id"); put_id(t, vas_stream_id(s));
  key(t, &f, "device_id"); put_id(t, vas_stream_device_id(s));
  key(t, &f, "profile"); put_enum(t, vas_stream_profile_name(vas_stream_profile_of(s)));
  key(t, &f, "state"); put_enum(t, vas_stream_state_name(vas_stream_state_of(s)));
  key(t, &f, "desired_state"); put_enum(t, vas_desired_state_name(vas_stream_desired_state(s)));
  key(t, &f, "record"); put_bool(t, vas_stream_record(s));
  key(t, &f, "fps"); put_f64(t, vas_stream_fps(s));
  key(t, &f, "bitrate_bps"); put_u64(t, vas_stream_bitrate_bps(s));
  key(t, &f, "frames"); put_u64(t, vas_stream_frames(s));
  key(t, &f, "reconnects"); put_u64(t, vas_stream_reconnects(s));
  key(t, &f, "last_error"); put_str(t, vas_stream_last_error(s));
  key(t, &f, "last_frame_at");
  if (vas_stream_last_frame_at_us(s, &last_frame)) put_i64(t, last_frame);
  else put(t, "null");
  key(t, &f, "viewers"); put_u64(t, vas_stream_viewers(s));
  key(t, &f, "recording"); put_recorder_status(t, vas_stream_recording(s));
  key(t, &f, "created_at"); put_i64(t, vas_stream_created_at_us(s));
  put(t, "}");
}

static void put_frame_info(text *t, const vas_frame *fr) {
  int f = 1;
  put(t, "{");
  key(t, &f, "width"); put_u64(t, vas_frame_width(fr));
  key(t, &f, "height"); put_u64(t, vas_frame_height(fr));
  key(t, &f, "format"); put_enum(t, vas_pixel_format_name(vas_frame_format(fr)));
  key(t, &f, "pts"); put_i64(t, vas_frame_pts(fr));
  key(t, &f, "time"); put_i64(t, vas_frame_time_us(fr));
  key(t, &f, "keyframe"); put_bool(t, vas_frame_keyframe(fr));
  key(t, &f, "seq"); put_u64(t, vas_frame_seq(fr));
  key(t, &f, "epoch"); put_u64(t, vas_frame_epoch(fr));
  put(t, "}");
}

static void put_snapshot(text *t, const vas_snapshot *s) {
  int f = 1;
  put(t, "{");
  key(t, &f, "id"); put_id(t, vas_snapshot_id(s));
  key(t, &f, "stream_id"); put_id(t, vas_snapshot_stream_id(s));
  key(t, &f, "taken_at"); put_i64(t, vas_snapshot_taken_at_us(s));
  key(t, &f, "location"); put_str(t, vas_snapshot_location(s));
  key(t, &f, "bytes"); put_u64(t, vas_snapshot_bytes(s));
  key(t, &f, "width"); put_u64(t, vas_snapshot_width(s));
  key(t, &f, "height"); put_u64(t, vas_snapshot_height(s));
  key(t, &f, "label"); put_str(t, vas_snapshot_label(s));
  put(t, "}");
}

static void put_bookmark(text *t, const vas_bookmark *b) {
  int f = 1;
  put(t, "{");
  key(t, &f, "id"); put_id(t, vas_bookmark_id(b));
  key(t, &f, "stream_id"); put_id(t, vas_bookmark_stream_id(b));
  key(t, &f, "at"); put_i64(t, vas_bookmark_at_us(b));
  key(t, &f, "before"); put_ms_as_s(t, vas_bookmark_before_ms(b));
  key(t, &f, "after"); put_ms_as_s(t, vas_bookmark_after_ms(b));
  key(t, &f, "label"); put_str(t, vas_bookmark_label(b));
  key(t, &f, "clip_location"); put_str(t, vas_bookmark_clip_location(b));
  key(t, &f, "state"); put_enum(t, vas_bookmark_state_name(vas_bookmark_state_of(b)));
  key(t, &f, "created_at"); put_i64(t, vas_bookmark_created_at_us(b));
  key(t, &f, "detail"); put_str(t, vas_bookmark_detail(b));
  put(t, "}");
}

static void put_recording(text *t, const vas_recording *r) {
  int f = 1;
  int64_t end = 0;
  put(t, "{");
  key(t, &f, "id"); put_id(t, vas_recording_id(r));
  key(t, &f, "stream_id"); put_id(t, vas_recording_stream_id(r));
  key(t, &f, "start"); put_i64(t, vas_recording_start_us(r));
  key(t, &f, "end");
  if (vas_recording_end_us(r, &end)) put_i64(t, end);
  else put(t, "null");
  key(t, &f, "location"); put_str(t, vas_recording_location(r));
  key(t, &f, "bytes"); put_u64(t, vas_recording_bytes(r));
  put(t, "}");
}

/* One event: `kind` and the variant's fields. */
static void put_event(text *t, const vas_event *e) {
  int f = 1;
  vas_id id;
  put(t, "{");
  switch (vas_event_kind_of(e)) {
    case VAS_EVENT_KIND_STREAM_STATE: {
      const vas_stream_state_event *v = vas_event_as_stream_state(e);
      key(t, &f, "kind"); put_str(t, "stream_state");
      key(t, &f, "stream_id"); put_id(t, vas_stream_state_event_stream_id(v));
      key(t, &f, "state"); put_enum(t, vas_stream_state_name(vas_stream_state_event_state(v)));
      key(t, &f, "error"); put_str(t, vas_stream_state_event_error(v));
      key(t, &f, "at"); put_i64(t, vas_stream_state_event_at_us(v));
      break;
    }
    case VAS_EVENT_KIND_RECORDER: {
      const vas_recorder_event *v = vas_event_as_recorder(e);
      key(t, &f, "kind"); put_str(t, "recorder");
      key(t, &f, "stream_id"); put_id(t, vas_recorder_event_stream_id(v));
      key(t, &f, "state"); put_enum(t, vas_recorder_state_name(vas_recorder_event_state(v)));
      key(t, &f, "recording_id"); put_opt_id(t, vas_recorder_event_recording_id(v, &id), id);
      key(t, &f, "error"); put_str(t, vas_recorder_event_error(v));
      key(t, &f, "at"); put_i64(t, vas_recorder_event_at_us(v));
      break;
    }
    case VAS_EVENT_KIND_VIEWER_JOINED: {
      const vas_viewer_joined_event *v = vas_event_as_viewer_joined(e);
      key(t, &f, "kind"); put_str(t, "viewer_joined");
      key(t, &f, "stream_id"); put_id(t, vas_viewer_joined_event_stream_id(v));
      key(t, &f, "viewer"); put_u64(t, vas_viewer_joined_event_viewer(v));
      key(t, &f, "at"); put_i64(t, vas_viewer_joined_event_at_us(v));
      break;
    }
    case VAS_EVENT_KIND_VIEWER_LEFT: {
      const vas_viewer_left_event *v = vas_event_as_viewer_left(e);
      key(t, &f, "kind"); put_str(t, "viewer_left");
      key(t, &f, "stream_id"); put_id(t, vas_viewer_left_event_stream_id(v));
      key(t, &f, "viewer"); put_u64(t, vas_viewer_left_event_viewer(v));
      key(t, &f, "reason"); put_str(t, vas_viewer_left_event_reason(v));
      key(t, &f, "at"); put_i64(t, vas_viewer_left_event_at_us(v));
      break;
    }
    case VAS_EVENT_KIND_SNAPSHOT_SAVED: {
      const vas_snapshot_saved_event *v = vas_event_as_snapshot_saved(e);
      key(t, &f, "kind"); put_str(t, "snapshot_saved");
      key(t, &f, "stream_id"); put_id(t, vas_snapshot_saved_event_stream_id(v));
      key(t, &f, "snapshot_id"); put_id(t, vas_snapshot_saved_event_snapshot_id(v));
      key(t, &f, "taken_at"); put_i64(t, vas_snapshot_saved_event_taken_at_us(v));
      break;
    }
    case VAS_EVENT_KIND_BOOKMARK: {
      const vas_bookmark_event *v = vas_event_as_bookmark(e);
      key(t, &f, "kind"); put_str(t, "bookmark");
      key(t, &f, "stream_id"); put_id(t, vas_bookmark_event_stream_id(v));
      key(t, &f, "bookmark_id"); put_id(t, vas_bookmark_event_bookmark_id(v));
      key(t, &f, "state"); put_enum(t, vas_bookmark_state_name(vas_bookmark_event_state(v)));
      key(t, &f, "detail"); put_str(t, vas_bookmark_event_detail(v));
      key(t, &f, "at"); put_i64(t, vas_bookmark_event_at_us(v));
      break;
    }
    case VAS_EVENT_KIND_MISSED: {
      key(t, &f, "kind"); put_str(t, "missed");
      key(t, &f, "events"); put_u64(t, vas_missed_event_events(vas_event_as_missed(e)));
      break;
    }
    default:
      /* A kind this program predates: the driver reports it as unknown. */
      key(t, &f, "kind"); put_str(t, "unknown");
      break;
  }
  put(t, "}");
}

/* ---- the event log: every event pulled, in order ---- */

typedef struct {
  vas_event_sub *sub;
  text json; /* the events, comma-separated */
  size_t count;
} event_log;

/* The next event within `timeout_ms`, logged; NULL on a timeout. The caller frees it. */
static vas_event *next_event(event_log *log, uint32_t timeout_ms) {
  vas_event *e = NULL;
  vas_result r = vas_event_sub_next(log->sub, timeout_ms, &e);
  if (r == VAS_TIMEOUT) return NULL;
  if (r != VAS_OK) die("vas_event_sub_next", r);
  if (log->count++ > 0) put(&log->json, ", ");
  put_event(&log->json, e);
  return e;
}

static bool same_id(vas_id a, vas_id b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Waits for a `stream_state` event of `stream` with `state`. */
static void wait_stream_state(event_log *log, vas_id stream, vas_stream_state state) {
  int64_t deadline = now_ms() + DEADLINE_MS;
  while (now_ms() < deadline) {
    vas_event *e = next_event(log, PULL_MS);
    const vas_stream_state_event *v = vas_event_as_stream_state(e);
    bool found = v != NULL && same_id(vas_stream_state_event_stream_id(v), stream) &&
                 vas_stream_state_event_state(v) == state;
    vas_event_free(e);
    if (found) return;
  }
  fprintf(stderr, "parity: no stream_state %s event within %d ms\n", vas_stream_state_name(state),
          DEADLINE_MS);
  exit(1);
}

/* Waits for a `recorder` event of `stream` with `state`; `*recording` (may be NULL)
 * receives its recording id, which must then be present and differ from `not`. */
static void wait_recorder(event_log *log, vas_id stream, vas_recorder_state state,
                          vas_id *recording, const vas_id *not) {
  int64_t deadline = now_ms() + DEADLINE_MS;
  while (now_ms() < deadline) {
    vas_event *e = next_event(log, PULL_MS);
    const vas_recorder_event *v = vas_event_as_recorder(e);
    vas_id id;
    bool found = v != NULL && same_id(vas_recorder_event_stream_id(v), stream) &&
                 vas_recorder_event_state(v) == state;
    if (found && recording != NULL) {
      found = vas_recorder_event_recording_id(v, &id) && (not == NULL || !same_id(id, *not));
      if (found) *recording = id;
    }
    vas_event_free(e);
    if (found) return;
  }
  fprintf(stderr, "parity: no recorder %s event within %d ms\n", vas_recorder_state_name(state),
          DEADLINE_MS);
  exit(1);
}

/* ---- the scenario ---- */

int main(int argc, char **argv) {
  const char *url = NULL, *data = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--url") == 0) url = argv[i + 1];
    else if (strcmp(argv[i], "--data") == 0) data = argv[i + 1];
  }
  if (url == NULL || data == NULL || argc != 5) {
    fprintf(stderr, "usage: %s --url rtsp://camera --data DIR\n", argv[0]);
    return 2;
  }
  text doc = {0};

  /* 1. Open the engine; subscribe to its events. */
  vas_engine_options eo;
  vas_engine *engine = NULL;
  OK(vas_engine_options_init(&eo));
  eo.data_dir = data;
  OK(vas_open(&eo, &engine));
  event_log log = {0};
  OK(vas_events_subscribe(engine, &log.sub));

  /* 2. add_device. */
  vas_new_device nd;
  vas_device *device = NULL;
  OK(vas_new_device_init(&nd));
  nd.name = "parity";
  nd.rtsp_url = url;
  OK(vas_add_device(engine, &nd, &device));
  vas_id stream = vas_device_main_stream_id(device);
  vas_id device_id = vas_device_id(device);

  /* 3. start_stream; wait for it to be live. */
  OK(vas_start_stream(engine, stream, NULL));
  wait_stream_state(&log, stream, VAS_STREAM_STATE_LIVE);

  /* 4. Two recordings: on, off, on again. */
  vas_id first, second;
  OK(vas_set_recording(engine, stream, true, NULL));
  wait_recorder(&log, stream, VAS_RECORDER_STATE_RECORDING, &first, NULL);
  OK(vas_set_recording(engine, stream, false, NULL));
  wait_recorder(&log, stream, VAS_RECORDER_STATE_STOPPED, NULL, NULL);
  OK(vas_set_recording(engine, stream, true, NULL));
  wait_recorder(&log, stream, VAS_RECORDER_STATE_RECORDING, &second, &first);

  /* 5. One decoded frame, BGR at most 320 wide. */
  vas_frame_options fo;
  vas_frame_sub *frames = NULL;
  vas_frame *frame = NULL;
  OK(vas_frame_options_init(&fo));
  fo.format = VAS_PIXEL_FORMAT_BGR24;
  fo.max_width = 320;
  OK(vas_frames_subscribe(engine, stream, &fo, &frames));
  OK(vas_frame_sub_next(frames, DEADLINE_MS, &frame));
  text frame_json = {0};
  put_frame_info(&frame_json, frame);
  vas_frame_release(frame);
  vas_frame_sub_free(frames);

  /* 6. save_snapshot, then the stream's snapshots, newest first. */
  vas_snapshot *snapshot = NULL;
  vas_snapshot_list *snapshots = NULL;
  vas_list_query q;
  OK(vas_save_snapshot(engine, stream, NULL, "parity", &snapshot));
  OK(vas_list_query_init(&q));
  q.stream_id = stream;
  q.order = VAS_ORDER_NEWEST;
  OK(vas_saved_snapshots(engine, &q, &snapshots));

  /* 7. add_bookmark. */
  vas_new_bookmark nb;
  vas_bookmark *bookmark = NULL;
  OK(vas_new_bookmark_init(&nb));
  nb.stream_id = stream;
  nb.label = "parity";
  OK(vas_add_bookmark(engine, &nb, &bookmark));

  /* 8. The device's streams, oldest first. */
  vas_stream_list *streams = NULL;
  OK(vas_streams(engine, &device_id, VAS_ORDER_OLDEST, &streams));

  /* 9. The stream's recordings, newest first. */
  vas_recording_list *recordings = NULL;
  OK(vas_recordings(engine, &q, &recordings));

  /* 10. Close, keep what the subscription still delivers, and print the document. */
  OK(vas_close(engine));
  for (;;) {
    vas_event *e = NULL;
    vas_result r = vas_event_sub_next(log.sub, DEADLINE_MS, &e);
    if (r == VAS_CLOSED) break;
    if (r != VAS_OK) die("the events after close", r);
    if (log.count++ > 0) put(&log.json, ", ");
    put_event(&log.json, e);
    vas_event_free(e);
  }

  put(&doc, "{\"shell\": \"c\", \"device\": ");
  put_device(&doc, device);
  put(&doc, ", \"streams\": [");
  for (size_t i = 0; i < vas_stream_list_len(streams); i++) {
    if (i) put(&doc, ", ");
    put_stream(&doc, vas_stream_list_get(streams, i));
  }
  put(&doc, "], \"frame\": %s, \"snapshot\": ", frame_json.data);
  put_snapshot(&doc, snapshot);
  put(&doc, ", \"snapshots\": [");
  for (size_t i = 0; i < vas_snapshot_list_len(snapshots); i++) {
    if (i) put(&doc, ", ");
    put_snapshot(&doc, vas_snapshot_list_get(snapshots, i));
  }
  put(&doc, "], \"bookmark\": ");
  put_bookmark(&doc, bookmark);
  put(&doc, ", \"recordings\": [");
  for (size_t i = 0; i < vas_recording_list_len(recordings); i++) {
    if (i) put(&doc, ", ");
    put_recording(&doc, vas_recording_list_get(recordings, i));
  }
  put(&doc, "], \"events\": [%s]}\n", log.json.data ? log.json.data : "");
  fputs(doc.data, stdout);

  vas_recording_list_free(recordings);
  vas_stream_list_free(streams);
  vas_bookmark_free(bookmark);
  vas_snapshot_list_free(snapshots);
  vas_snapshot_free(snapshot);
  vas_device_free(device);
  vas_event_sub_free(log.sub);
  vas_engine_free(engine);
  free(frame_json.data);
  free(log.json.data);
  free(doc.data);
  return fflush(stdout) == 0 ? 0 : 1;
}
