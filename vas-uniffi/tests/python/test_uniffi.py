"""uniffi's generated Python bindings (vas-ffi/bindings/python) against libvas_uniffi: the
engine, events and frames through callbacks, errors, and the async functions under asyncio.

Run by scripts/uniffi.sh with VAS_UNIFFI_DIR pointing at a folder holding vas_uniffi.py and
libvas_uniffi.so side by side.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest

sys.path.insert(0, os.environ["VAS_UNIFFI_DIR"])
import vas_uniffi as v  # noqa: E402


def wait_for(what, check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def camera():
    cam = v.SyntheticCamera(640, 360, 30)
    yield cam
    cam.stop()


class Events(v.EventListener):
    def __init__(self):
        self.seen = []

    def on_event(self, event):
        self.seen.append(event)


class Frames(v.FrameListener):
    def __init__(self, fail_every=0):
        self.frames = []
        self.ended = None
        self.fail_every = fail_every

    def on_frame(self, frame):
        self.frames.append(frame)
        if self.fail_every and len(self.frames) % self.fail_every == 0:
            raise RuntimeError("a bug in the app's callback")

    def on_end(self, error):
        self.ended = error


def test_engine_callbacks_and_errors(tmp_path, camera):
    async def main():
        engine = await v.open_engine(v.EngineConfig(data_dir=str(tmp_path)))
        cam = await engine.add_camera(v.NewCamera(name="py", rtsp_url=camera.url(),
                                                  username="u", password="secret"))
        assert cam.has_credentials and "secret" not in cam.rtsp_url
        stream = [s for s in await engine.streams() if s.camera_id == cam.id][0]

        events = Events()
        esub = engine.subscribe_events(events)
        await engine.start_stream(stream.id)
        await asyncio.get_running_loop().run_in_executor(None, wait_for, "live", lambda: any(
            e.kind == v.EventKind.STREAM_STATE and e.state == "live" for e in events.seen))

        frames = Frames(fail_every=4)
        fsub = await engine.subscribe_frames(stream.id, v.PixelFormat.GRAY8, 320, 320, frames)
        await asyncio.get_running_loop().run_in_executor(
            None, wait_for, "12 frames", lambda: len(frames.frames) >= 12)
        f = frames.frames[-1]
        assert (f.width, f.height, len(f.data)) == (320, 180, 320 * 180)
        assert fsub.failures() >= 3 and fsub.is_active()  # the raising callback is contained
        assert "bug in the app" in (fsub.last_failure() or "")
        fsub.cancel()
        assert not fsub.is_active()

        # Cancelling from inside the callback.
        holder = {}
        calls = []

        class Canceller(v.FrameListener):
            def on_frame(self, frame):
                calls.append(frame.seq)
                while "sub" not in holder:
                    time.sleep(0.001)
                holder["sub"].cancel()

            def on_end(self, error):
                pass

        holder["sub"] = await engine.subscribe_frames(stream.id, v.PixelFormat.I420, None, None,
                                                      Canceller())
        await asyncio.sleep(0.5)
        assert len(calls) == 1 and not holder["sub"].is_active()

        jpeg = await engine.snapshot(stream.id, 160)
        assert jpeg.jpeg[:2] == b"\xff\xd8" and jpeg.width == 160
        b = await engine.add_bookmark(stream.id, "from python")
        assert b.state == "pending" and [x.id for x in await engine.bookmarks(stream.id)] == [b.id]
        assert await engine.recordings(None) == []

        with pytest.raises(v.VasError.NotFound):
            await engine.camera("00000000-0000-7000-8000-000000000000")
        with pytest.raises(v.VasError.InvalidInput):
            await engine.camera("not-a-uuid")
        with pytest.raises(v.VasError.Unsupported):
            await engine.webrtc_answer(stream.id, "v=0")

        # Closing the engine under a live subscription ends it with Closed.
        last = Frames()
        lsub = await engine.subscribe_frames(stream.id, v.PixelFormat.BGR24, None, None, last)
        await engine.shutdown()
        await asyncio.get_running_loop().run_in_executor(
            None, wait_for, "on_end", lambda: last.ended is not None)
        assert isinstance(last.ended, v.VasError.Closed)
        assert not lsub.is_active()
        with pytest.raises(v.VasError.Closed):
            await engine.cameras()
        esub.cancel()

    asyncio.run(main())


def test_every_error_kind_is_a_class():
    kinds = ["InvalidInput", "NotFound", "AlreadyExists", "FailedPrecondition", "Unavailable",
             "Unauthenticated", "PermissionDenied", "ResourceExhausted", "TooLarge",
             "Unsupported", "Internal", "Timeout", "Closed", "Corrupt"]
    for k in kinds:
        assert issubclass(getattr(v.VasError, k), v.VasError)


def test_async_calls_do_not_block_the_loop(tmp_path, camera):
    async def main():
        engine = await v.open_engine(v.EngineConfig(data_dir=str(tmp_path)))
        cam = await engine.add_camera(v.NewCamera(name="py", rtsp_url=camera.url()))
        sid = (await engine.streams())[0].id
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        t = asyncio.ensure_future(tick())
        await engine.start_stream(sid)
        deadline = time.monotonic() + 20
        while (await engine.streams())[0].state != "live":
            assert time.monotonic() < deadline, "the stream never went live"
            await asyncio.sleep(0.05)
        jpeg = await engine.snapshot(sid, None)
        t.cancel()
        assert jpeg.width == 640 and cam.name == "py"
        await engine.shutdown()
        # The loop ran its other task all along (every call awaited, none blocked it).
        assert ticks > 10, ticks

    asyncio.run(main())
