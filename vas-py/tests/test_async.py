"""The asyncio forms: a-prefixed coroutines, `async with`, `async for`, cancellation."""

from __future__ import annotations

import asyncio
import time

import pytest

import vas


def run(coro):
    return asyncio.run(coro)


def test_async_api(tmp_path, camera):
    async def main():
        async with await vas.Vas.aopen(data_dir=tmp_path) as v:
            cam = await v.aadd_device("synth", camera.url)
            assert [c.id for c in await v.adevices()] == [cam.id]
            streams = await v.astreams(cam.id, order="newest")
            sid = streams[0].id
            assert sid == cam.main_stream_id
            await v.astart_stream(sid)
            n = 0
            async for f in v.frames(sid, format="gray", timeout=20):
                assert f.array.shape == (360, 640)
                n += 1
                if n == 3:
                    break
            frames = v.frames(sid, timeout=20)
            f = await frames.aread()
            assert f.width == 640
            image = await v.asnapshot(sid, width=160)
            assert image.jpeg[:2] == b"\xff\xd8" and image.width == 160
            with pytest.raises(vas.NotFound):
                await v.adevice("00000000-0000-7000-8000-000000000000")
            with pytest.raises(vas.InvalidInput, match="newest"):
                await v.arecordings(order="latest")
            await v.astop_stream(sid)
            frames.close()
        with pytest.raises(vas.Closed):
            await v.adevices()

    run(main())


def test_async_iteration_ends_on_close_and_times_out(tmp_path, camera):
    async def main():
        v = await vas.Vas.aopen(data_dir=tmp_path)
        sid = (await v.aadd_device("synth", camera.url)).main_stream_id
        idle = v.frames(sid, timeout=0.5)  # never started
        t0 = time.monotonic()
        with pytest.raises(vas.Timeout):
            await idle.__anext__()
        assert time.monotonic() - t0 < 2
        idle.close()
        assert [f async for f in idle] == []

        events = await v.aevents()
        await v.astart_stream(sid)
        seen = []
        async for e in events:
            seen.append(e)
            if isinstance(e, vas.StreamStateEvent) and e.state == "live":
                break
        assert seen[-1].stream_id == sid
        events.close()
        await v.aclose()

    run(main())


def test_cancelling_an_async_wait_is_prompt(tmp_path, camera):
    async def main():
        async with await vas.Vas.aopen(data_dir=tmp_path) as v:
            sid = (await v.aadd_device("synth", camera.url)).main_stream_id
            frames = await v.aframes(sid)  # never started: waits for ever
            task = asyncio.ensure_future(frames.__anext__())
            await asyncio.sleep(0.3)
            # The loop stays responsive while the read waits in a worker thread.
            ticks = 0
            t0 = time.monotonic()
            while time.monotonic() - t0 < 0.3:
                await asyncio.sleep(0.01)
                ticks += 1
            assert ticks > 10
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            t1 = time.monotonic()
            frames.close()  # the worker's slice ends within its 0.25 s
            assert time.monotonic() - t1 < 1.0

    run(main())
