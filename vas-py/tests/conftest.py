"""Fixtures of the suite: the synthetic camera, engines over SQLite and PostgreSQL.

Runs against the package installed by pip (scripts/python.sh builds and installs it into a
fresh virtualenv). PostgreSQL comes from VAS_TEST_POSTGRES_URL (make test starts one);
without it the PostgreSQL half fails, or with VAS_SKIP_POSTGRES=1 is skipped, never under
CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from typing import Callable, Iterator, Optional

import pytest

import vas

IN_CI = os.environ.get("CI", "") in ("true", "1")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ARG001
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true: {report.longrepr}"


def wait_for(what: str, check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Polls `check` until it holds; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def camera() -> Iterator[vas.SyntheticCamera]:
    """One synthetic camera for the session: 640x360 at 30 fps, a pre-encoded 2-second loop
    (cheap: it never competes with the engine for a core)."""
    with vas.SyntheticCamera(640, 360, 30, loop_seconds=2) as cam:
        yield cam


def _postgres_admin_url() -> Optional[str]:
    url = os.environ.get("VAS_TEST_POSTGRES_URL", "")
    if url:
        return url
    if os.environ.get("VAS_SKIP_POSTGRES") == "1" and not IN_CI:
        return None
    pytest.fail(
        "VAS_TEST_POSTGRES_URL is not set: run `make test` (which starts a throwaway "
        "PostgreSQL), or set VAS_SKIP_POSTGRES=1 to skip the PostgreSQL half outside CI"
    )
    return None


def _psql(admin_url: str, sql: str) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.fail("psql is needed to create test databases (Debian's postgresql-client)")
    subprocess.run([psql, admin_url, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True,
                   capture_output=True, timeout=60)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path) -> Iterator[Optional[str]]:
    """The database URL of a fresh engine: None (SQLite in the data folder) or a new
    PostgreSQL database, dropped afterwards."""
    if request.param == "sqlite":
        yield None
        return
    admin = _postgres_admin_url()
    if admin is None:
        pytest.skip("VAS_SKIP_POSTGRES=1")
    name = "vas_py_" + uuid.uuid4().hex
    _psql(admin, f"CREATE DATABASE {name}")
    base, _, _ = admin.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        _psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def engine(tmp_path, database) -> Iterator[vas.Vas]:
    """A fresh engine over SQLite and over PostgreSQL, closed afterwards."""
    with vas.Vas(data_dir=tmp_path / "data", database_url=database) as v:
        yield v


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[vas.Vas]:
    """A fresh engine over SQLite only (for tests about frames, not the database)."""
    with vas.Vas(data_dir=tmp_path / "data") as v:
        yield v


@pytest.fixture
def live(sqlite_engine, camera):
    """(engine, stream id) with the synthetic camera added and its main stream live."""
    cam = sqlite_engine.add_device("synthetic", camera.url)
    sid = cam.main_stream_id
    sqlite_engine.start_stream(sid)
    wait_for("the stream to be live", lambda: sqlite_engine.stream(sid).state == "live")
    return sqlite_engine, sid
