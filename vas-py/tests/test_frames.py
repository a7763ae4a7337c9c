"""Decoded frames as numpy arrays: shape, dtype and content (against ffmpeg's decode),
freshness for a slow consumer, the GIL, and faults during iteration."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from datetime import datetime, timezone

import numpy as np
import pytest

import vas
from conftest import wait_for


@pytest.mark.parametrize(
    "fmt, shape",
    [("bgr24", (360, 640, 3)), ("rgb24", (360, 640, 3)), ("gray", (360, 640)),
     ("i420", (540, 640)), ("nv12", (540, 640))],
)
def test_frame_shapes(live, fmt, shape):
    v, sid = live
    with v.frames(sid, format=fmt, timeout=20) as frames:
        f = frames.read()
    assert f.format == fmt
    assert (f.width, f.height) == (640, 360)
    a = f.array
    assert a.shape == shape and a.dtype == np.uint8
    assert len(f) == a.nbytes
    assert np.shares_memory(a, f.array)  # views of the frame's own memory, not copies
    # Read-only: the engine shares the buffer with other subscribers of the same format.
    assert not a.flags.writeable
    with pytest.raises(ValueError):
        a[0, 0] = 0
    with pytest.raises(ValueError):
        a.flags.writeable = True
    drawable = a.copy()
    drawable[0, 0] = 0
    assert drawable.flags.writeable
    assert f.time.tzinfo is not None
    assert isinstance(f.pts, int) and isinstance(f.seq, int) and isinstance(f.epoch, int)
    assert isinstance(f.keyframe, bool)


def test_rgb_is_bgr_reversed(live):
    v, sid = live
    # The pre-encoded loop repeats: the same picture comes back every 60 frames, so one
    # frame of each format at the same loop position compares exactly.
    with v.frames(sid, format="bgr24", strategy="queue", max_queue=64, timeout=20) as b, \
         v.frames(sid, format="rgb24", strategy="queue", max_queue=64, timeout=20) as r:
        fb = b.read()
        fr = r.read()
        while fr.pts < fb.pts:
            fr = r.read()
        while fb.pts < fr.pts:
            fb = b.read()
        assert fb.pts == fr.pts
        assert np.array_equal(fb.array[:, :, ::-1], fr.array)


def _ffmpeg_frames(url: str, pix_fmt: str, count: int, width: int, height: int) -> np.ndarray:
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is needed to check frame content"
    out = subprocess.run(
        [ffmpeg, "-v", "error", "-rtsp_transport", "tcp", "-i", url, "-frames:v", str(count),
         "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"],
        capture_output=True, timeout=60, check=True).stdout
    per = width * height * (3 if pix_fmt == "bgr24" else 1) if pix_fmt != "yuv420p" \
        else width * height * 3 // 2
    assert len(out) == per * count, (len(out), per * count)
    return np.frombuffer(out, np.uint8).reshape(count, -1)


def test_content_matches_ffmpeg_decode(live, camera):
    v, sid = live
    with v.frames(sid, format="i420", timeout=20) as frames:
        i420 = frames.read().array.reshape(-1).copy()
    with v.frames(sid, format="bgr24", timeout=20) as frames:
        bgr = frames.read().array.reshape(-1).astype(np.int16)
    # 75 consecutive frames cover the whole 60-frame loop, so both pictures are among them.
    ref_yuv = _ffmpeg_frames(camera.url, "yuv420p", 75, 640, 360)
    diffs = [int(np.abs(ref.astype(np.int16) - i420).max()) for ref in ref_yuv]
    assert min(diffs) == 0, f"no ffmpeg frame equals VAS's I420 frame (closest max diff {min(diffs)})"
    assert sorted(diffs)[len(diffs) // 2] > 10  # the comparison tells frames apart

    ref_bgr = _ffmpeg_frames(camera.url, "bgr24", 75, 640, 360)
    mean = [float(np.abs(ref.astype(np.int16) - bgr).mean()) for ref in ref_bgr]
    # Colour conversion rounds differently in libswscale; the picture is the same.
    assert min(mean) < 2.0, f"closest ffmpeg BGR frame differs by {min(mean):.2f} on average"
    assert sorted(mean)[len(mean) // 2] > 4 * min(mean) + 1


def test_size_and_fps(live):
    v, sid = live
    with v.frames(sid, max_width=320, max_height=320, timeout=20) as frames:
        f = frames.read()
        assert (f.width, f.height) == (320, 180) and f.array.shape == (180, 320, 3)
    with v.frames(sid, max_height=90, timeout=20) as frames:
        f = frames.read()
        assert (f.width, f.height) == (160, 90)
    with v.frames(sid, format="gray", max_fps=5, strategy="queue", max_queue=64,
                  timeout=20) as frames:
        first = frames.read()
        got = [frames.read() for _ in range(5)]
    span = (got[-1].time - first.time).total_seconds()
    assert 0.8 <= span <= 1.4, f"5 frames at max_fps=5 spanned {span:.2f} s"


def test_queue_keeps_every_frame(live):
    v, sid = live
    with v.frames(sid, format="gray", strategy="queue", max_queue=64, timeout=20) as frames:
        first = frames.read()
        time.sleep(1.0)  # about 30 frames arrive meanwhile, all kept
        seqs = [frames.read().seq for _ in range(25)]
    assert seqs == list(range(first.seq + 1, first.seq + 26))


def test_latest_frame_stays_fresh_for_a_slow_consumer(live):
    v, sid = live
    ages = []
    with v.frames(sid, format="bgr24", timeout=20) as frames:
        frames.read()
        for _ in range(6):
            time.sleep(0.5)  # a consumer that needs 500 ms per frame
            f = frames.read()
            ages.append((datetime.now(timezone.utc) - f.time).total_seconds())
        dropped = frames.dropped
    assert max(ages) < 0.1, f"frame ages {ages}"
    assert dropped > 50  # the frames it had no time for were skipped, not queued


def test_read_releases_the_gil(sqlite_engine, camera):
    v = sqlite_engine
    cam = v.add_device("idle", camera.url)
    frames = v.frames(cam.main_stream_id)  # never started: no frame will come
    counter = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=count)
    t.start()
    try:
        time.sleep(0.1)
        before = counter[0]
        with pytest.raises(vas.Timeout):
            frames.read(timeout=1.0)
        during = counter[0] - before
    finally:
        stop.set()
        t.join()
    frames.close()
    # Holding the GIL for the second would have let the counter advance only at the
    # interpreter's switch interval; released, it counts freely.
    assert during > 100_000, f"the other thread counted only {during} times in 1 s"


def test_array_outlives_its_frame_and_the_engine(tmp_path, camera):
    v = vas.Vas(data_dir=tmp_path)
    sid = v.add_device("synth", camera.url).main_stream_id
    v.start_stream(sid)
    frames = v.frames(sid, timeout=20)
    f = frames.read()
    a = f.array
    expected = int(a.sum())
    del f
    v.close()
    assert int(a.sum()) == expected  # still valid memory
    # The engine closed: the iteration ends (after a frame already waiting, if any).
    assert len(list(frames)) <= 1
    with pytest.raises(vas.Closed):
        frames.read(timeout=1)


def test_closing_ends_iteration(live):
    v, sid = live
    frames = v.frames(sid, timeout=20)
    got = []

    def consume():
        for f in frames:
            got.append(f.seq)

    t = threading.Thread(target=consume)
    t.start()
    wait_for("frames", lambda: len(got) >= 3)
    frames.close()
    t.join(timeout=5)
    assert not t.is_alive()
    assert frames.closed


def test_camera_killed_during_iteration_resumes(sqlite_engine):
    v = sqlite_engine
    with vas.SyntheticCamera(320, 180, 30, loop_seconds=1) as cam:
        sid = v.add_device("flaky", cam.url).main_stream_id
        v.start_stream(sid)
        events = v.events(timeout=30)
        frames = v.frames(sid, format="gray", timeout=30)
        frames.read()
        cam.set_down(True)
        for e in events:
            if isinstance(e, vas.StreamStateEvent) and e.state in ("reconnecting", "failed"):
                break
        with pytest.raises(vas.Timeout):
            frames.read(timeout=0.5)  # nothing while it is down, and no other error
        cam.set_down(False)
        f = frames.read()  # resumes once the camera is back
        assert f.width == 320
        for e in events:
            if isinstance(e, vas.StreamStateEvent) and e.state == "live":
                break
        frames.close()
        events.close()


def test_encoded_frames_start_at_a_keyframe(live):
    v, sid = live
    with v.encoded_frames(sid, timeout=20) as encoded:
        first = encoded.read()
        assert (first.track, first.codec, first.keyframe) == ("video", "h264", True)
        assert (first.width, first.height) == (640, 360)
        data = first.data
        assert isinstance(data, bytes) and len(data) == first.bytes == len(first) > 0
        # Length-prefixed NAL units: the first length fits in the payload.
        assert 0 < int.from_bytes(data[:4], "big") <= len(data) - 4
        assert first.time.tzinfo is not None and isinstance(first.epoch, int)
        later = [encoded.read() for _ in range(30)]
        assert all(f.pts > first.pts for f in later)
        assert encoded.lost == 0
    assert encoded.closed
    with pytest.raises(vas.Closed):
        encoded.read(timeout=1)
