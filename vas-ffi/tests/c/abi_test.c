/*
 * The C ABI exercised from C, as `scripts/c-abi.sh` runs it under AddressSanitizer,
 * UndefinedBehaviorSanitizer and LeakSanitizer:
 *
 *   abi_test OUT_DIR OFFER_SDP rtsp://camera [CAMERA_PID]
 *
 * With CAMERA_PID (a camera process this user may signal, such as `vas-synth`), it also
 * freezes the camera (SIGSTOP) and thaws it (SIGCONT) to see frames stop and resume. It
 * asserts what it gets (sizes, JPEG markers, frame counts, codes, messages), writes
 * OUT_DIR/snapshot.jpg and prints `clip=PATH` for the script to check with ffprobe, frees
 * everything and exits 0.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep, kill */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "vas.h"

#define CHECK(cond, ...)                                              \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                   \
      fprintf(stderr, "\n");                                          \
      exit(1);                                                        \
    }                                                                 \
  } while (0)

/* The last error's message (for failure reports and message checks). */
static const char *last_error(void) {
  static char buf[1024];
  if (vas_last_error_message(buf, sizeof buf, NULL) != VAS_OK) {
    snprintf(buf, sizeof buf, "(no message)");
  }
  return buf;
}

#define OK(call)                                                                         \
  do {                                                                                   \
    vas_result r_ = (call);                                                              \
    CHECK(r_ == VAS_OK, "%s returned %s: %s", #call, vas_result_name(r_), last_error()); \
  } while (0)

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

static int64_t now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int64_t monotonic_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int same_id(vas_id a, vas_id b) { return memcmp(&a, &b, sizeof a) == 0; }

/* ---- callbacks ---- */

typedef struct {
  atomic_uint_least64_t frames;
  atomic_uint width;
  atomic_uint height;
} counter;

static void count_frame(void *user, const vas_frame *frame) {
  counter *c = user;
  atomic_store(&c->width, vas_frame_width(frame));
  atomic_store(&c->height, vas_frame_height(frame));
  atomic_fetch_add(&c->frames, 1);
}

static void slow_frame(void *user, const vas_frame *frame) {
  (void)frame;
  counter *c = user;
  atomic_fetch_add(&c->frames, 1);
  sleep_ms(300);
}

typedef struct {
  _Atomic(vas_listener *) listener; /* set by main once vas_frames_listen returned */
  atomic_int calls;
  atomic_int done;
  vas_frame *kept;
} self_stop;

static void stop_self(void *user, const vas_frame *frame) {
  self_stop *s = user;
  while (atomic_load(&s->listener) == NULL) sleep_ms(1);
  atomic_fetch_add(&s->calls, 1);
  if (s->kept == NULL) s->kept = vas_frame_retain(frame); /* kept past the callback */
  vas_result r = vas_listener_stop(atomic_load(&s->listener));
  if (r != VAS_OK) fprintf(stderr, "stop from callback: %s\n", vas_result_name(r));
  atomic_store(&s->done, 1);
}

static void free_self(void *user, const vas_frame *frame) {
  (void)frame;
  self_stop *s = user;
  while (atomic_load(&s->listener) == NULL) sleep_ms(1);
  if (atomic_fetch_add(&s->calls, 1) == 0) {
    vas_listener_free(atomic_load(&s->listener)); /* the handle is gone after this */
    atomic_store(&s->done, 1);
  }
}

typedef struct {
  vas_engine *engine;
  atomic_int calls;
  atomic_int freed;
} engine_killer;

static void free_engine(void *user, const vas_frame *frame) {
  (void)frame;
  engine_killer *k = user;
  if (atomic_fetch_add(&k->calls, 1) == 0) {
    vas_engine_free(k->engine);
    atomic_store(&k->freed, 1);
  }
}

typedef struct {
  atomic_int live;
  atomic_int events;
} event_seen;

static void on_event(void *user, const vas_event *event) {
  event_seen *s = user;
  atomic_fetch_add(&s->events, 1);
  const vas_stream_state_event *v = vas_event_as_stream_state(event);
  if (v != NULL && vas_stream_state_event_state(v) == VAS_STREAM_STATE_LIVE) {
    atomic_store(&s->live, 1);
  }
}

/* ---- parts ---- */

static void bad_input(void) {
  vas_engine *engine = NULL;
  char small[4];
  size_t needed = 0;

  /* NULL everywhere a pointer is taken. */
  CHECK(vas_open(NULL, NULL) == VAS_INVALID_INPUT, "NULL out");
  CHECK(vas_engine_options_init(NULL) == VAS_INVALID_INPUT, "NULL options");
  CHECK(vas_devices(NULL, VAS_ORDER_OLDEST, NULL) == VAS_INVALID_INPUT, "NULL engine");
  CHECK(vas_start_stream(NULL, (vas_id){{0}}, NULL) == VAS_INVALID_INPUT, "NULL engine");
  CHECK(vas_frame_sub_next(NULL, 0, NULL) == VAS_INVALID_INPUT, "NULL sub");
  CHECK(vas_frame_width(NULL) == 0 && vas_frame_data(NULL, NULL) == NULL, "NULL getters");
  CHECK(vas_device_name(NULL) == NULL && vas_stream_frames(NULL) == 0, "NULL getters");
  vas_engine_free(NULL);
  vas_frame_release(NULL);
  vas_listener_free(NULL);
  vas_string_free(NULL);
  vas_bytes_free(NULL);
  vas_device_free(NULL);
  vas_device_list_free(NULL);
  vas_event_free(NULL);
  vas_snapshot_image_free(NULL);
  CHECK(vas_id_parse(NULL, NULL) == VAS_INVALID_INPUT, "NULL text");

  /* The message of the last failure, into too small and zero-length buffers. */
  CHECK(vas_last_error_message(small, sizeof small, &needed) == VAS_BUFFER_TOO_SMALL,
        "a 4-byte buffer");
  CHECK(needed > sizeof small, "needed %zu", needed);
  CHECK(vas_last_error_message(NULL, 0, &needed) == VAS_BUFFER_TOO_SMALL, "no buffer");
  char *msg = malloc(needed);
  CHECK(msg != NULL, "malloc");
  CHECK(vas_last_error_message(msg, needed, NULL) == VAS_OK, "exact buffer");
  CHECK(strlen(msg) + 1 == needed, "message length");
  CHECK(strstr(msg, "is NULL") != NULL, "message: %s", msg);
  free(msg);
  CHECK(vas_last_error_code() == VAS_INVALID_INPUT, "last code");

  /* Ids. */
  vas_id id;
  char text[VAS_ID_STRING_SIZE];
  OK(vas_id_parse("0191c8a4-5b7e-7c3a-9d2e-0123456789ab", &id));
  CHECK(vas_id_format(id, small, sizeof small) == VAS_BUFFER_TOO_SMALL, "short id buffer");
  OK(vas_id_format(id, text, sizeof text));
  CHECK(strcmp(text, "0191c8a4-5b7e-7c3a-9d2e-0123456789ab") == 0, "id round trip: %s", text);
  CHECK(vas_id_parse("not-an-id", &id) == VAS_INVALID_INPUT, "bad id");
  CHECK(strstr(last_error(), "not-an-id") != NULL, "%s", last_error());

  /* Option structs: an unset struct_size is refused. */
  vas_engine_options opts;
  memset(&opts, 0, sizeof opts);
  CHECK(vas_open(&opts, &engine) == VAS_INVALID_INPUT && engine == NULL, "struct_size 0");
  CHECK(strstr(last_error(), "struct_size") != NULL, "%s", last_error());

  /* Names of the codes. */
  CHECK(strcmp(vas_result_name(VAS_OK), "ok") == 0, "ok");
  CHECK(strcmp(vas_result_name(VAS_NOT_FOUND), "not_found") == 0, "not_found");
  CHECK(strcmp(vas_result_name(VAS_BUFFER_TOO_SMALL), "buffer_too_small") == 0, "bts");
  CHECK(strcmp(vas_result_name(12345), "unknown") == 0, "unknown");
}

/* One name table of the header: its functions and every value with its constant. */
#define MAX_VALUES 8
typedef struct {
  const char *table;
  vas_result (*parse)(const char *, uint32_t *);
  const char *(*name)(uint32_t);
  struct {
    const char *name;
    uint32_t constant;
  } values[MAX_VALUES];
} name_table;

#define V(n, c) {n, (uint32_t)(c)}
static const name_table TABLES[] = {
    {"rtp_transport", vas_rtp_transport_parse, vas_rtp_transport_name,
     {V("tcp", VAS_RTP_TRANSPORT_TCP), V("udp", VAS_RTP_TRANSPORT_UDP)}},
    {"stream_profile", vas_stream_profile_parse, vas_stream_profile_name,
     {V("main", VAS_STREAM_PROFILE_MAIN), V("sub", VAS_STREAM_PROFILE_SUB)}},
    {"desired_state", vas_desired_state_parse, vas_desired_state_name,
     {V("running", VAS_DESIRED_STATE_RUNNING), V("stopped", VAS_DESIRED_STATE_STOPPED)}},
    {"stream_state", vas_stream_state_parse, vas_stream_state_name,
     {V("stopped", VAS_STREAM_STATE_STOPPED), V("connecting", VAS_STREAM_STATE_CONNECTING),
      V("live", VAS_STREAM_STATE_LIVE), V("reconnecting", VAS_STREAM_STATE_RECONNECTING),
      V("failed", VAS_STREAM_STATE_FAILED)}},
    {"recorder_state", vas_recorder_state_parse, vas_recorder_state_name,
     {V("recording", VAS_RECORDER_STATE_RECORDING), V("error", VAS_RECORDER_STATE_ERROR),
      V("stopped", VAS_RECORDER_STATE_STOPPED)}},
    {"bookmark_state", vas_bookmark_state_parse, vas_bookmark_state_name,
     {V("pending", VAS_BOOKMARK_STATE_PENDING), V("ready", VAS_BOOKMARK_STATE_READY),
      V("failed", VAS_BOOKMARK_STATE_FAILED)}},
    {"order", vas_order_parse, vas_order_name,
     {V("oldest", VAS_ORDER_OLDEST), V("newest", VAS_ORDER_NEWEST)}},
    {"pixel_format", vas_pixel_format_parse, vas_pixel_format_name,
     {V("i420", VAS_PIXEL_FORMAT_I420), V("nv12", VAS_PIXEL_FORMAT_NV12),
      V("rgb24", VAS_PIXEL_FORMAT_RGB24), V("bgr24", VAS_PIXEL_FORMAT_BGR24),
      V("gray", VAS_PIXEL_FORMAT_GRAY)}},
    {"strategy", vas_strategy_parse, vas_strategy_name,
     {V("latest", VAS_STRATEGY_LATEST), V("queue", VAS_STRATEGY_QUEUE)}},
    {"track_kind", vas_track_kind_parse, vas_track_kind_name,
     {V("video", VAS_TRACK_KIND_VIDEO), V("audio", VAS_TRACK_KIND_AUDIO)}},
    {"codec", vas_codec_parse, vas_codec_name,
     {V("h264", VAS_CODEC_H264), V("h265", VAS_CODEC_H265), V("aac", VAS_CODEC_AAC),
      V("pcmu", VAS_CODEC_PCMU), V("pcma", VAS_CODEC_PCMA), V("opus", VAS_CODEC_OPUS)}},
};
#undef V

/* Every name table: each name parses to its constant and back; a bad name is
 * VAS_INVALID_INPUT, leaves the output alone, and the message names the bad value and every
 * allowed one. */
static void name_tables(void) {
  for (size_t t = 0; t < sizeof TABLES / sizeof TABLES[0]; t++) {
    const name_table *nt = &TABLES[t];
    uint32_t n = 0;
    for (; n < MAX_VALUES && nt->values[n].name != NULL; n++) {
      uint32_t v = 0;
      OK(nt->parse(nt->values[n].name, &v));
      CHECK(v == nt->values[n].constant, "%s %s: %u, the header says %u", nt->table,
            nt->values[n].name, v, nt->values[n].constant);
      CHECK(v == n + 1, "%s %s is %u", nt->table, nt->values[n].name, v);
      CHECK(nt->name(v) != NULL && strcmp(nt->name(v), nt->values[n].name) == 0, "%s %u: %s",
            nt->table, v, nt->name(v));
    }
    CHECK(nt->name(0) == NULL && nt->name(n + 1) == NULL, "%s: names out of range", nt->table);

    uint32_t out = 4242;
    CHECK(nt->parse("no-such-value", &out) == VAS_INVALID_INPUT, "%s: a bad name", nt->table);
    CHECK(out == 4242, "%s: the output was written on failure", nt->table);
    CHECK(vas_last_error_code() == VAS_INVALID_INPUT, "%s: last code", nt->table);
    const char *m = last_error();
    CHECK(strstr(m, "no-such-value") != NULL, "%s: the message lacks the value: %s", nt->table, m);
    for (uint32_t i = 0; i < n; i++) {
      CHECK(strstr(m, nt->values[i].name) != NULL, "%s: the message lacks %s: %s", nt->table,
            nt->values[i].name, m);
    }
    CHECK(nt->parse(NULL, &out) == VAS_INVALID_INPUT && out == 4242, "%s: NULL", nt->table);
    CHECK(nt->parse(nt->values[0].name, NULL) == VAS_INVALID_INPUT, "%s: NULL out", nt->table);
    CHECK(nt->parse("\xff", &out) == VAS_INVALID_INPUT && out == 4242, "%s: bad UTF-8", nt->table);
  }
  printf("name tables: %zu checked\n", sizeof TABLES / sizeof TABLES[0]);
}

/* Adds the camera (and a second one, changed and removed); returns its main stream. */
static vas_id add_camera(vas_engine *engine, const char *url) {
  vas_new_device dev;
  vas_device *device = NULL;
  OK(vas_new_device_init(&dev));
  dev.name = "front door";
  dev.rtsp_url = url;
  OK(vas_add_device(engine, &dev, &device));
  CHECK(strcmp(vas_device_name(device), "front door") == 0, "name");
  CHECK(!vas_device_has_credentials(device), "no credentials");
  CHECK(vas_device_rtsp_transport(device) == VAS_RTP_TRANSPORT_TCP, "the default transport");
  CHECK(vas_device_enabled(device), "enabled");
  CHECK(vas_device_sub_rtsp_url(device) == NULL, "no sub stream URL");
  vas_id sub = {{0}};
  CHECK(!vas_device_sub_stream_id(device, &sub) && same_id(sub, (vas_id){{0}}), "no sub stream");
  int64_t age = now_us() - vas_device_created_at_us(device);
  CHECK(age >= 0 && age < 60000000, "created %lld us ago", (long long)age);
  vas_id stream = vas_device_main_stream_id(device);

  /* Invalid UTF-8, a missing URL and an enum value out of range are refused, naming the
   * field. */
  dev.name = "\xff\xfe";
  CHECK(vas_add_device(engine, &dev, NULL) == VAS_INVALID_INPUT, "bad UTF-8");
  CHECK(strstr(last_error(), "vas_new_device.name") != NULL, "%s", last_error());
  dev.name = "x";
  dev.rtsp_url = NULL;
  CHECK(vas_add_device(engine, &dev, NULL) == VAS_INVALID_INPUT, "no URL");
  CHECK(strstr(last_error(), "rtsp_url") != NULL, "%s", last_error());
  dev.rtsp_url = "rtsp://10.0.0.8/s";
  dev.rtsp_transport = 9;
  CHECK(vas_add_device(engine, &dev, NULL) == VAS_INVALID_INPUT, "transport 9");
  CHECK(strstr(last_error(), "rtsp_transport") != NULL, "%s", last_error());

  /* A camera with a password: it never comes back out. */
  vas_device *secret = NULL;
  dev.name = "back yard";
  dev.rtsp_url = "rtsp://10.0.0.7/stream1";
  dev.username = "admin";
  dev.password = "hunter2";
  dev.rtsp_transport = VAS_RTP_TRANSPORT_UDP;
  OK(vas_add_device(engine, &dev, &secret));
  CHECK(vas_device_has_credentials(secret), "credentials");
  CHECK(strstr(vas_device_rtsp_url(secret), "hunter2") == NULL, "%s", vas_device_rtsp_url(secret));
  CHECK(vas_device_rtsp_transport(secret) == VAS_RTP_TRANSPORT_UDP, "UDP");
  /* The same name again. */
  CHECK(vas_add_device(engine, &dev, NULL) == VAS_ALREADY_EXISTS, "a duplicate: %s",
        vas_result_name(vas_last_error_code()));

  /* Lists in both orders (0 is the default: oldest first); a bad order is refused. */
  vas_device_list *list = NULL;
  OK(vas_devices(engine, 0, &list));
  CHECK(vas_device_list_len(list) == 2, "%zu devices", vas_device_list_len(list));
  CHECK(strcmp(vas_device_name(vas_device_list_get(list, 0)), "front door") == 0, "oldest first");
  CHECK(vas_device_list_get(list, 2) == NULL, "out of range");
  vas_device_free((vas_device *)vas_device_list_get(list, 0)); /* ignored: the list owns it */
  vas_device_list_free(list);
  OK(vas_devices(engine, VAS_ORDER_NEWEST, &list));
  CHECK(strcmp(vas_device_name(vas_device_list_get(list, 0)), "back yard") == 0, "newest first");
  vas_device_list_free(list);
  list = NULL;
  CHECK(vas_devices(engine, 7, &list) == VAS_INVALID_INPUT && list == NULL, "order 7");
  CHECK(strstr(last_error(), "order") != NULL, "%s", last_error());

  /* Update, remove. */
  vas_device_patch patch;
  vas_device *renamed = NULL;
  OK(vas_device_patch_init(&patch));
  CHECK(patch.enabled == -1 && patch.name == NULL, "the patch's defaults change nothing");
  patch.name = "garden";
  patch.enabled = 0;
  OK(vas_update_device(engine, vas_device_id(secret), &patch, &renamed));
  CHECK(strcmp(vas_device_name(renamed), "garden") == 0, "renamed");
  CHECK(!vas_device_enabled(renamed), "disabled");
  CHECK(vas_device_has_credentials(renamed), "credentials kept");
  patch.enabled = 2;
  CHECK(vas_update_device(engine, vas_device_id(secret), &patch, NULL) == VAS_INVALID_INPUT,
        "enabled 2");
  OK(vas_remove_device(engine, vas_device_id(secret)));
  vas_device *gone = NULL;
  CHECK(vas_device_get(engine, vas_device_id(secret), &gone) == VAS_NOT_FOUND && gone == NULL,
        "removed");
  CHECK(vas_remove_device(engine, vas_device_id(secret)) == VAS_NOT_FOUND, "removed twice");
  /* A handle of another type is refused, not used. */
  CHECK(vas_devices((const vas_engine *)renamed, 0, &list) == VAS_INVALID_INPUT, "wrong type");
  CHECK(strstr(last_error(), "not a vas_engine handle") != NULL, "%s", last_error());

  /* The camera's streams: its main stream, stopped. */
  vas_stream_list *streams = NULL;
  vas_id device_id = vas_device_id(device);
  OK(vas_streams(engine, &device_id, VAS_ORDER_OLDEST, &streams));
  CHECK(vas_stream_list_len(streams) == 1, "%zu streams", vas_stream_list_len(streams));
  const vas_stream *s = vas_stream_list_get(streams, 0);
  CHECK(same_id(vas_stream_id(s), stream) && same_id(vas_stream_device_id(s), device_id), "ids");
  CHECK(vas_stream_profile_of(s) == VAS_STREAM_PROFILE_MAIN, "main");
  CHECK(vas_stream_state_of(s) == VAS_STREAM_STATE_STOPPED, "%s",
        vas_stream_state_name(vas_stream_state_of(s)));
  CHECK(vas_stream_desired_state(s) == VAS_DESIRED_STATE_STOPPED, "not wanted yet");
  CHECK(vas_stream_recording(s) == NULL && !vas_stream_record(s), "not recording");
  vas_stream_list_free(streams);
  vas_stream *one = NULL;
  OK(vas_stream_get(engine, stream, &one));
  CHECK(same_id(vas_stream_id(one), stream), "one stream");
  vas_stream_free(one);
  vas_id nobody = {{1}};
  CHECK(vas_streams(engine, &nobody, 0, &streams) == VAS_NOT_FOUND, "an unknown device");

  vas_device_free(renamed);
  vas_device_free(secret);
  vas_device_free(device);
  return stream;
}

static void pull_frames(vas_engine *engine, vas_id stream, unsigned *w, unsigned *h) {
  vas_frame_options fo;
  vas_frame_sub *sub = NULL;
  OK(vas_frame_options_init(&fo));
  CHECK(fo.format == VAS_PIXEL_FORMAT_BGR24 && fo.strategy == VAS_STRATEGY_LATEST, "defaults");
  fo.format = VAS_PIXEL_FORMAT_GRAY;
  OK(vas_frames_subscribe(engine, stream, &fo, &sub));
  int got = 0;
  uint64_t last_seq = 0;
  int64_t deadline = monotonic_ms() + 40000;
  while (got < 10 && monotonic_ms() < deadline) {
    vas_frame *f = NULL;
    vas_result r = vas_frame_sub_next(sub, 200, &f);
    if (r == VAS_TIMEOUT) continue;
    CHECK(r == VAS_OK, "next: %s %s", vas_result_name(r), last_error());
    size_t len = 0;
    const uint8_t *data = vas_frame_data(f, &len);
    *w = vas_frame_width(f);
    *h = vas_frame_height(f);
    CHECK(data != NULL && len == (size_t)*w * *h, "gray frame of %zu bytes for %ux%u", len, *w, *h);
    CHECK(vas_frame_format(f) == VAS_PIXEL_FORMAT_GRAY, "gray");
    CHECK(vas_frame_plane_count(f) == 1, "one plane");
    vas_plane p;
    OK(vas_frame_plane(f, 0, &p));
    CHECK(p.stride == *w && p.rows == *h, "plane");
    CHECK(vas_frame_plane(f, 1, &p) == VAS_INVALID_INPUT, "no second plane");
    int64_t age = now_us() - vas_frame_time_us(f);
    CHECK(age > -1000000 && age < 5000000, "frame age %lld us", (long long)age);
    CHECK(got == 0 || vas_frame_seq(f) > last_seq, "seq %llu after %llu",
          (unsigned long long)vas_frame_seq(f), (unsigned long long)last_seq);
    CHECK(vas_frame_epoch(f) >= 1, "epoch");
    last_seq = vas_frame_seq(f);
    vas_frame_release(f);
    got++;
  }
  CHECK(got == 10, "pulled %d frames", got);
  vas_frame_sub_free(sub);

  /* BGR at a bounded size, with a queue. */
  fo.format = VAS_PIXEL_FORMAT_BGR24;
  fo.max_width = 320;
  fo.max_height = 320;
  fo.strategy = VAS_STRATEGY_QUEUE;
  fo.max_queue = 4;
  OK(vas_frames_subscribe(engine, stream, &fo, &sub));
  vas_frame *f = NULL;
  OK(vas_frame_sub_next(sub, 10000, &f));
  CHECK(vas_frame_width(f) <= 320 && vas_frame_height(f) <= 320, "scaled %ux%u",
        vas_frame_width(f), vas_frame_height(f));
  size_t len = 0;
  vas_frame_data(f, &len);
  CHECK(len == (size_t)vas_frame_width(f) * vas_frame_height(f) * 3, "bgr size");
  CHECK(vas_frame_format(f) == VAS_PIXEL_FORMAT_BGR24, "format");
  vas_frame_release(f);
  vas_frame_sub_free(sub);

  sub = NULL;
  fo.max_queue = 1000;
  CHECK(vas_frames_subscribe(engine, stream, &fo, &sub) == VAS_INVALID_INPUT && sub == NULL,
        "queue too long");
  fo.max_queue = 4;
  fo.format = 77;
  CHECK(vas_frames_subscribe(engine, stream, &fo, &sub) == VAS_INVALID_INPUT, "bad format");
  CHECK(strstr(last_error(), "format") != NULL, "%s", last_error());
  fo.format = 0;
  fo.strategy = 3;
  CHECK(vas_frames_subscribe(engine, stream, &fo, &sub) == VAS_INVALID_INPUT, "bad strategy");
  vas_id nothing = {{9}};
  CHECK(vas_frames_subscribe(engine, nothing, NULL, &sub) == VAS_NOT_FOUND, "unknown stream");
}

static void callbacks(vas_engine *engine, vas_id stream) {
  vas_frame_options fo;
  OK(vas_frame_options_init(&fo));
  fo.format = VAS_PIXEL_FORMAT_I420;

  /* A fast and a slow callback on the same stream for 3 s: the slow one drops (counted),
   * the fast one keeps the camera's rate. */
  counter fast = {0}, slow = {0};
  vas_listener *lf = NULL, *ls = NULL;
  OK(vas_frames_listen(engine, stream, &fo, count_frame, &fast, &lf));
  OK(vas_frames_listen(engine, stream, &fo, slow_frame, &slow, &ls));
  sleep_ms(3000); /* the measuring window */
  uint64_t nf = atomic_load(&fast.frames), ns = atomic_load(&slow.frames);
  CHECK(nf >= 30, "fast callback saw %llu frames in 3 s", (unsigned long long)nf);
  CHECK(ns >= 3 && ns <= 12, "slow callback saw %llu frames", (unsigned long long)ns);
  CHECK(vas_listener_dropped(ls) > 0, "the slow listener dropped none");
  CHECK(vas_listener_status(lf) == VAS_OK, "still running");
  CHECK(vas_listener_delivered(lf) >= nf, "delivered");
  CHECK(atomic_load(&fast.width) > 0, "width");
  printf("callbacks: fast %llu frames, slow %llu frames (%llu dropped)\n", (unsigned long long)nf,
         (unsigned long long)ns, (unsigned long long)vas_listener_dropped(ls));
  vas_listener_free(ls); /* from another thread, while it sleeps in its callback */
  vas_listener_free(lf);

  /* Stop from inside the callback: that call is the last. */
  self_stop s = {0};
  vas_listener *l = NULL;
  OK(vas_frames_listen(engine, stream, &fo, stop_self, &s, &l));
  atomic_store(&s.listener, l);
  OK(vas_listener_wait(l, 10000));
  sleep_ms(300); /* a window in which a further call would show */
  CHECK(atomic_load(&s.calls) == 1, "%d calls after stopping", atomic_load(&s.calls));
  CHECK(vas_listener_status(l) == VAS_CLOSED, "status");
  CHECK(s.kept != NULL && vas_frame_width(s.kept) > 0, "a retained frame outlives the callback");
  vas_frame_release(s.kept);
  vas_listener_free(l);

  /* Free from inside the callback. */
  self_stop t = {0};
  OK(vas_frames_listen(engine, stream, &fo, free_self, &t, &l));
  atomic_store(&t.listener, l);
  int64_t deadline = monotonic_ms() + 10000;
  while (!atomic_load(&t.done) && monotonic_ms() < deadline) sleep_ms(10);
  CHECK(atomic_load(&t.done), "the callback never ran");
  sleep_ms(300); /* a window in which a further call would show */
  CHECK(atomic_load(&t.calls) == 1, "%d calls after freeing", atomic_load(&t.calls));
  CHECK(vas_frames_listen(engine, stream, &fo, NULL, NULL, &l) == VAS_INVALID_INPUT,
        "a NULL callback");
}

static void snapshots(vas_engine *engine, vas_id stream, const char *out_dir, unsigned w,
                      unsigned h) {
  vas_snapshot_image *img = NULL;
  OK(vas_snapshot_get(engine, stream, NULL, &img));
  size_t len = 0;
  const uint8_t *jpeg = vas_snapshot_image_jpeg(img, &len);
  CHECK(len > 1000 && jpeg[0] == 0xFF && jpeg[1] == 0xD8 && jpeg[len - 2] == 0xFF &&
            jpeg[len - 1] == 0xD9,
        "not a JPEG (%zu bytes)", len);
  CHECK(vas_snapshot_image_width(img) == w && vas_snapshot_image_height(img) == h &&
            !vas_snapshot_image_offline(img),
        "%ux%u", vas_snapshot_image_width(img), vas_snapshot_image_height(img));
  int64_t age = now_us() - vas_snapshot_image_time_us(img);
  CHECK(age > -1000000 && age < 10000000, "snapshot age %lld us", (long long)age);
  char path[4096];
  snprintf(path, sizeof path, "%s/snapshot.jpg", out_dir);
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL && fwrite(jpeg, 1, len, f) == len && fclose(f) == 0, "writing %s", path);
  vas_snapshot_image_free(img);

  vas_snapshot_options so;
  OK(vas_snapshot_options_init(&so));
  CHECK(so.quality == 85 && !so.keyframe && !so.stale_ok && so.at_us == 0, "defaults");
  so.width = 320;
  so.quality = 60;
  so.keyframe = true;
  OK(vas_snapshot_get(engine, stream, &so, &img));
  CHECK(vas_snapshot_image_width(img) == 320, "scaled snapshot %u wide",
        vas_snapshot_image_width(img));
  vas_snapshot_image_free(img);
  img = NULL;
  so.quality = 101;
  CHECK(vas_snapshot_get(engine, stream, &so, &img) == VAS_INVALID_INPUT && img == NULL,
        "quality 101");
  so.quality = 500;
  CHECK(vas_snapshot_get(engine, stream, &so, &img) == VAS_INVALID_INPUT && img == NULL,
        "quality 500");

  /* Saved: the row, its JPEG, the list, deleting. */
  vas_snapshot *saved = NULL;
  OK(vas_save_snapshot(engine, stream, NULL, "from C", &saved));
  CHECK(strcmp(vas_snapshot_label(saved), "from C") == 0, "label");
  CHECK(vas_snapshot_width(saved) == w && same_id(vas_snapshot_stream_id(saved), stream), "row");
  vas_id id = vas_snapshot_id(saved);
  vas_bytes *file = NULL;
  OK(vas_saved_snapshot_image(engine, id, &file));
  size_t file_len = 0;
  const uint8_t *file_data = vas_bytes_data(file, &file_len);
  CHECK(file_len == vas_snapshot_bytes(saved) && file_data[0] == 0xFF, "%zu bytes saved", file_len);
  vas_bytes_free(file);
  vas_snapshot *again = NULL;
  OK(vas_saved_snapshot(engine, id, &again));
  CHECK(same_id(vas_snapshot_id(again), id) && vas_snapshot_taken_at_us(again) ==
            vas_snapshot_taken_at_us(saved), "the same row");
  vas_snapshot_free(again);
  OK(vas_save_snapshot(engine, stream, NULL, NULL, NULL)); /* a second one, result not wanted */
  vas_list_query q;
  vas_snapshot_list *list = NULL;
  OK(vas_list_query_init(&q));
  CHECK(q.limit == 100 && q.order == VAS_ORDER_OLDEST, "the query's defaults");
  q.stream_id = stream;
  OK(vas_saved_snapshots(engine, &q, &list));
  CHECK(vas_snapshot_list_len(list) == 2, "%zu snapshots", vas_snapshot_list_len(list));
  CHECK(same_id(vas_snapshot_id(vas_snapshot_list_get(list, 0)), id), "oldest first");
  CHECK(vas_snapshot_label(vas_snapshot_list_get(list, 1)) == NULL, "no label");
  vas_snapshot_list_free(list);
  q.order = VAS_ORDER_NEWEST;
  q.limit = 1;
  OK(vas_saved_snapshots(engine, &q, &list));
  CHECK(vas_snapshot_list_len(list) == 1 && !same_id(vas_snapshot_id(vas_snapshot_list_get(list, 0)), id),
        "newest first, limited");
  vas_snapshot_list_free(list);
  q.limit = 0;
  CHECK(vas_saved_snapshots(engine, &q, &list) == VAS_INVALID_INPUT, "limit 0");
  OK(vas_delete_snapshot(engine, id));
  CHECK(vas_delete_snapshot(engine, id) == VAS_NOT_FOUND, "deleted twice");
  vas_snapshot_free(saved);
}

static void bookmark_and_recordings(vas_engine *engine, vas_id stream) {
  vas_stream *st = NULL;
  OK(vas_set_recording(engine, stream, true, &st));
  CHECK(vas_stream_record(st), "record");
  vas_stream_free(st);
  vas_new_bookmark nb;
  vas_bookmark *b = NULL;
  OK(vas_new_bookmark_init(&nb));
  CHECK(nb.before_ms == 5000 && nb.after_ms == 5000, "the margins' defaults");
  CHECK(vas_add_bookmark(engine, &nb, &b) == VAS_INVALID_INPUT && b == NULL, "no stream");
  CHECK(strstr(last_error(), "stream_id") != NULL, "%s", last_error());
  nb.stream_id = stream;
  nb.before_ms = 1000;
  nb.after_ms = 1000;
  nb.label = "C";
  OK(vas_add_bookmark(engine, &nb, &b));
  CHECK(vas_bookmark_state_of(b) == VAS_BOOKMARK_STATE_PENDING, "pending");
  CHECK(strcmp(vas_bookmark_label(b), "C") == 0, "label");
  CHECK(vas_bookmark_before_ms(b) == 1000 && vas_bookmark_after_ms(b) == 1000, "margins");
  vas_id id = vas_bookmark_id(b);
  vas_bookmark_free(b);
  char *clip = NULL;
  CHECK(vas_bookmark_clip(engine, id, &clip) == VAS_FAILED_PRECONDITION || clip != NULL,
        "a pending clip");
  vas_string_free(clip);
  clip = NULL;
  int ready = 0;
  int64_t deadline = monotonic_ms() + 20000;
  while (!ready && monotonic_ms() < deadline) {
    OK(vas_bookmark_get(engine, id, &b));
    ready = vas_bookmark_state_of(b) == VAS_BOOKMARK_STATE_READY;
    CHECK(vas_bookmark_state_of(b) != VAS_BOOKMARK_STATE_FAILED, "failed: %s",
          vas_bookmark_detail(b));
    CHECK(!ready || vas_bookmark_clip_location(b) != NULL, "a ready clip has a location");
    vas_bookmark_free(b);
    if (!ready) sleep_ms(100);
  }
  CHECK(ready, "the bookmark never got ready");
  OK(vas_bookmark_clip(engine, id, &clip));
  printf("clip=%s\n", clip);
  vas_string_free(clip);

  vas_list_query q;
  vas_bookmark_list *bl = NULL;
  OK(vas_list_query_init(&q));
  q.stream_id = stream;
  OK(vas_bookmarks(engine, &q, &bl));
  CHECK(vas_bookmark_list_len(bl) == 1, "%zu bookmarks", vas_bookmark_list_len(bl));
  vas_bookmark_list_free(bl);

  vas_recording_list *rl = NULL;
  size_t n = 0;
  deadline = monotonic_ms() + 10000;
  while (n == 0 && monotonic_ms() < deadline) {
    OK(vas_recordings(engine, &q, &rl));
    n = vas_recording_list_len(rl);
    if (n > 0) {
      const vas_recording *r = vas_recording_list_get(rl, 0);
      CHECK(vas_recording_start_us(r) > 0 && vas_recording_location(r) != NULL, "recording");
      CHECK(same_id(vas_recording_stream_id(r), stream), "its stream");
      vas_recording *one = NULL;
      OK(vas_recording_get(engine, vas_recording_id(r), &one));
      CHECK(strcmp(vas_recording_location(one), vas_recording_location(r)) == 0, "one");
      vas_recording_free(one);
    }
    vas_recording_list_free(rl);
    if (n == 0) sleep_ms(100);
  }
  CHECK(n > 0, "no recording");

  /* Another bookmark, deleted (the first one's clip is left for the script to check). */
  nb.label = NULL;
  OK(vas_add_bookmark(engine, &nb, &b));
  id = vas_bookmark_id(b);
  CHECK(vas_bookmark_label(b) == NULL, "no label");
  vas_bookmark_free(b);
  OK(vas_delete_bookmark(engine, id));
  b = NULL;
  CHECK(vas_bookmark_get(engine, id, &b) == VAS_NOT_FOUND && b == NULL, "deleted");
  CHECK(vas_delete_bookmark(engine, id) == VAS_NOT_FOUND, "deleted twice");
}

static void webrtc(vas_engine *engine, vas_id stream, const char *offer_path) {
  FILE *f = fopen(offer_path, "rb");
  CHECK(f != NULL, "cannot open %s", offer_path);
  static char offer[65536];
  size_t len = fread(offer, 1, sizeof offer - 1, f);
  fclose(f);
  offer[len] = '\0';
  vas_webrtc_session *session = NULL;
  OK(vas_webrtc_answer(engine, stream, offer, &session));
  const char *answer = vas_webrtc_session_answer_sdp(session);
  CHECK(strstr(answer, "m=video") && strstr(answer, "a=ice-lite") && strstr(answer, "a=candidate"),
        "answer: %s", answer);
  CHECK(same_id(vas_webrtc_session_stream_id(session), stream), "its stream");
  uint64_t viewer = vas_webrtc_session_viewer(session);
  vas_webrtc_session_free(session);
  bool was = false;
  OK(vas_webrtc_close(engine, viewer, &was));
  CHECK(was, "the viewer was not watching");
  OK(vas_webrtc_close(engine, viewer, &was));
  CHECK(!was, "closed twice");
  session = NULL;
  CHECK(vas_webrtc_answer(engine, stream, "hello", &session) == VAS_INVALID_INPUT &&
            session == NULL,
        "garbage offer: %s", vas_result_name(vas_last_error_code()));
}

/* Freezes the camera process, sees a blocking pull end at its timeout, thaws it, and sees
 * frames resume. */
static void camera_freezes(vas_engine *engine, vas_id stream, pid_t camera) {
  vas_frame_sub *sub = NULL;
  vas_frame *f = NULL;
  OK(vas_frames_subscribe(engine, stream, NULL, &sub));
  OK(vas_frame_sub_next(sub, 10000, &f));
  vas_frame_release(f);
  CHECK(kill(camera, SIGSTOP) == 0, "cannot stop the camera (pid %ld)", (long)camera);
  /* A blocking pull during the outage returns at its timeout (after what was queued). */
  int timeouts = 0;
  for (int i = 0; i < 20 && timeouts == 0; i++) {
    int64_t t0 = monotonic_ms();
    vas_result r = vas_frame_sub_next(sub, 1000, &f);
    int64_t took = monotonic_ms() - t0;
    if (r == VAS_OK) {
      vas_frame_release(f);
      continue;
    }
    CHECK(r == VAS_TIMEOUT, "during the outage: %s %s", vas_result_name(r), last_error());
    CHECK(took >= 900 && took < 3000, "a 1 s pull took %lld ms", (long long)took);
    timeouts++;
  }
  vas_stream *s = NULL;
  OK(vas_stream_get(engine, stream, &s));
  printf("camera frozen: stream %s\n", vas_stream_state_name(vas_stream_state_of(s)));
  vas_stream_free(s);
  CHECK(kill(camera, SIGCONT) == 0, "cannot continue the camera");
  CHECK(timeouts == 1, "frames kept coming from a frozen camera");
  vas_result r = VAS_TIMEOUT;
  int64_t deadline = monotonic_ms() + 30000;
  while (r == VAS_TIMEOUT && monotonic_ms() < deadline) r = vas_frame_sub_next(sub, 1000, &f);
  CHECK(r == VAS_OK, "frames never resumed: %s", vas_result_name(r));
  vas_frame_release(f);
  vas_frame_sub_free(sub);
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5 || strncmp(argv[3], "rtsp://", 7) != 0) {
    fprintf(stderr, "usage: %s OUT_DIR OFFER_SDP rtsp://camera [CAMERA_PID]\n", argv[0]);
    return 2;
  }
  const char *out_dir = argv[1];
  const char *url = argv[3];
  pid_t camera = argc > 4 ? (pid_t)strtol(argv[4], NULL, 10) : 0;
  printf("vas %s\n", vas_version());
  bad_input();
  name_tables();

  char data_dir[4096];
  snprintf(data_dir, sizeof data_dir, "%s/data", out_dir);
  vas_engine_options eo;
  vas_engine *engine = NULL;
  OK(vas_engine_options_init(&eo));
  eo.data_dir = data_dir;
  eo.webrtc_bind = "127.0.0.1:0";
  OK(vas_open(&eo, &engine));
  OK(vas_health(engine));

  vas_id stream = add_camera(engine, url);

  /* Events, pulled and by callback, from before the stream starts. */
  vas_event_sub *events = NULL;
  event_seen seen = {0};
  vas_listener *el = NULL;
  OK(vas_events_subscribe(engine, &events));
  OK(vas_events_listen(engine, on_event, &seen, &el));

  vas_stream *st = NULL;
  OK(vas_start_stream(engine, stream, &st));
  CHECK(vas_stream_desired_state(st) == VAS_DESIRED_STATE_RUNNING, "running");
  vas_stream_free(st);

  int live = 0;
  int64_t deadline = monotonic_ms() + 30000;
  while (!live && monotonic_ms() < deadline) {
    vas_event *e = NULL;
    vas_result r = vas_event_sub_next(events, 200, &e);
    if (r == VAS_TIMEOUT) continue;
    CHECK(r == VAS_OK, "event: %s", vas_result_name(r));
    const vas_stream_state_event *v = vas_event_as_stream_state(e);
    CHECK((v != NULL) == (vas_event_kind_of(e) == VAS_EVENT_KIND_STREAM_STATE), "kind");
    CHECK(vas_event_as_recorder(e) == NULL || v == NULL, "one variant");
    live = v != NULL && vas_stream_state_event_state(v) == VAS_STREAM_STATE_LIVE;
    if (live) {
      CHECK(same_id(vas_stream_state_event_stream_id(v), stream), "the event's stream");
      CHECK(vas_stream_state_event_error(v) == NULL, "no error");
    }
    vas_event_free(e);
  }
  CHECK(live, "the stream never went live");

  unsigned w = 0, h = 0;
  pull_frames(engine, stream, &w, &h);
  printf("frames: %ux%u\n", w, h);
  callbacks(engine, stream);
  snapshots(engine, stream, out_dir, w, h);
  bookmark_and_recordings(engine, stream);
  webrtc(engine, stream, argv[2]);
  if (camera > 0) camera_freezes(engine, stream, camera);

  CHECK(atomic_load(&seen.live) == 1, "the event callback never saw the stream live");
  CHECK(atomic_load(&seen.events) >= 2, "events: %d", atomic_load(&seen.events));

  vas_stream_list *sl = NULL;
  OK(vas_streams(engine, NULL, 0, &sl));
  CHECK(vas_stream_list_len(sl) == 1, "streams");
  const vas_stream *s = vas_stream_list_get(sl, 0);
  CHECK(vas_stream_frames(s) > 0, "frames counted");
  CHECK(vas_stream_recording(s) != NULL &&
            vas_recorder_status_state(vas_stream_recording(s)) == VAS_RECORDER_STATE_RECORDING,
        "recording");
  vas_stream_list_free(sl);

  /* Free the engine from inside a frame callback, while frames are being delivered; the
   * other listeners and subscriptions end with VAS_CLOSED and are freed after. */
  engine_killer k = {engine, 0, 0};
  vas_listener *kl = NULL;
  vas_frame_sub *orphan = NULL;
  OK(vas_frames_subscribe(engine, stream, NULL, &orphan));
  OK(vas_frames_listen(engine, stream, NULL, free_engine, &k, &kl));
  OK(vas_listener_wait(kl, 20000));
  CHECK(atomic_load(&k.freed) == 1, "the engine was not freed");
  CHECK(vas_listener_status(kl) == VAS_CLOSED, "listener after the engine: %s",
        vas_result_name(vas_listener_status(kl)));
  OK(vas_listener_wait(el, 10000));
  vas_frame *f = NULL;
  vas_result r;
  while ((r = vas_frame_sub_next(orphan, 1000, &f)) == VAS_OK) vas_frame_release(f);
  CHECK(r == VAS_CLOSED, "a subscription after the engine: %s", vas_result_name(r));
  vas_event *e = NULL;
  while ((r = vas_event_sub_next(events, 1000, &e)) == VAS_OK) vas_event_free(e);
  CHECK(r == VAS_CLOSED, "events after the engine: %s", vas_result_name(r));
  vas_frame_sub_free(orphan);
  vas_listener_free(kl);
  vas_listener_free(el);
  vas_event_sub_free(events);
  printf("abi_test: all passed\n");
  return 0;
}
