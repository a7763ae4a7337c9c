"""The examples in examples/python/, run as a user would: the motion score on the synthetic
camera, and the web app's live view played by headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "python"
OFFER = ROOT / "vas" / "src" / "sfu" / "testdata" / "chromium-recvonly-offer.sdp"


def test_motion_score(tmp_path):
    out = subprocess.run([sys.executable, str(EXAMPLES / "motion.py"), "--seconds", "3"],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = re.findall(r"^t=(\d)s frames=(\d+) motion=([\d.]+) newest_age_ms=(-?\d+)$",
                       out.stdout, re.M)
    assert [int(t) for t, *_ in lines] == [1, 2, 3], out.stdout
    # The synthetic picture moves: every second has frames and a motion score above zero.
    assert all(int(n) > 0 and float(m) > 0 for _, n, m, _ in lines), out.stdout


def test_motion_reports_an_unreachable_camera(tmp_path):
    out = subprocess.run([sys.executable, str(EXAMPLES / "motion.py"), "rtsp://127.0.0.1:9/x",
                          "--seconds", "1", "--timeout", "2"], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path)
    assert out.returncode == 1
    assert "no frame" in out.stderr and "Traceback" not in out.stderr


@pytest.fixture
def webapp(tmp_path):
    p = subprocess.Popen([sys.executable, str(EXAMPLES / "webapp.py"), "--port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert p.stdout is not None
        line = p.stdout.readline()
        m = re.search(r"at (http://\S+/)$", line.strip())
        assert m, f"webapp printed {line!r}; stderr: {p.stderr.read() if p.poll() is not None else ''}"
        yield m.group(1)
    finally:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def test_webapp_answers_offers(webapp):
    import urllib.error
    import urllib.request

    page = urllib.request.urlopen(webapp, timeout=10).read().decode()
    assert "RTCPeerConnection" in page
    req = urllib.request.Request(webapp + "offer", data=OFFER.read_bytes(), method="POST",
                                 headers={"Content-Type": "application/sdp"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 201
        answer = r.read().decode()
    assert "m=video" in answer and "a=ice-lite" in answer and "a=candidate" in answer
    bad = urllib.request.Request(webapp + "offer", data=b"hello", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(bad, timeout=10)
    assert e.value.code == 400


def test_webapp_plays_in_chromium(webapp):
    node = shutil.which("node")
    assert node, "node is needed for the browser check (make test installs it)"
    out = subprocess.run([node, str(Path(__file__).parent / "browser" / "webapp.mjs"), webapp],
                         capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stdout + out.stderr
    assert '"ok":true' in out.stdout
