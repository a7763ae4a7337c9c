/*
 * frames.c: decoded frames and a snapshot from a camera, through VAS's C ABI.
 *
 *   frames [rtsp://user:pass@camera/stream] [seconds] [snapshot.jpg]
 *
 * Without a URL it starts VAS's synthetic camera. It prints one line per second (frames
 * received, the newest frame's size, mean luma and age), writes one JPEG snapshot, and
 * exits after `seconds` (default 5) having freed everything; the exit status is 0 only if
 * frames arrived every second and the snapshot was written.
 *
 * Build (see the README's C section):
 *   cargo build --release -p vas-ffi
 *   cc -Iinclude examples/c/frames.c target/release/libvas_ffi.a -lstdc++ -lpthread -ldl -lm -o frames
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep, mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vas.h"

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

int main(int argc, char **argv) {
  const char *url = NULL, *jpeg_path = "snapshot.jpg";
  long seconds = 5;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "rtsp://", 7) == 0) url = argv[i];
    else if (strstr(argv[i], ".jpg") != NULL) jpeg_path = argv[i];
    else seconds = strtol(argv[i], NULL, 10);
  }
  if (seconds < 1) seconds = 1;

  int status = 1;
  vas_result r;
  vas_synthetic_camera *camera = NULL;
  vas_engine *engine = NULL;
  vas_frame_sub *frames = NULL;
  char data_dir[] = "/tmp/vas-frames-XXXXXX";

  if (url == NULL) {
    if ((r = vas_synthetic_camera_new(NULL, &camera)) != VAS_OK) return fail("synthetic camera", r);
    url = vas_synthetic_camera_url(camera);
  }
  if (mkdtemp(data_dir) == NULL) {
    perror("mkdtemp");
    goto out;
  }

  /* An engine with its database and media in a throwaway folder. */
  vas_engine_options options;
  vas_engine_options_init(&options);
  options.data_dir = data_dir;
  if ((r = vas_engine_new(&options, &engine)) != VAS_OK) {
    fail("engine", r);
    goto out;
  }

  vas_new_device device;
  vas_device *added = NULL;
  vas_id stream;
  vas_new_device_init(&device);
  device.name = "camera";
  device.rtsp_url = url;
  if ((r = vas_device_add(engine, &device, &added, &stream)) != VAS_OK) {
    fail("add camera", r);
    goto out;
  }
  printf("camera %s\n", vas_device_rtsp_url(added)); /* credentials masked */
  vas_device_free(added);
  if ((r = vas_stream_start(engine, stream, NULL)) != VAS_OK) {
    fail("start", r);
    goto out;
  }

  /* Gray frames are enough for a mean luma; the newest one only, never a backlog. */
  vas_frame_options fo;
  vas_frame_options_init(&fo);
  fo.format = VAS_PIXEL_FORMAT_GRAY8;
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

  /* One JPEG of the newest picture, in a buffer the caller frees. */
  uint8_t *jpeg = NULL;
  size_t jpeg_len = 0;
  vas_snapshot_info info;
  if ((r = vas_snapshot(engine, stream, NULL, &jpeg, &jpeg_len, &info)) != VAS_OK) {
    fail("snapshot", r);
    goto out;
  }
  FILE *file = fopen(jpeg_path, "wb");
  int written = file != NULL && fwrite(jpeg, 1, jpeg_len, file) == jpeg_len;
  if (file != NULL && fclose(file) != 0) written = 0;
  vas_buffer_free(jpeg, jpeg_len);
  if (!written) {
    perror(jpeg_path);
    goto out;
  }
  printf("snapshot %s %ux%u %zu bytes\n", jpeg_path, info.width, info.height, jpeg_len);
  status = quiet == 0 ? 0 : 1;
  if (quiet) fprintf(stderr, "%d second(s) without a frame\n", quiet);

out:
  vas_frame_sub_free(frames);
  vas_engine_free(engine);
  vas_synthetic_camera_free(camera);
  return status;
}
