#!/usr/bin/env python3
"""The parity scenario through the Python shell (`import vas`); see tests/parity/README.md.

    python parity_py.py --url RTSP_URL --data DIR

Prints the scenario's JSON document on standard output (anything else goes to standard
error). The records' fields and the calls are read from the package itself (the properties
of its classes, the methods of `vas.Vas`), not from a list kept here, so that a field or call
the shell lacks shows in the driver's check.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import types
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import vas

# The longest the scenario waits for any one thing (a state, an event, a frame).
DEADLINE = 30.0
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# What a `Frame` has besides its info (`FrameInfo`): its pixels.
FRAME_PIXELS = ("array",)


def calls() -> List[str]:
    """The engine's calls as `vas.Vas` offers them: its public methods without their
    coroutine twins (`a<name>`), and `open` for the constructor (`vas.Vas(...)`)."""
    names = {n for n in dir(vas.Vas) if not n.startswith("_") and callable(getattr(vas.Vas, n))}
    names.add("open")
    twins = {n for n in names if n.startswith("a") and n[1:] in names}
    return sorted(names - twins)


def value(v: Any) -> Any:
    """A value in the document's form (see the README): ids and names are already text."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, datetime):
        return (v - EPOCH) // timedelta(microseconds=1)
    if isinstance(v, bytes):
        return len(v)
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, list):
        return [value(x) for x in v]
    return record(v)


def fields(cls: type) -> List[str]:
    """The properties a class of the package defines itself (a record's fields)."""
    return [n for n, a in vars(cls).items()
            if isinstance(a, types.GetSetDescriptorType) and not n.startswith("_")]


def record(obj: Any, skip: Tuple[str, ...] = ()) -> Dict[str, Any]:
    """A record of the package (`vas.Device`, …) as an object of every field."""
    return {n: value(getattr(obj, n)) for n in fields(type(obj)) if n not in skip}


def event(e: vas.Event) -> Dict[str, Any]:
    """An event: its kind and its kind's fields."""
    return {"kind": e.kind, **record(e)}


class Scenario:
    """The engine, its event subscription, and every event read so far."""

    def __init__(self, data: str) -> None:
        self.v = vas.Vas(data_dir=data)
        self.subscription = self.v.events()
        self.events: List[vas.Event] = []

    def wait_for(self, what: str, test: Callable[[vas.Event], bool]) -> vas.Event:
        """The next event that passes `test` (every event read is kept), within DEADLINE."""
        deadline = time.monotonic() + DEADLINE
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"parity_py: no {what} within {DEADLINE:g} s")
            try:
                e = self.subscription.read(timeout=left)
            except vas.Timeout:
                continue
            self.events.append(e)
            if test(e):
                return e

    def close(self) -> None:
        """Closes the engine, then reads the events that were still on their way."""
        self.v.close()
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                self.events.append(self.subscription.read(timeout=deadline - time.monotonic()))
            except (vas.Closed, vas.Timeout):
                break
        self.subscription.close()


def recording(stream_id: str, state: str, not_id: Optional[str] = None) -> Callable[[vas.Event], bool]:
    """A test of a recorder event of the stream in `state` (with a recording other than
    `not_id`, for `recording`)."""
    def test(e: vas.Event) -> bool:
        if not isinstance(e, vas.RecorderEvent) or e.stream_id != stream_id or e.state != state:
            return False
        return state != "recording" or (e.recording_id is not None and e.recording_id != not_id)
    return test


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the camera's rtsp:// URL")
    parser.add_argument("--data", required=True, help="an empty folder for the engine's data")
    args = parser.parse_args()

    s = Scenario(args.data)
    v = s.v
    try:
        device = v.add_device("parity", args.url)
        sid = device.main_stream_id
        v.start_stream(sid)
        s.wait_for("live stream", lambda e: isinstance(e, vas.StreamStateEvent)
                   and e.stream_id == sid and e.state == "live")

        v.set_recording(sid, True)
        first = s.wait_for("recording", recording(sid, "recording"))
        assert isinstance(first, vas.RecorderEvent)
        v.set_recording(sid, False)
        s.wait_for("stopped recorder", recording(sid, "stopped"))
        v.set_recording(sid, True)
        s.wait_for("second recording", recording(sid, "recording", first.recording_id))

        with v.frames(sid, format="bgr24", max_width=320) as frames:
            frame = record(frames.read(timeout=DEADLINE), skip=FRAME_PIXELS)

        snapshot = v.save_snapshot(sid, label="parity")
        snapshots = v.saved_snapshots(stream_id=sid, order="newest")
        bookmark = v.add_bookmark(sid, label="parity")
        streams = v.streams(device.id, order="oldest")
        recordings = v.recordings(stream_id=sid, order="newest")
    finally:
        s.close()

    doc = {
        "shell": "python",
        "calls": calls(),
        "device": record(device),
        "streams": [record(x) for x in streams],
        "frame": frame,
        "snapshot": record(snapshot),
        "snapshots": [record(x) for x in snapshots],
        "bookmark": record(bookmark),
        "recordings": [record(x) for x in recordings],
        "events": [event(e) for e in s.events],
    }
    json.dump(doc, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
