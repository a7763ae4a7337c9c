"""uniffi's generated Python bindings (target/bindings/python, `make bindings`) against
libvas_uniffi built with the demo feature: the engine, events and frames through callbacks,
lists newest first, errors, and the async functions under asyncio.

Run by scripts/uniffi.sh with VAS_UNIFFI_DIR pointing at the folder holding vas_uniffi.py and
libvas_uniffi.so side by side.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, os.environ["VAS_UNIFFI_DIR"])
import vas_uniffi as v  # noqa: E402

# uniffi's module declares VasError twice (a plain exception, then the class that holds one
# subclass per kind), so a type checker does not see the kinds' classes: reach them untyped.
VasError: Any = v.VasError

# How long a test waits for anything the camera or the engine must do.
DEADLINE = 20.0


def wait_for(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


async def wait_in_thread(what: str, check: Callable[[], bool]) -> None:
    """`wait_for` without blocking the event loop."""
    await asyncio.get_running_loop().run_in_executor(None, wait_for, what, check)


@pytest.fixture(scope="module")
def camera() -> Iterator[v.SyntheticCamera]:
    cam = v.SyntheticCamera(640, 360, 30)
    yield cam
    cam.stop()


class Events(v.EventListener):
    def __init__(self) -> None:
        self.seen: list[v.Event] = []

    def on_event(self, event: v.Event) -> None:
        self.seen.append(event)


class Frames(v.FrameListener):
    """Keeps the frames; raises from every `fail_every`-th callback when asked to."""

    def __init__(self, fail_every: int = 0) -> None:
        self.frames: list[v.Frame] = []
        self.ended: v.VasError | None = None
        self.fail_every = fail_every

    def on_frame(self, frame: v.Frame) -> None:
        self.frames.append(frame)
        if self.fail_every and len(self.frames) % self.fail_every == 0:
            raise RuntimeError("a bug in the app's callback")

    def on_end(self, error: v.VasError) -> None:
        self.ended = error


def test_engine_callbacks_and_errors(tmp_path: Path, camera: v.SyntheticCamera) -> None:
    async def main() -> None:
        engine = await v.Engine.open(v.EngineOptions(data_dir=str(tmp_path)))
        dev = await engine.add_device(v.NewDevice(name="py", rtsp_url=camera.url(),
                                                  username="u", password="secret"))
        assert dev.has_credentials and "secret" not in dev.rtsp_url
        sid = dev.main_stream_id
        assert [s.id for s in await engine.streams(dev.id, v.Order.OLDEST)] == [sid]

        events = Events()
        esub = engine.subscribe_events(events)
        await engine.start_stream(sid)
        await wait_in_thread("live", lambda: any(
            isinstance(e, v.Event.STREAM_STATE) and e.stream_id == sid
            and e.state == v.StreamState.LIVE for e in events.seen))

        frames = Frames(fail_every=4)
        gray = v.FrameOptions(format=v.PixelFormat.GRAY8, max_width=320, max_height=320)
        fsub = await engine.subscribe_frames(sid, gray, frames)
        await wait_in_thread("12 frames", lambda: len(frames.frames) >= 12)
        f = frames.frames[-1]
        assert (f.info.width, f.info.height, len(f.data)) == (320, 180, 320 * 180)
        assert f.info.format == v.PixelFormat.GRAY8
        assert fsub.failures() >= 3 and fsub.is_active()  # the raising callback is contained
        assert "bug in the app" in (fsub.last_failure() or "")
        fsub.cancel()
        assert not fsub.is_active()

        # Cancelling from inside the callback: no callback after it, while a witness
        # subscription on the same stream goes on receiving frames.
        holder: dict[str, v.Subscription] = {}
        calls: list[int] = []
        cancelled = threading.Event()

        class Canceller(v.FrameListener):
            def on_frame(self, frame: v.Frame) -> None:
                calls.append(frame.info.seq)
                while "sub" not in holder:
                    time.sleep(0.001)
                holder["sub"].cancel()
                cancelled.set()

            def on_end(self, error: v.VasError) -> None:
                pass

        holder["sub"] = await engine.subscribe_frames(sid, v.FrameOptions(format=v.PixelFormat.I420),
                                                      Canceller())
        await wait_in_thread("the callback", cancelled.is_set)
        witness = Frames()
        wsub = await engine.subscribe_frames(sid, v.FrameOptions(format=v.PixelFormat.I420), witness)
        await wait_in_thread("10 frames to the witness", lambda: len(witness.frames) >= 10)
        wsub.cancel()
        assert len(calls) == 1 and not holder["sub"].is_active()

        jpeg = await engine.snapshot(sid, v.SnapshotOptions(width=160))
        assert jpeg.jpeg[:2] == b"\xff\xd8" and jpeg.width == 160

        # Bookmarks in either order; no recordings (recording is off).
        b1 = await engine.add_bookmark(v.NewBookmark(stream_id=sid, label="from python"))
        b2 = await engine.add_bookmark(v.NewBookmark(stream_id=sid, label="second"))
        assert b1.state == v.BookmarkState.PENDING and b1.label == "from python"
        oldest = await engine.bookmarks(v.ListQuery(stream_id=sid))
        newest = await engine.bookmarks(v.ListQuery(stream_id=sid, order=v.Order.NEWEST))
        assert [x.id for x in oldest] == [b1.id, b2.id]
        assert [x.id for x in newest] == [b2.id, b1.id]
        assert [x.id for x in await engine.bookmarks(
            v.ListQuery(stream_id=sid, order=v.Order.NEWEST, limit=1))] == [b2.id]
        assert await engine.recordings(v.ListQuery()) == []

        with pytest.raises(VasError.NotFound):
            await engine.device("00000000-0000-7000-8000-000000000000")
        with pytest.raises(VasError.InvalidInput, match="device id"):
            await engine.device("not-a-uuid")
        with pytest.raises(VasError.InvalidInput):
            await engine.subscribe_frames(sid, v.FrameOptions(max_width=0), Frames())
        with pytest.raises(VasError.Unsupported):
            await engine.webrtc_answer(sid, "v=0")

        # Closing the engine under a live subscription ends it with Closed.
        last = Frames()
        lsub = await engine.subscribe_frames(sid, v.FrameOptions(), last)
        await engine.shutdown()
        await wait_in_thread("on_end", lambda: last.ended is not None)
        assert isinstance(last.ended, VasError.Closed)
        assert not lsub.is_active()
        with pytest.raises(VasError.Closed):
            await engine.devices(v.Order.OLDEST)
        esub.cancel()

    asyncio.run(main())


def test_every_error_kind_is_a_class() -> None:
    kinds = ["InvalidInput", "NotFound", "AlreadyExists", "FailedPrecondition", "Unavailable",
             "Unauthenticated", "PermissionDenied", "ResourceExhausted", "TooLarge",
             "Unsupported", "Internal", "Timeout", "Closed", "Corrupt"]
    for k in kinds:
        assert issubclass(getattr(v.VasError, k), v.VasError)


def test_async_calls_do_not_block_the_loop(tmp_path: Path, camera: v.SyntheticCamera) -> None:
    async def main() -> None:
        engine = await v.Engine.open(v.EngineOptions(data_dir=str(tmp_path)))
        dev = await engine.add_device(v.NewDevice(name="py", rtsp_url=camera.url()))
        sid = dev.main_stream_id
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        t = asyncio.ensure_future(tick())
        await engine.start_stream(sid)
        deadline = time.monotonic() + DEADLINE
        while (await engine.stream(sid)).state != v.StreamState.LIVE:
            assert time.monotonic() < deadline, "the stream never went live"
            await asyncio.sleep(0.05)
        jpeg = await engine.snapshot(sid, v.SnapshotOptions())
        t.cancel()
        assert jpeg.width == 640 and dev.name == "py"
        await engine.shutdown()
        # The loop ran its other task all along (every call awaited, none blocked it).
        assert ticks > 10, ticks

    asyncio.run(main())
