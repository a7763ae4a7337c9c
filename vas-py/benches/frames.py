#!/usr/bin/env python3
"""Camera frames into numpy BGR from Python: VAS against cv2.VideoCapture and PyAV.

    python vas-py/benches/frames.py [--sizes 1280x720,1920x1080] [--seconds 10] [--slow 30]

Needs `vas` (pip install ./vas-py, the release build), `opencv-python-headless` and `av` in
the same environment, and the workspace's `vas-synth` program (`cargo build --release -p
vas-synth`). For each size, one 30 fps RTSP camera (`vas-synth`, a pre-encoded loop, in a
process of its own) is read by each reader in turn, each in a fresh process, so that nothing
else shares its CPU account:

- throughput: every frame as it comes, for `--seconds`: frames/s and CPU (user + system of
  the reader's process, all its threads) per frame;
- slow consumer: one frame every 200 ms (5 fps) for `--slow` seconds: the age of the frame
  handed out at the end, as (wall time since the first frame) - (media time since the first
  frame), the same measure for all three (each reports its frames' presentation times).

Prints a table (and the rows as JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

FPS = 30


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def reader_vas(url: str) -> Iterator[Tuple[Any, float]]:
    import vas

    data = tempfile.mkdtemp(prefix="vas-bench-")
    v = vas.Vas(data_dir=data)
    sid = v.add_device("bench", url).main_stream_id
    v.start_stream(sid)
    frames = v.frames(sid, format="bgr24", timeout=20)
    for f in frames:
        yield f.array, f.pts / 90000.0


def reader_cv2(url: str) -> Iterator[Tuple[Any, float]]:
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "rtsp_transport;tcp"
    import cv2

    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise SystemExit("cv2 cannot open " + url)
    while True:
        ok, img = cap.read()
        if not ok:
            raise SystemExit("cv2.read() failed")
        yield img, cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0


def reader_pyav(url: str) -> Iterator[Tuple[Any, float]]:
    import av

    container = av.open(url, options={"rtsp_transport": "tcp"}, timeout=20)
    stream = container.streams.video[0]
    last = 0.0
    for frame in container.decode(stream):
        # (The first frames of an RTSP session may come without a timestamp.)
        ts = frame.pts if frame.pts is not None else frame.dts
        if ts is not None:
            last = float(ts * stream.time_base)
        yield frame.to_ndarray(format="bgr24"), last


READERS: Dict[str, Callable[[str], Iterator[Tuple[Any, float]]]] = {
    "vas": reader_vas,
    "cv2": reader_cv2,
    "pyav": reader_pyav,
}


def measure(name: str, url: str, seconds: float, slow: float, size: Tuple[int, int]) -> Dict[str, Any]:
    frames = READERS[name](url)
    img, _ = next(frames)  # connected: the first frame is here
    assert img.shape == (size[1], size[0], 3), img.shape
    # Throughput: every frame as it comes.
    for _ in range(FPS):  # settle for a second
        next(frames)
    n = 0
    c0, t0 = cpu_seconds(), time.monotonic()
    while time.monotonic() - t0 < seconds:
        img, _ = next(frames)
        n += 1
    cpu, wall = cpu_seconds() - c0, time.monotonic() - t0
    # Slow consumer: 5 frames per second of work.
    _, media0 = next(frames)
    wall0 = time.monotonic()
    ages: List[float] = []
    while time.monotonic() - wall0 < slow:
        time.sleep(0.2)
        _, media = next(frames)
        ages.append((time.monotonic() - wall0) - (media - media0))
    return {
        "reader": name,
        "size": f"{size[0]}x{size[1]}",
        "fps": n / wall,
        "cpu_ms_per_frame": 1000.0 * cpu / max(n, 1),
        "cpu_percent": 100.0 * cpu / wall,
        "age_end_ms": 1000.0 * ages[-1],
        "age_max_ms": 1000.0 * max(ages),
    }


def synth_binary() -> str:
    """The `vas-synth` program of the workspace build (release if built, else debug)."""
    root = Path(__file__).resolve().parents[2]
    for profile in ("release", "debug"):
        exe = root / "target" / profile / "vas-synth"
        if exe.exists():
            return str(exe)
    raise SystemExit("no target/*/vas-synth: cargo build --release -p vas-synth")


def camera_process(width: int, height: int) -> Tuple[subprocess.Popen[str], str]:
    p = subprocess.Popen([synth_binary(), "--bind", "127.0.0.1:0", "--size", f"{width}x{height}",
                          "--fps", str(FPS), "--loop", "2", "--until-stdin-closes"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    url = p.stdout.readline().strip()
    if not url.startswith("rtsp://"):
        p.kill()
        raise SystemExit("the camera did not start")
    return p, url


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1280x720,1920x1080")
    ap.add_argument("--readers", default="vas,cv2,pyav")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--slow", type=float, default=30.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--one", nargs=4, metavar=("READER", "URL", "W", "H"), help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.one:  # a reader's own process
        name, url, w, h = args.one
        print(json.dumps(measure(name, url, args.seconds, args.slow, (int(w), int(h)))))
        sys.stdout.flush()
        os._exit(0)  # readers with threads of their own (cv2, PyAV) need not wind down

    rows: List[Dict[str, Any]] = []
    for size in args.sizes.split(","):
        w, h = (int(x) for x in size.split("x"))
        cam, url = camera_process(w, h)
        try:
            for name in args.readers.split(","):
                out = subprocess.run(
                    [sys.executable, __file__, "--seconds", str(args.seconds), "--slow",
                     str(args.slow), "--one", name, url, str(w), str(h)],
                    capture_output=True, text=True, timeout=args.seconds + args.slow + 120)
                if out.returncode != 0:
                    raise SystemExit(f"{name} at {size} failed: {out.stderr[-2000:]}")
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(f"# {rows[-1]}", file=sys.stderr, flush=True)
        finally:
            assert cam.stdin is not None
            cam.stdin.close()
            cam.wait(timeout=10)

    print("| size | reader | frames/s | CPU ms/frame | CPU % of a core | vs cv2 CPU/frame | "
          "slow consumer: frame age after 30 s | max age |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        base = next(x for x in rows if x["size"] == r["size"] and x["reader"] == "cv2") \
            if any(x["reader"] == "cv2" for x in rows) else r
        print(f"| {r['size']} | {r['reader']} | {r['fps']:.1f} | {r['cpu_ms_per_frame']:.2f} | "
              f"{r['cpu_percent']:.0f} | {r['cpu_ms_per_frame'] / base['cpu_ms_per_frame']:.2f}x | "
              f"{r['age_end_ms']:.0f} ms | {r['age_max_ms']:.0f} ms |")
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
