#!/usr/bin/env python3
"""Motion score per second from frame differences.

    python examples/python/motion.py [RTSP_URL] [--seconds N] [--timeout S]

Without a URL it watches VAS's synthetic camera (`vas.SyntheticCamera`, in packages built
with the `demo` feature, as `make test` builds it). Each second it prints how many frames it
compared and the mean absolute difference between consecutive grey frames (0 is a still
picture, higher is more motion), and how old the newest frame was when it got it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime, timezone

import numpy as np

import vas


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="rtsp:// URL (default: the synthetic camera)")
    parser.add_argument("--seconds", type=int, default=10, help="how long to watch")
    parser.add_argument("--timeout", type=float, default=15.0,
                        help="give up after this many seconds without a frame")
    args = parser.parse_args()

    with ExitStack() as stack:
        url = args.url
        if url is None:
            url = stack.enter_context(vas.SyntheticCamera(640, 360, 30)).url
        data = stack.enter_context(tempfile.TemporaryDirectory(prefix="vas-motion-"))
        v = stack.enter_context(vas.Vas(data_dir=data))
        camera = v.add_device("watched", url)
        stream_id = camera.main_stream_id
        v.start_stream(stream_id)

        # Grey at 320 pixels wide is plenty for a motion score, and cheap.
        frames = stack.enter_context(v.frames(stream_id, format="gray", max_width=320,
                                              timeout=args.timeout))
        previous = None
        scores: list[float] = []
        started = time.monotonic()
        second = 1
        age_ms = 0
        try:
            for frame in frames:
                picture = frame.array.astype(np.int16)
                if previous is not None and previous.shape == picture.shape:
                    scores.append(float(np.abs(picture - previous).mean()))
                previous = picture
                age_ms = int((datetime.now(timezone.utc) - frame.time).total_seconds() * 1000)
                if time.monotonic() - started >= second:
                    motion = sum(scores) / len(scores) if scores else 0.0
                    print(f"t={second}s frames={len(scores)} motion={motion:.2f} newest_age_ms={age_ms}",
                          flush=True)
                    scores.clear()
                    second += 1
                    if second > args.seconds:
                        break
        except vas.Timeout:
            stream = v.stream(stream_id)
            print(f"no frame for {args.timeout:g} s; the stream is {stream.state}: "
                  f"{stream.last_error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
