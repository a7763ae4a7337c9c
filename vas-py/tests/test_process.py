"""Ctrl-C during a blocking read or iteration, and fork() after creating an engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import vas

WAITER = textwrap.dedent(
    """
    import sys, tempfile, vas
    mode = sys.argv[1]
    with vas.SyntheticCamera(320, 180, 30, loop_seconds=1) as cam, \\
            vas.Vas(data_dir=tempfile.mkdtemp()) as v:
        c = v.add_camera("synth", cam.url)
        sid = v.streams(c.id)[0].id
        frames = v.frames(sid)  # never started: no frame will ever come
        events = v.events()
        print("WAITING", flush=True)
        try:
            if mode == "read":
                frames.read()
            elif mode == "iterate":
                for f in frames:
                    pass
            else:
                for e in events:
                    pass
        except KeyboardInterrupt:
            print("INTERRUPTED", flush=True)
            sys.exit(42)
    """
)


@pytest.mark.parametrize("mode", ["read", "iterate", "events"])
def test_ctrl_c_interrupts_a_blocking_wait(tmp_path, mode):
    script = tmp_path / "waiter.py"
    script.write_text(WAITER)
    p = subprocess.Popen([sys.executable, str(script), mode], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "WAITING"
        time.sleep(0.5)
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 42, (p.returncode, out, err)
    assert "INTERRUPTED" in out
    assert elapsed < 3.0, f"Ctrl-C took {elapsed:.2f} s (including the engine's close)"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_fork_child_cannot_use_the_parents_engine(tmp_path, camera):
    v = vas.Vas(data_dir=tmp_path)
    cam = v.add_camera("synth", camera.url)
    sid = v.streams(cam.id)[0].id
    frames = v.frames(sid)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(r)
        code = 1
        try:
            try:
                v.cameras()
            except vas.Closed as e:
                if "fork" in str(e):
                    try:
                        frames.read(timeout=0.1)
                    except vas.Closed:
                        code = 0
            # Dropping the parent's engine here must not hang (its threads are not here).
            del v, frames
            import gc

            gc.collect()
            # A new engine of its own works.
            with vas.Vas(data_dir=tmp_path / "child") as mine:
                if mine.cameras() != []:
                    code = 3
        except BaseException:  # noqa: BLE001
            code = 2
        os.write(w, bytes([code]))
        os._exit(0)
    os.close(w)
    deadline = time.monotonic() + 30
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the fork() child hung")
    code = os.read(r, 1)
    os.close(r)
    assert code == b"\x00", f"child reported {code!r}"
    # The parent's engine is untouched.
    assert [c.id for c in v.cameras()] == [cam.id]
    frames.close()
    v.close()
