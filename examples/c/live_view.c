/*
 * live_view.c: live view for a browser through VAS's C ABI, for an app with its own HTTP
 * server. It reads a WHEP offer (SDP) from stdin, answers it, and prints the answer.
 *
 *   live_view [rtsp://camera] [seconds] < offer.sdp
 *
 * Without a URL it starts VAS's synthetic camera. The app would return the printed answer
 * as the body of its `201 Created` WHEP response; media then flows from VAS's WebRTC socket
 * (127.0.0.1 here; set `webrtc_bind` and `webrtc_public_ip` for other machines). The
 * viewer is kept for `seconds` (default 0), then closed as a WHEP DELETE would, and
 * everything is freed.
 *
 * Build:
 *   cc -Iinclude examples/c/live_view.c target/release/libvas_ffi.a -lstdc++ -lpthread -ldl -lm -o live_view
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep, mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vas.h"

#define MAX_OFFER (64 * 1024)

static int fail(const char *what, vas_result r) {
  char msg[512] = "";
  vas_last_error_message(msg, sizeof msg, NULL);
  fprintf(stderr, "%s: %s: %s\n", what, vas_result_name(r), msg);
  return 1;
}

int main(int argc, char **argv) {
  const char *url = NULL;
  long seconds = 0;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "rtsp://", 7) == 0) url = argv[i];
    else seconds = strtol(argv[i], NULL, 10);
  }

  /* The offer, bounded. */
  char *offer = malloc(MAX_OFFER);
  if (offer == NULL) return 1;
  size_t offer_len = fread(offer, 1, MAX_OFFER, stdin);
  if (offer_len == 0 || offer_len == MAX_OFFER) {
    fprintf(stderr, "expected an SDP offer of 1..%d bytes on stdin\n", MAX_OFFER - 1);
    free(offer);
    return 2;
  }

  int status = 1;
  vas_result r;
  vas_synthetic_camera *camera = NULL;
  vas_engine *engine = NULL;
  char *answer = NULL;
  char data_dir[] = "/tmp/vas-live-XXXXXX";

  if (url == NULL) {
    if ((r = vas_synthetic_camera_new(NULL, &camera)) != VAS_OK) {
      fail("synthetic camera", r);
      goto out;
    }
    url = vas_synthetic_camera_url(camera);
  }
  if (mkdtemp(data_dir) == NULL) {
    perror("mkdtemp");
    goto out;
  }
  vas_engine_options options;
  vas_engine_options_init(&options);
  options.data_dir = data_dir;
  options.webrtc_bind = "127.0.0.1:0";
  if ((r = vas_engine_new(&options, &engine)) != VAS_OK) {
    fail("engine", r);
    goto out;
  }
  vas_new_device device;
  vas_id stream;
  vas_new_device_init(&device);
  device.name = "camera";
  device.rtsp_url = url;
  if ((r = vas_device_add(engine, &device, NULL, &stream)) != VAS_OK ||
      (r = vas_stream_start(engine, stream, NULL)) != VAS_OK) {
    fail("camera", r);
    goto out;
  }

  uint64_t viewer = 0;
  if ((r = vas_webrtc_answer(engine, stream, offer, offer_len, &answer, &viewer)) != VAS_OK) {
    fail("answer", r);
    goto out;
  }
  fputs(answer, stdout);
  fflush(stdout);
  fprintf(stderr, "viewer %llu\n", (unsigned long long)viewer);
  if (seconds > 0) {
    struct timespec t = {seconds, 0};
    nanosleep(&t, NULL);
  }
  if ((r = vas_webrtc_close(engine, viewer)) != VAS_OK && r != VAS_NOT_FOUND) {
    fail("close", r);
    goto out;
  }
  status = 0;

out:
  vas_string_free(answer);
  vas_engine_free(engine);
  vas_synthetic_camera_free(camera);
  free(offer);
  return status;
}
