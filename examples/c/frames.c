/*
 * frames.c: decoded frames and a snapshot from a camera, through VAS's C ABI.
 *
 *   frames rtsp://user:pass@camera/stream [seconds] [snapshot.jpg]
 *
 * It waits (up to 30 s) for the stream to go live, then prints one line per second (frames
 * received, the newest frame's size, mean luma and age), writes one JPEG snapshot, and exits
 * after `seconds` (default 5) having freed everything; the exit status is 0 only if frames
 * arrived every second and the snapshot was written. No camera at hand? `vas-synth` is a
 * synthetic one (see the README's C section).
 *
 * Build (see the README's C section):
 *   cargo build --release -p vas-ffi
 *   cc -Iinclude examples/c/frames.c target/release/libvas_ffi.a -lstdc++ -lpthread -ldl -lm -o frames
 */
#define _XOPEN_SOURCE 700 /* clock_gettime, mkdtemp, nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vas.h"

/* How long the stream may take to go live. */
#define LIVE_DEADLINE_MS 30000

/* Removes one entry of the throwaway data folder (files first: FTW_DEPTH). */
static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)type;
  (void)ftw;
  return remove(path);
}

static int fail(const char *what, vas_result r) {
  char msg[512] = "";
  vas_last_error_message(msg, sizeof msg, NULL);
  fprintf(stderr, "%s: %s: %s\n", what, vas_result_name(r), msg);
  return 1;
}

static int64_t now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Waits for a `stream_state` event saying `stream` is live. */
static vas_result wait_live(vas_event_sub *events, vas_id stream) {
  int64_t deadline = now_us() + (int64_t)LIVE_DEADLINE_MS * 1000;
  for (;;) {
    int64_t left_ms = (deadline - now_us()) / 1000;
    if (left_ms <= 0) return VAS_TIMEOUT;
    vas_event *e = NULL;
    vas_result r = vas_event_sub_next(events, (uint32_t)left_ms, &e);
    if (r != VAS_OK) return r;
    const vas_stream_state_event *s = vas_event_as_stream_state(e);
    vas_id id = s != NULL ? vas_stream_state_event_stream_id(s) : (vas_id){{0}};
    int live = s != NULL && memcmp(&id, &stream, sizeof id) == 0 &&
               vas_stream_state_event_state(s) == VAS_STREAM_STATE_LIVE;
    const char *error = s != NULL ? vas_stream_state_event_error(s) : NULL;
    if (error != NULL && memcmp(&id, &stream, sizeof id) == 0) {
      fprintf(stderr, "stream %s: %s\n", vas_stream_state_name(vas_stream_state_event_state(s)),
              error);
    }
    vas_event_free(e);
    if (live) return VAS_OK;
  }
}

int main(int argc, char **argv) {
  const char *url = NULL, *jpeg_path = "snapshot.jpg";
  long seconds = 5;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "rtsp://", 7) == 0) url = argv[i];
    else if (strstr(argv[i], ".jpg") != NULL) jpeg_path = argv[i];
    else seconds = strtol(argv[i], NULL, 10);
  }
  if (url == NULL) {
    fprintf(stderr, "usage: %s rtsp://user:pass@camera/stream [seconds] [snapshot.jpg]\n", argv[0]);
    return 2;
  }
  if (seconds < 1) seconds = 1;

  int status = 1;
  vas_result r;
  vas_engine *engine = NULL;
  vas_event_sub *events = NULL;
  vas_frame_sub *frames = NULL;
  vas_snapshot_image *snapshot = NULL;
  char data_dir[] = "/tmp/vas-frames-XXXXXX";

  if (mkdtemp(data_dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }

  /* An engine with its database and media in a throwaway folder, removed at the end. */
  vas_engine_options options;
  vas_engine_options_init(&options);
  options.data_dir = data_dir;
  if ((r = vas_open(&options, &engine)) != VAS_OK) {
    fail("engine", r);
    goto out;
  }

  vas_new_device device;
  vas_device *added = NULL;
  vas_new_device_init(&device);
  device.name = "camera";
  device.rtsp_url = url;
  if ((r = vas_add_device(engine, &device, &added)) != VAS_OK) {
    fail("add camera", r);
    goto out;
  }
  printf("camera %s\n", vas_device_rtsp_url(added)); /* credentials masked */
  vas_id stream = vas_device_main_stream_id(added);
  vas_device_free(added);

  /* Events from before the start, so that the stream's `live` is not missed. */
  if ((r = vas_events_subscribe(engine, &events)) != VAS_OK ||
      (r = vas_start_stream(engine, stream, NULL)) != VAS_OK) {
    fail("start", r);
    goto out;
  }
  if ((r = wait_live(events, stream)) != VAS_OK) {
    fail("waiting for the stream to go live", r);
    goto out;
  }

  /* Gray frames are enough for a mean luma; the newest one only, never a backlog. */
  vas_frame_options fo;
  vas_frame_options_init(&fo);
  fo.format = VAS_PIXEL_FORMAT_GRAY;
  if ((r = vas_frames_subscribe(engine, stream, &fo, &frames)) != VAS_OK) {
    fail("subscribe", r);
    goto out;
  }

  int quiet = 0;
  int64_t start = now_us();
  for (long second = 1; second <= seconds; second++) {
    long count = 0;
    vas_frame *newest = NULL;
    int64_t got_at = 0;
    for (;;) {
      int64_t left_us = start + second * 1000000 - now_us();
      if (left_us <= 0) break;
      vas_frame *f = NULL;
      r = vas_frame_sub_next(frames, (uint32_t)(left_us / 1000 + 1), &f);
      if (r == VAS_TIMEOUT) break;
      if (r != VAS_OK) {
        fail("frames", r);
        vas_frame_release(newest);
        goto out;
      }
      count++;
      vas_frame_release(newest);
      newest = f;
      got_at = now_us();
    }
    if (newest == NULL) {
      quiet++;
      printf("t=%lds frames=0 (waiting for the camera)\n", second);
      continue;
    }
    size_t len = 0;
    const uint8_t *luma = vas_frame_data(newest, &len);
    uint64_t sum = 0;
    for (size_t i = 0; i < len; i++) sum += luma[i];
    printf("t=%lds frames=%ld size=%ux%u mean_luma=%llu newest_age_ms=%lld\n", second, count,
           vas_frame_width(newest), vas_frame_height(newest),
           (unsigned long long)(len ? sum / len : 0),
           (long long)((got_at - vas_frame_time_us(newest)) / 1000));
    fflush(stdout);
    vas_frame_release(newest);
  }

  /* One JPEG of the newest picture, in a handle the caller frees. */
  if ((r = vas_snapshot_get(engine, stream, NULL, &snapshot)) != VAS_OK) {
    fail("snapshot", r);
    goto out;
  }
  size_t jpeg_len = 0;
  const uint8_t *jpeg = vas_snapshot_image_jpeg(snapshot, &jpeg_len);
  FILE *file = fopen(jpeg_path, "wb");
  int written = file != NULL && fwrite(jpeg, 1, jpeg_len, file) == jpeg_len;
  if (file != NULL && fclose(file) != 0) written = 0;
  if (!written) {
    perror(jpeg_path);
    goto out;
  }
  printf("snapshot %s %ux%u %zu bytes\n", jpeg_path, vas_snapshot_image_width(snapshot),
         vas_snapshot_image_height(snapshot), jpeg_len);
  status = quiet == 0 ? 0 : 1;
  if (quiet) fprintf(stderr, "%d second(s) without a frame\n", quiet);

out:
  vas_snapshot_image_free(snapshot);
  vas_frame_sub_free(frames);
  vas_event_sub_free(events);
  vas_engine_free(engine); /* closes the engine first: then its folder can go */
  nftw(data_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  return status;
}
