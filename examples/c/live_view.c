/*
 * live_view.c: live view for a browser through VAS's C ABI, for an app with its own HTTP
 * server. It reads a WHEP offer (SDP) from stdin, answers it, and prints the answer.
 *
 *   live_view rtsp://camera [seconds] < offer.sdp
 *
 * The app would return the printed answer as the body of its `201 Created` WHEP response;
 * media then flows from VAS's WebRTC socket (127.0.0.1 here; set `webrtc_bind` and
 * `webrtc_public_ips` for other machines) once the stream is live. The viewer is kept for
 * `seconds` (default 0), then closed as a WHEP DELETE would, and everything is freed.
 *
 * Build:
 *   cc -Iinclude examples/c/live_view.c target/release/libvas_ffi.a -lstdc++ -lpthread -ldl -lm -o live_view
 */
#define _XOPEN_SOURCE 700 /* clock_gettime, nanosleep, mkdtemp, nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vas.h"

#define MAX_OFFER (64 * 1024)

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

int main(int argc, char **argv) {
  const char *url = NULL;
  long seconds = 0;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "rtsp://", 7) == 0) url = argv[i];
    else seconds = strtol(argv[i], NULL, 10);
  }
  if (url == NULL) {
    fprintf(stderr, "usage: %s rtsp://camera [seconds] < offer.sdp\n", argv[0]);
    return 2;
  }

  /* The offer, bounded, as a string. */
  char *offer = malloc(MAX_OFFER);
  if (offer == NULL) return 1;
  size_t offer_len = fread(offer, 1, MAX_OFFER, stdin);
  if (offer_len == 0 || offer_len == MAX_OFFER) {
    fprintf(stderr, "expected an SDP offer of 1..%d bytes on stdin\n", MAX_OFFER - 1);
    free(offer);
    return 2;
  }
  offer[offer_len] = '\0';

  int status = 1;
  vas_result r;
  vas_engine *engine = NULL;
  vas_webrtc_session *session = NULL;
  char data_dir[] = "/tmp/vas-live-XXXXXX"; /* the engine's, removed at the end */
  int made_dir = 0;

  if (mkdtemp(data_dir) == NULL) {
    perror("mkdtemp");
    goto out;
  }
  made_dir = 1;
  vas_engine_options options;
  vas_engine_options_init(&options);
  options.data_dir = data_dir;
  options.webrtc_bind = "127.0.0.1:0";
  if ((r = vas_open(&options, &engine)) != VAS_OK) {
    fail("engine", r);
    goto out;
  }
  /* The camera's main stream, started: an offer can be answered before it is live. */
  vas_new_device device;
  vas_device *added = NULL;
  vas_new_device_init(&device);
  device.name = "camera";
  device.rtsp_url = url;
  if ((r = vas_add_device(engine, &device, &added)) != VAS_OK) {
    fail("camera", r);
    goto out;
  }
  vas_id stream = vas_device_main_stream_id(added);
  vas_device_free(added);
  if ((r = vas_start_stream(engine, stream, NULL)) != VAS_OK) {
    fail("start", r);
    goto out;
  }

  if ((r = vas_webrtc_answer(engine, stream, offer, &session)) != VAS_OK) {
    fail("answer", r);
    goto out;
  }
  uint64_t viewer = vas_webrtc_session_viewer(session);
  fputs(vas_webrtc_session_answer_sdp(session), stdout);
  fflush(stdout);
  fprintf(stderr, "viewer %llu\n", (unsigned long long)viewer);
  if (seconds > 0) {
    struct timespec t = {seconds, 0};
    nanosleep(&t, NULL);
  }
  if ((r = vas_webrtc_close(engine, viewer, NULL)) != VAS_OK) {
    fail("close", r);
    goto out;
  }
  status = 0;

out:
  vas_webrtc_session_free(session);
  vas_engine_free(engine); /* closes the engine first: then its folder can go */
  if (made_dir) nftw(data_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(offer);
  return status;
}
