"""Ctrl-C during a blocking read or iteration, and fork() after creating an engine."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import IO, Optional

import pytest

import vas

WAITER = textwrap.dedent(
    """
    import sys, tempfile, threading, time, traceback, vas
    mode = sys.argv[1]
    main = threading.get_ident()
    WAIT_LINES = {n for n, l in enumerate(open(__file__), 1) if l.rstrip().endswith("# WAIT")}


    def where():
        frame = sys._current_frames().get(main)
        return None if frame is None else (frame.f_lineno, frame.f_lasti)


    def announce():
        # Says WAITING once the main thread sits in the wait: its frame on a `# WAIT` line,
        # at the same instruction twice 50 ms apart (inside the native call, which releases
        # the GIL for this thread to look; no line of Python takes that long).
        while True:
            seen = where()
            time.sleep(0.05)
            if seen is not None and seen[0] in WAIT_LINES and where() == seen:
                print("WAITING", flush=True)
                return


    with vas.SyntheticCamera(320, 180, 30, loop_seconds=1) as cam, \\
            vas.Vas(data_dir=tempfile.mkdtemp()) as v:
        sid = v.add_device("synth", cam.url).main_stream_id
        frames = v.frames(sid)  # never started: no frame will ever come
        events = v.events()
        threading.Thread(target=announce, daemon=True).start()
        try:
            if mode == "read":
                frames.read()  # WAIT
            elif mode == "iterate":
                for f in frames:  # WAIT
                    pass
            else:
                for e in events:  # WAIT
                    pass
        except KeyboardInterrupt as e:
            origin = traceback.extract_tb(e.__traceback__)[-1]
            print("INTERRUPTED", origin.lineno in WAIT_LINES, flush=True)
            code = 42
        else:
            code = 1
    print("CLOSED", flush=True)
    sys.exit(code)
    """
)

# How long the child may take to start (an engine, a camera) and to close, on a loaded
# machine: deadlines, not expectations.
START_DEADLINE = 120.0
EXIT_DEADLINE = 60.0
# How soon Ctrl-C must reach the waiting call (it checks for signals every 100 ms).
INTERRUPT_LIMIT = 3.0


def _lines(stream: IO[str]) -> "queue.Queue[Optional[str]]":
    """The lines of `stream`, read by a thread into a queue (None at the end), so that the
    child never blocks on a full pipe."""
    q: "queue.Queue[Optional[str]]" = queue.Queue()

    def pump() -> None:
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return q


def _rest(q: "queue.Queue[Optional[str]]") -> str:
    """What a finished stream's queue holds."""
    out = []
    while True:
        try:
            line = q.get(timeout=5)
        except queue.Empty:
            break
        if line is None:
            break
        out.append(line)
    return "\n".join(out)


def _next_line(q: "queue.Queue[Optional[str]]", deadline: float, what: str) -> str:
    try:
        line = q.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        pytest.fail(f"the waiter printed no {what} line in time")
    assert line is not None, f"the waiter ended before its {what} line"
    return line


@pytest.mark.parametrize("mode", ["read", "iterate", "events"])
def test_ctrl_c_interrupts_a_blocking_wait(tmp_path, mode):
    script = tmp_path / "waiter.py"
    script.write_text(WAITER)
    p = subprocess.Popen([sys.executable, str(script), mode], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None and p.stderr is not None
        lines = _lines(p.stdout)
        errors = _lines(p.stderr)
        started = time.monotonic()
        assert _next_line(lines, started + START_DEADLINE, "WAITING") == "WAITING"
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        interrupted = _next_line(lines, sent + EXIT_DEADLINE, "INTERRUPTED")
        took = time.monotonic() - sent
        assert _next_line(lines, sent + EXIT_DEADLINE, "CLOSED") == "CLOSED"
        code = p.wait(timeout=max(0.0, sent + EXIT_DEADLINE - time.monotonic()))
        err = _rest(errors)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert code == 42, (code, err)
    # The KeyboardInterrupt came out of the waiting call itself, promptly.
    assert interrupted == "INTERRUPTED True", (interrupted, err)
    assert took < INTERRUPT_LIMIT, f"Ctrl-C took {took:.2f} s to interrupt the wait"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_fork_child_cannot_use_the_parents_engine(tmp_path, camera):
    v = vas.Vas(data_dir=tmp_path)
    cam = v.add_device("synth", camera.url)
    sid = cam.main_stream_id
    frames = v.frames(sid)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(r)
        code = 1
        try:
            try:
                v.devices()
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
                if mine.devices() != []:
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
    assert [c.id for c in v.devices()] == [cam.id]
    frames.close()
    v.close()
