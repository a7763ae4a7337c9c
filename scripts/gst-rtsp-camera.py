#!/usr/bin/python3
"""A third-party RTSP camera for interop tests: GStreamer's RTSP server (Debian's
gir1.2-gst-rtsp-server-1.0), serving x264 test patterns.

Usage: /usr/bin/python3 scripts/gst-rtsp-camera.py PORT
Mounts (all 640x360, 30 fps, keyframe every 30 frames, no B-frames):
  /baseline        H.264 Constrained Baseline
  /high            H.264 High
  /high-pcmu       H.264 High + G.711 u-law tone
  /high-aac        H.264 High + AAC tone
  /h265            H.265 Main
  /high-netsim     H.264 High behind GStreamer's netsim (after the payloader): 30 % of packets
                   delayed by 0-40 ms, 3 % duplicated, 0.5 % dropped (a network that reorders)
Before listening it builds every mount's pipeline once, so a missing GStreamer element is
reported at start-up (exit status 2, one line naming the element and the Debian package that
ships it) instead of as 503 answers to DESCRIBE later. Prints READY on stdout once listening.
Runs until killed.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

VIDEO = (
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1 "
    "! timeoverlay ! "
)
X264 = "x264enc tune=zerolatency speed-preset=superfast key-int-max=30 bframes=0 bitrate=800 "
PAY264 = "rtph264pay name=pay0 pt=96 config-interval=-1"
PCMU = " audiotestsrc is-live=true wave=sine freq=1000 ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay name=pay1 pt=0"
AAC = " audiotestsrc is-live=true wave=sine freq=440 ! audio/x-raw,rate=48000,channels=1 ! avenc_aac ! rtpmp4gpay name=pay1 pt=97"

MOUNTS = {
    "/baseline": VIDEO + X264 + "! video/x-h264,profile=constrained-baseline ! " + PAY264,
    "/high": VIDEO + X264 + "! video/x-h264,profile=high ! " + PAY264,
    "/high-pcmu": VIDEO + X264 + "! video/x-h264,profile=high ! " + PAY264 + PCMU,
    "/high-aac": VIDEO + X264 + "! video/x-h264,profile=high ! " + PAY264 + AAC,
    "/high-netsim": VIDEO
    + X264
    + "! video/x-h264,profile=high ! rtph264pay pt=96 config-interval=-1 "
    + "! netsim name=pay0 min-delay=0 max-delay=40",
    "/h265": VIDEO
    + "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=800 ! video/x-h265,profile=main "
    + "! rtph265pay name=pay0 pt=96 config-interval=-1",
}

# The faults of /high-netsim's netsim, switched on once its first packet has passed: the
# server asserts (gst_rtsp_media_get_rates) when a client PLAYs before the payloader element
# has pushed anything, which a delayed or dropped first packet would otherwise cause.
NETSIM_FAULTS = {
    "delay-probability": 0.3,
    "duplicate-probability": 0.03,
    "drop-probability": 0.005,
}


def start_faults_after_first_packet(_factory, media):
    netsim = media.get_element().get_by_name("pay0")

    def first_packet(_pad, _info):
        for name, value in NETSIM_FAULTS.items():
            netsim.set_property(name, value)
        return Gst.PadProbeReturn.REMOVE

    netsim.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, first_packet)

# Where Debian ships the elements the pipelines use (for the start-up error).
ELEMENT_PACKAGES = {
    "videotestsrc": "gstreamer1.0-plugins-base",
    "audiotestsrc": "gstreamer1.0-plugins-base",
    "timeoverlay": "gstreamer1.0-x",
    "x264enc": "gstreamer1.0-plugins-ugly",
    "x265enc": "gstreamer1.0-plugins-bad",
    "rtph264pay": "gstreamer1.0-plugins-good",
    "rtph265pay": "gstreamer1.0-plugins-good",
    "mulawenc": "gstreamer1.0-plugins-good",
    "rtppcmupay": "gstreamer1.0-plugins-good",
    "rtpmp4gpay": "gstreamer1.0-plugins-good",
    "avenc_aac": "gstreamer1.0-libav",
    "netsim": "gstreamer1.0-plugins-bad",
}


def check_pipelines():
    """Builds each mount's pipeline once (not started); returns a list of problems."""
    problems = []
    for path, launch in MOUNTS.items():
        missing = sorted(
            {
                word
                for word in launch.replace("!", " ").split()
                if word in ELEMENT_PACKAGES and Gst.ElementFactory.find(word) is None
            }
        )
        for element in missing:
            problems.append(
                f"mount {path}: GStreamer element '{element}' is missing "
                f"(Debian package {ELEMENT_PACKAGES[element]})"
            )
        if missing:
            continue
        try:
            pipeline = Gst.parse_launch(launch)
        except GLib.Error as e:
            problems.append(f"mount {path}: pipeline does not build: {e.message}")
            continue
        pipeline.set_state(Gst.State.NULL)
    return problems


def main():
    port = sys.argv[1]
    Gst.init(None)
    problems = check_pipelines()
    if problems:
        for p in problems:
            print("gst-rtsp-camera: " + p, file=sys.stderr)
        sys.exit(2)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    mounts = server.get_mount_points()
    for path, launch in MOUNTS.items():
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch("( " + launch + " )")
        factory.set_shared(True)
        if "netsim" in launch:
            factory.connect("media-configure", start_faults_after_first_packet)
        mounts.add_factory(path, factory)
    if server.attach(None) == 0:
        print("could not listen on port " + port, file=sys.stderr)
        sys.exit(1)
    print("READY", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
