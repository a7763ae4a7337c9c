/*
 * The C ABI exercised from C, as `scripts/c-abi.sh` runs it under AddressSanitizer,
 * UndefinedBehaviorSanitizer and LeakSanitizer:
 *
 *   abi_test OUT_DIR OFFER_SDP [rtsp://camera]
 *
 * Without a URL it starts the synthetic camera (and also drops and restores it). It asserts
 * what it gets (sizes, JPEG markers, frame counts, codes), writes OUT_DIR/snapshot.jpg and
 * prints `clip=PATH` for the script to check with ffprobe, frees everything and exits 0.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep, mkdtemp */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vas.h"

static int failures = 0;

#define CHECK(cond, ...)                                                   \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);      \
      fprintf(stderr, __VA_ARGS__);                                        \
      fprintf(stderr, "\n");                                               \
      failures++;                                                          \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

/* The last error's message (for failure reports). */
static const char *last_error(void) {
  static char buf[1024];
  if (vas_last_error_message(buf, sizeof buf, NULL) != VAS_OK) {
    snprintf(buf, sizeof buf, "(no message)");
  }
  return buf;
}

#define OK(call)                                                                     \
  do {                                                                               \
    vas_result r_ = (call);                                                          \
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
  if (vas_event_kind_of(event) == VAS_EVENT_STREAM_STATE && vas_event_state(event) != NULL &&
      strcmp(vas_event_state(event), "live") == 0) {
    atomic_store(&s->live, 1);
  }
}

/* ---- parts ---- */

static void bad_input(void) {
  vas_engine *engine = NULL;
  char small[4];
  size_t needed = 0;

  /* NULL everywhere a pointer is taken. */
  CHECK(vas_engine_new(NULL, NULL) == VAS_INVALID_INPUT, "NULL out");
  CHECK(vas_engine_options_init(NULL) == VAS_INVALID_INPUT, "NULL options");
  CHECK(vas_devices_list(NULL, NULL) == VAS_INVALID_INPUT, "NULL engine");
  CHECK(vas_stream_start(NULL, (vas_id){{0}}, NULL) == VAS_INVALID_INPUT, "NULL engine");
  CHECK(vas_frame_sub_next(NULL, 0, NULL) == VAS_INVALID_INPUT, "NULL sub");
  CHECK(vas_id_parse(NULL, NULL) == VAS_INVALID_INPUT, "NULL text");
  CHECK(vas_frame_width(NULL) == 0 && vas_frame_data(NULL, NULL) == NULL, "NULL getters");
  vas_engine_free(NULL);
  vas_frame_release(NULL);
  vas_listener_free(NULL);
  vas_string_free(NULL);
  vas_buffer_free(NULL, 0);

  /* The message of the last failure, into too small and zero-length buffers. */
  CHECK(vas_last_error_message(small, sizeof small, &needed) == VAS_BUFFER_TOO_SMALL,
        "a 4-byte buffer");
  CHECK(needed > sizeof small, "needed %zu", needed);
  CHECK(vas_last_error_message(NULL, 0, &needed) == VAS_BUFFER_TOO_SMALL, "no buffer");
  char *msg = malloc(needed);
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

  /* Option structs: an unset struct_size is refused. */
  vas_engine_options opts;
  memset(&opts, 0, sizeof opts);
  CHECK(vas_engine_new(&opts, &engine) == VAS_INVALID_INPUT && engine == NULL, "struct_size 0");

  /* Names of the codes. */
  CHECK(strcmp(vas_result_name(VAS_OK), "ok") == 0, "ok");
  CHECK(strcmp(vas_result_name(VAS_NOT_FOUND), "not_found") == 0, "not_found");
  CHECK(strcmp(vas_result_name(VAS_BUFFER_TOO_SMALL), "buffer_too_small") == 0, "bts");
  CHECK(strcmp(vas_result_name(12345), "unknown") == 0, "unknown");
}

static vas_id add_camera(vas_engine *engine, const char *url) {
  vas_new_device dev;
  vas_device *device = NULL;
  vas_id stream;
  OK(vas_new_device_init(&dev));
  dev.name = "front door";
  dev.rtsp_url = url;
  OK(vas_device_add(engine, &dev, &device, &stream));
  CHECK(strcmp(vas_device_name(device), "front door") == 0, "name");
  CHECK(!vas_device_has_credentials(device), "no credentials");

  /* Invalid UTF-8 and a missing URL are refused, naming the argument. */
  dev.name = "\xff\xfe";
  CHECK(vas_device_add(engine, &dev, NULL, NULL) == VAS_INVALID_INPUT, "bad UTF-8");
  CHECK(strstr(last_error(), "device->name") != NULL, "%s", last_error());
  dev.name = "x";
  dev.rtsp_url = NULL;
  CHECK(vas_device_add(engine, &dev, NULL, NULL) == VAS_INVALID_INPUT, "no URL");

  /* A camera with a password: it never comes back out. */
  vas_device *secret = NULL;
  dev.name = "back yard";
  dev.rtsp_url = "rtsp://10.0.0.7/stream1";
  dev.username = "admin";
  dev.password = "hunter2";
  OK(vas_device_add(engine, &dev, &secret, NULL));
  CHECK(vas_device_has_credentials(secret), "credentials");
  CHECK(strstr(vas_device_rtsp_url(secret), "hunter2") == NULL, "%s", vas_device_rtsp_url(secret));

  /* List, get, update, remove. */
  vas_device_list *list = NULL;
  OK(vas_devices_list(engine, &list));
  CHECK(vas_device_list_len(list) == 2, "%zu devices", vas_device_list_len(list));
  CHECK(vas_device_list_get(list, 2) == NULL, "out of range");
  vas_device_free((vas_device *)vas_device_list_get(list, 0)); /* ignored: the list owns it */
  vas_device_list_free(list);

  vas_device_patch patch;
  vas_device *renamed = NULL;
  OK(vas_device_patch_init(&patch));
  patch.name = "garden";
  OK(vas_device_update(engine, vas_device_id(secret), &patch, &renamed));
  CHECK(strcmp(vas_device_name(renamed), "garden") == 0, "renamed");
  OK(vas_device_remove(engine, vas_device_id(secret)));
  vas_device *gone = NULL;
  CHECK(vas_device_get(engine, vas_device_id(secret), &gone) == VAS_NOT_FOUND && gone == NULL,
        "removed");
  /* A handle of another type is refused, not used. */
  CHECK(vas_devices_list((const vas_engine *)renamed, &list) == VAS_INVALID_INPUT, "wrong type");

  vas_id found;
  OK(vas_device_stream(engine, vas_device_id(device), "main", &found));
  CHECK(memcmp(&found, &stream, sizeof found) == 0, "main stream");
  vas_device_free(renamed);
  vas_device_free(secret);
  vas_device_free(device);
  return stream;
}

static void pull_frames(vas_engine *engine, vas_id stream, unsigned *w, unsigned *h) {
  vas_frame_options fo;
  vas_frame_sub *sub = NULL;
  OK(vas_frame_options_init(&fo));
  fo.format = VAS_PIXEL_FORMAT_GRAY8;
  OK(vas_frames_subscribe(engine, stream, &fo, &sub));
  int got = 0;
  for (int i = 0; i < 200 && got < 10; i++) {
    vas_frame *f = NULL;
    vas_result r = vas_frame_sub_next(sub, 200, &f);
    if (r == VAS_TIMEOUT) continue;
    CHECK(r == VAS_OK, "next: %s %s", vas_result_name(r), last_error());
    size_t len = 0;
    const uint8_t *data = vas_frame_data(f, &len);
    *w = vas_frame_width(f);
    *h = vas_frame_height(f);
    CHECK(data != NULL && len == (size_t)*w * *h, "gray frame of %zu bytes for %ux%u", len, *w, *h);
    CHECK(vas_frame_plane_count(f) == 1, "one plane");
    vas_plane p;
    OK(vas_frame_plane(f, 0, &p));
    CHECK(p.stride == *w && p.rows == *h, "plane");
    CHECK(vas_frame_plane(f, 1, &p) == VAS_INVALID_INPUT, "no second plane");
    int64_t age = now_us() - vas_frame_time_us(f);
    CHECK(age > -1000000 && age < 5000000, "frame age %lld us", (long long)age);
    vas_frame_release(f);
    got++;
  }
  CHECK(got == 10, "pulled %d frames", got);
  vas_frame_sub_free(sub);

  /* BGR at a bounded size, with a queue. */
  fo.format = VAS_PIXEL_FORMAT_BGR24;
  fo.max_width = 320;
  fo.max_height = 320;
  fo.queue = 4;
  OK(vas_frames_subscribe(engine, stream, &fo, &sub));
  vas_frame *f = NULL;
  OK(vas_frame_sub_next(sub, 10000, &f));
  CHECK(vas_frame_width(f) <= 320 && vas_frame_height(f) <= 320, "scaled %ux%u", vas_frame_width(f),
        vas_frame_height(f));
  size_t len = 0;
  vas_frame_data(f, &len);
  CHECK(len == (size_t)vas_frame_width(f) * vas_frame_height(f) * 3, "bgr size");
  CHECK(vas_frame_format(f) == VAS_PIXEL_FORMAT_BGR24, "format");
  vas_frame_release(f);
  vas_frame_sub_free(sub);

  fo.queue = 1000;
  CHECK(vas_frames_subscribe(engine, stream, &fo, &sub) == VAS_INVALID_INPUT, "queue too long");
  fo.queue = 0;
  fo.format = 77;
  CHECK(vas_frames_subscribe(engine, stream, &fo, &sub) == VAS_INVALID_INPUT, "bad format");
}

static void callbacks(vas_engine *engine, vas_id stream) {
  vas_frame_options fo;
  OK(vas_frame_options_init(&fo));
  fo.format = VAS_PIXEL_FORMAT_I420;

  /* A fast and a slow callback on the same stream: the slow one drops (counted), the fast
   * one keeps the camera's rate. */
  counter fast = {0}, slow = {0};
  vas_listener *lf = NULL, *ls = NULL;
  OK(vas_frames_listen(engine, stream, &fo, count_frame, &fast, &lf));
  OK(vas_frames_listen(engine, stream, &fo, slow_frame, &slow, &ls));
  sleep_ms(3000);
  uint64_t nf = atomic_load(&fast.frames), ns = atomic_load(&slow.frames);
  CHECK(nf >= 30, "fast callback saw %llu frames in 3 s", (unsigned long long)nf);
  CHECK(ns >= 3 && ns <= 12, "slow callback saw %llu frames", (unsigned long long)ns);
  CHECK(vas_listener_dropped(ls) > 0, "the slow listener dropped none");
  CHECK(vas_listener_status(lf) == VAS_OK, "still running");
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
  sleep_ms(300);
  CHECK(atomic_load(&s.calls) == 1, "%d calls after stopping", atomic_load(&s.calls));
  CHECK(vas_listener_status(l) == VAS_CLOSED, "status");
  CHECK(s.kept != NULL && vas_frame_width(s.kept) > 0, "a retained frame outlives the callback");
  vas_frame_release(s.kept);
  vas_listener_free(l);

  /* Free from inside the callback. */
  self_stop t = {0};
  OK(vas_frames_listen(engine, stream, &fo, free_self, &t, &l));
  atomic_store(&t.listener, l);
  for (int i = 0; i < 1000 && !atomic_load(&t.done); i++) sleep_ms(10);
  CHECK(atomic_load(&t.done), "the callback never ran");
  sleep_ms(300);
  CHECK(atomic_load(&t.calls) == 1, "%d calls after freeing", atomic_load(&t.calls));
}

static void snapshot(vas_engine *engine, vas_id stream, const char *out_dir, unsigned w, unsigned h) {
  uint8_t *jpeg = NULL;
  size_t len = 0;
  vas_snapshot_info info;
  OK(vas_snapshot(engine, stream, NULL, &jpeg, &len, &info));
  CHECK(len > 1000 && jpeg[0] == 0xFF && jpeg[1] == 0xD8 && jpeg[len - 2] == 0xFF &&
            jpeg[len - 1] == 0xD9,
        "not a JPEG (%zu bytes)", len);
  CHECK(info.width == w && info.height == h && !info.offline, "%ux%u", info.width, info.height);
  char path[4096];
  snprintf(path, sizeof path, "%s/snapshot.jpg", out_dir);
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL && fwrite(jpeg, 1, len, f) == len && fclose(f) == 0, "writing %s", path);
  vas_buffer_free(jpeg, len);

  vas_snapshot_options so;
  OK(vas_snapshot_options_init(&so));
  so.width = 320;
  so.quality = 60;
  so.source = VAS_SNAPSHOT_KEYFRAME;
  OK(vas_snapshot(engine, stream, &so, &jpeg, &len, &info));
  CHECK(info.width == 320, "scaled snapshot %u wide", info.width);
  vas_buffer_free(jpeg, len);
  so.quality = 500;
  jpeg = NULL;
  CHECK(vas_snapshot(engine, stream, &so, &jpeg, &len, NULL) == VAS_INVALID_INPUT && jpeg == NULL,
        "quality 500");
  vas_id saved;
  OK(vas_snapshot_save(engine, stream, NULL, "from C", &saved));
  OK(vas_snapshot_delete(engine, saved));
  CHECK(vas_snapshot_delete(engine, saved) == VAS_NOT_FOUND, "deleted twice");
}

static void bookmark_and_recordings(vas_engine *engine, vas_id stream) {
  OK(vas_stream_set_recording(engine, stream, true, NULL));
  vas_new_bookmark nb;
  vas_bookmark *b = NULL;
  OK(vas_new_bookmark_init(&nb));
  nb.stream = stream;
  nb.before_ms = 1000;
  nb.after_ms = 1000;
  nb.label = "C";
  OK(vas_bookmark_add(engine, &nb, &b));
  CHECK(vas_bookmark_state_of(b) == VAS_BOOKMARK_PENDING, "pending");
  CHECK(strcmp(vas_bookmark_label(b), "C") == 0, "label");
  vas_id id = vas_bookmark_id(b);
  vas_bookmark_free(b);
  char *clip = NULL;
  CHECK(vas_bookmark_clip(engine, id, &clip) == VAS_FAILED_PRECONDITION || clip != NULL,
        "a pending clip");
  vas_string_free(clip);
  clip = NULL;
  int ready = 0;
  for (int i = 0; i < 150 && !ready; i++) {
    OK(vas_bookmark_get(engine, id, &b));
    ready = vas_bookmark_state_of(b) == VAS_BOOKMARK_READY;
    CHECK(vas_bookmark_state_of(b) != VAS_BOOKMARK_FAILED, "failed: %s", vas_bookmark_detail(b));
    vas_bookmark_free(b);
    if (!ready) sleep_ms(100);
  }
  CHECK(ready, "the bookmark never got ready");
  OK(vas_bookmark_clip(engine, id, &clip));
  printf("clip=%s\n", clip);
  vas_string_free(clip);

  vas_range range;
  vas_bookmark_list *bl = NULL;
  OK(vas_range_init(&range));
  range.stream = stream;
  OK(vas_bookmarks_list(engine, &range, &bl));
  CHECK(vas_bookmark_list_len(bl) == 1, "%zu bookmarks", vas_bookmark_list_len(bl));
  vas_bookmark_list_free(bl);

  vas_recording_list *rl = NULL;
  size_t n = 0;
  for (int i = 0; i < 100 && n == 0; i++) {
    OK(vas_recordings_list(engine, &range, &rl));
    n = vas_recording_list_len(rl);
    if (n > 0) {
      const vas_recording *r = vas_recording_list_get(rl, 0);
      CHECK(vas_recording_start_us(r) > 0 && vas_recording_location(r) != NULL, "recording");
    }
    vas_recording_list_free(rl);
    if (n == 0) sleep_ms(100);
  }
  CHECK(n > 0, "no recording");
}

static void webrtc(vas_engine *engine, vas_id stream, const char *offer_path) {
  FILE *f = fopen(offer_path, "rb");
  CHECK(f != NULL, "cannot open %s", offer_path);
  static char offer[65536];
  size_t len = fread(offer, 1, sizeof offer, f);
  fclose(f);
  char *answer = NULL;
  uint64_t viewer = 0;
  OK(vas_webrtc_answer(engine, stream, offer, len, &answer, &viewer));
  CHECK(strstr(answer, "m=video") && strstr(answer, "a=ice-lite") && strstr(answer, "a=candidate"),
        "answer: %s", answer);
  vas_string_free(answer);
  OK(vas_webrtc_close(engine, viewer));
  CHECK(vas_webrtc_close(engine, viewer) == VAS_NOT_FOUND, "closed twice");
  answer = NULL;
  CHECK(vas_webrtc_answer(engine, stream, "hello", 5, &answer, NULL) == VAS_INVALID_INPUT &&
            answer == NULL,
        "garbage offer: %s", vas_result_name(vas_last_error_code()));
}

static void camera_drops(vas_engine *engine, vas_id stream, vas_synthetic_camera *cam) {
  vas_frame_sub *sub = NULL;
  vas_frame *f = NULL;
  OK(vas_frames_subscribe(engine, stream, NULL, &sub));
  OK(vas_frame_sub_next(sub, 10000, &f));
  vas_frame_release(f);
  OK(vas_synthetic_camera_set_down(cam, true));
  /* A blocking pull during the outage returns at its timeout (after what was queued). */
  int timeouts = 0;
  for (int i = 0; i < 20 && timeouts == 0; i++) {
    int64_t t0 = now_us();
    vas_result r = vas_frame_sub_next(sub, 1000, &f);
    int64_t took = now_us() - t0;
    if (r == VAS_OK) {
      vas_frame_release(f);
      continue;
    }
    CHECK(r == VAS_TIMEOUT, "during the outage: %s %s", vas_result_name(r), last_error());
    CHECK(took < 3000000, "a 1 s pull took %lld us", (long long)took);
    timeouts++;
  }
  CHECK(timeouts == 1, "frames kept coming from a camera that is down");
  vas_stream *s = NULL;
  OK(vas_stream_get(engine, stream, &s));
  printf("camera down: stream %s\n", vas_stream_state_name(s));
  vas_stream_free(s);
  OK(vas_synthetic_camera_set_down(cam, false));
  vas_result r = VAS_TIMEOUT;
  for (int i = 0; i < 30 && r == VAS_TIMEOUT; i++) r = vas_frame_sub_next(sub, 1000, &f);
  CHECK(r == VAS_OK, "frames never resumed: %s", vas_result_name(r));
  vas_frame_release(f);
  vas_frame_sub_free(sub);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s OUT_DIR OFFER_SDP [rtsp://camera]\n", argv[0]);
    return 2;
  }
  const char *out_dir = argv[1];
  printf("vas %s\n", vas_version());
  bad_input();

  vas_synthetic_camera *cam = NULL;
  const char *url = argc > 3 ? argv[3] : NULL;
  if (url == NULL) {
    OK(vas_synthetic_camera_new(NULL, &cam));
    url = vas_synthetic_camera_url(cam);
  }

  char data_dir[4096];
  snprintf(data_dir, sizeof data_dir, "%s/data", out_dir);
  vas_engine_options eo;
  vas_engine *engine = NULL;
  OK(vas_engine_options_init(&eo));
  eo.data_dir = data_dir;
  eo.webrtc_bind = "127.0.0.1:0";
  OK(vas_engine_new(&eo, &engine));

  vas_id stream = add_camera(engine, url);

  /* Events, pulled and by callback, from before the stream starts. */
  vas_event_sub *events = NULL;
  event_seen seen = {0};
  vas_listener *el = NULL;
  OK(vas_events_subscribe(engine, &events));
  OK(vas_events_listen(engine, on_event, &seen, &el));

  vas_stream *st = NULL;
  OK(vas_stream_start(engine, stream, &st));
  CHECK(vas_stream_running(st), "running");
  vas_stream_free(st);

  int live = 0;
  for (int i = 0; i < 100 && !live; i++) {
    vas_event *e = NULL;
    vas_result r = vas_event_sub_next(events, 200, &e);
    if (r == VAS_TIMEOUT) continue;
    CHECK(r == VAS_OK, "event: %s", vas_result_name(r));
    live = vas_event_kind_of(e) == VAS_EVENT_STREAM_STATE && strcmp(vas_event_state(e), "live") == 0;
    if (live) CHECK(memcmp(&stream, (vas_id[]){vas_event_stream(e)}, sizeof stream) == 0, "id");
    vas_event_free(e);
  }
  CHECK(live, "the stream never went live");

  unsigned w = 0, h = 0;
  pull_frames(engine, stream, &w, &h);
  printf("frames: %ux%u\n", w, h);
  callbacks(engine, stream);
  snapshot(engine, stream, out_dir, w, h);
  bookmark_and_recordings(engine, stream);
  webrtc(engine, stream, argv[2]);
  if (cam != NULL) camera_drops(engine, stream, cam);

  CHECK(atomic_load(&seen.live) == 1, "the event callback never saw the stream live");
  CHECK(atomic_load(&seen.events) >= 2, "events: %d", atomic_load(&seen.events));

  vas_stream_list *sl = NULL;
  OK(vas_streams_list(engine, &sl));
  CHECK(vas_stream_list_len(sl) == 1, "streams");
  CHECK(vas_stream_frames(vas_stream_list_get(sl, 0)) > 0, "frames counted");
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
  vas_frame_sub_free(orphan);
  vas_listener_free(kl);
  vas_listener_free(el);
  vas_event_sub_free(events);
  vas_synthetic_camera_free(cam);
  printf("abi_test: all passed\n");
  return failures == 0 ? 0 : 1;
}
