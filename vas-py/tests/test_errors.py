"""One exception class per error kind, what bad arguments raise (every name table included),
and what a build without the synthetic camera answers."""

from __future__ import annotations

import ast
import inspect
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import vas

KINDS = {
    "invalid_input": vas.InvalidInput,
    "not_found": vas.NotFound,
    "already_exists": vas.AlreadyExists,
    "failed_precondition": vas.FailedPrecondition,
    "unavailable": vas.Unavailable,
    "unauthenticated": vas.Unauthenticated,
    "permission_denied": vas.PermissionDenied,
    "resource_exhausted": vas.ResourceExhausted,
    "too_large": vas.TooLarge,
    "unsupported": vas.Unsupported,
    "internal": vas.Internal,
    "timeout": vas.Timeout,
    "closed": vas.Closed,
    "corrupt": vas.Corrupt,
}

UNKNOWN = "00000000-0000-7000-8000-000000000000"


def test_every_kind_has_its_own_class():
    # ERROR_KINDS comes from the engine's table: a kind added there shows up here.
    assert {kind for kind, _ in vas.ERROR_KINDS} == set(KINDS)
    for kind, name in vas.ERROR_KINDS:
        cls = getattr(vas, name)
        assert cls is KINDS[kind]
        assert issubclass(cls, vas.Error) and cls is not vas.Error
        assert cls.kind == kind
        assert cls.__doc__
    assert len({cls for cls in KINDS.values()}) == len(KINDS)
    assert issubclass(vas.Error, Exception)


def test_wrong_argument_types_name_the_argument(sqlite_engine):
    with pytest.raises(TypeError, match="id"):
        sqlite_engine.device(12)
    with pytest.raises(TypeError, match="rtsp_url"):
        sqlite_engine.add_device("a", None)
    with pytest.raises(TypeError, match="max_width"):
        sqlite_engine.frames(UNKNOWN, max_width="640")
    with pytest.raises(TypeError, match="at"):
        sqlite_engine.add_bookmark(UNKNOWN, at="yesterday")
    with pytest.raises(TypeError):
        vas.Vas(data_dir=3.5)
    with pytest.raises(TypeError):
        vas.Vas("positional-data-dir")  # every option is a keyword


def test_bad_values_raise_invalid_input(sqlite_engine, camera):
    with pytest.raises(vas.InvalidInput, match="not a UUID"):
        sqlite_engine.device("front-door")
    with pytest.raises(vas.InvalidInput):
        sqlite_engine.add_device("", camera.url)
    with pytest.raises(vas.InvalidInput):
        sqlite_engine.add_device("x", "http://example.com/")
    with pytest.raises(vas.InvalidInput, match="carrier-pigeon"):
        sqlite_engine.add_device("x", camera.url, rtsp_transport="carrier-pigeon")
    sid = sqlite_engine.add_device("x", camera.url).main_stream_id
    with pytest.raises(vas.InvalidInput, match="pixel format"):
        sqlite_engine.frames(sid, format="yuv444p")
    with pytest.raises(vas.InvalidInput, match="strategy"):
        sqlite_engine.frames(sid, strategy="oldest")
    with pytest.raises(vas.InvalidInput):
        sqlite_engine.frames(sid, strategy="queue", max_queue=100_000)
    with pytest.raises(vas.InvalidInput):
        sqlite_engine.frames(sid, max_fps=-1)
    with pytest.raises(vas.InvalidInput):
        sqlite_engine.frames(sid, max_width=0)
    with pytest.raises(vas.InvalidInput):
        sqlite_engine.events(timeout=-1)
    with pytest.raises(vas.InvalidInput):
        sqlite_engine.recordings(limit=0)


# --- Every name table a call takes, read from the shipped stubs ---------------------------

STUBS = Path(vas.__file__).with_name("_vas.pyi")


def _literal_values(node: ast.expr) -> List[str]:
    """The values of `Literal["a", "b"]`, also inside `Optional[...]`; [] for other types."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        if node.value.id == "Literal":
            elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return [e.value for e in elts if isinstance(e, ast.Constant)]
        if node.value.id == "Optional":
            return _literal_values(node.slice)
    return []


def _name_table_arguments() -> List[Tuple[str, str, Tuple[str, ...]]]:
    """(method, argument, allowed names) for every argument of `Vas` typed by a name table."""
    tree = ast.parse(STUBS.read_text())
    (engine,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Vas"]
    found = []
    for f in engine.body:
        if not isinstance(f, ast.FunctionDef):
            continue
        a = f.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs:
            values = _literal_values(arg.annotation) if arg.annotation else []
            if values:
                found.append((f.name, arg.arg, tuple(values)))
    return found


NAME_TABLE_ARGUMENTS = _name_table_arguments()


def test_the_stubs_name_every_table_a_call_takes():
    # The parametrised test below reads its cases from the stubs; an empty or partial read
    # would make it pass without checking anything.
    tables = {values for _, _, values in NAME_TABLE_ARGUMENTS}
    assert ("tcp", "udp") in tables
    assert ("oldest", "newest") in tables
    assert ("i420", "nv12", "rgb24", "bgr24", "gray") in tables
    assert ("latest", "queue") in tables
    calls = {(m, a) for m, a, _ in NAME_TABLE_ARGUMENTS}
    assert {("add_device", "rtsp_transport"), ("update_device", "rtsp_transport"),
            ("devices", "order"), ("streams", "order"), ("recordings", "order"),
            ("saved_snapshots", "order"), ("bookmarks", "order"), ("frames", "format"),
            ("frames", "strategy")} <= calls


# Values for the required arguments of the calls above (ids need not exist: a name is
# checked before the engine is asked).
REQUIRED: Dict[str, Any] = {"id": UNKNOWN, "name": "bad-table", "rtsp_url": "rtsp://127.0.0.1/x"}


@pytest.mark.parametrize(
    "method, argument, allowed", NAME_TABLE_ARGUMENTS,
    ids=[f"{m}-{a}" for m, a, _ in NAME_TABLE_ARGUMENTS])
def test_a_bad_name_is_invalid_input_naming_it_and_the_allowed_ones(
        sqlite_engine, method, argument, allowed):
    call = getattr(sqlite_engine, method)
    kwargs = {}
    for p in inspect.signature(call).parameters.values():
        if p.default is inspect.Parameter.empty and p.kind is not p.VAR_POSITIONAL:
            assert p.name in REQUIRED, f"{method}: no test value for its argument {p.name}"
            kwargs[p.name] = REQUIRED[p.name]
    bad = "no-such-" + argument
    with pytest.raises(vas.InvalidInput) as e:
        call(**kwargs, **{argument: bad})
    message = str(e.value)
    assert bad in message, message
    for name in allowed:
        assert name in message, f"{message!r} does not name {name!r}"
    # And a good name of the same table passes that check (the call may fail later, for
    # the unknown id, but not about the name).
    try:
        result = call(**kwargs, **{argument: allowed[-1]})
    except vas.NotFound:
        pass
    else:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def test_unknown_ids_raise_not_found(sqlite_engine):
    for call in (sqlite_engine.device, sqlite_engine.stream, sqlite_engine.start_stream,
                 sqlite_engine.remove_device, sqlite_engine.bookmark,
                 sqlite_engine.delete_snapshot, sqlite_engine.frames,
                 sqlite_engine.encoded_frames, sqlite_engine.saved_snapshot,
                 sqlite_engine.recording):
        with pytest.raises(vas.NotFound):
            call(UNKNOWN)


def test_a_disabled_camera_cannot_start(sqlite_engine, camera):
    cam = sqlite_engine.add_device("x", camera.url, enabled=False)
    assert cam.enabled is False
    with pytest.raises(vas.FailedPrecondition):
        sqlite_engine.start_stream(cam.main_stream_id)


# --- A build without the demo feature -----------------------------------------------------

NODEMO = os.environ.get("VAS_PY_NODEMO_LIB", "")

PROBE = textwrap.dedent(
    """
    import sys, vas
    assert vas.__file__.startswith(sys.argv[1]), vas.__file__
    try:
        vas.SyntheticCamera()
    except vas.Unsupported as e:
        print("UNSUPPORTED", e.kind, e)
    """
)


@pytest.mark.skipif(not NODEMO and os.environ.get("VAS_SKIP_NODEMO") == "1",
                    reason="VAS_SKIP_NODEMO=1")
def test_without_the_demo_feature_the_synthetic_camera_is_unsupported(tmp_path):
    assert NODEMO, (
        "VAS_PY_NODEMO_LIB names the extension built without the demo feature "
        "(scripts/python.sh builds it: cargo build -p vas-py); VAS_SKIP_NODEMO=1 skips this")
    # The installed package's Python half with that extension: a wheel without `demo`.
    package = tmp_path / "vas"
    shutil.copytree(Path(vas.__file__).parent, package,
                    ignore=shutil.ignore_patterns("_vas.*.so", "_vas.*.pyd", "__pycache__"))
    shutil.copy(NODEMO, package / "_vas.abi3.so")
    out = subprocess.run([sys.executable, "-c", PROBE, str(package)], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("UNSUPPORTED unsupported "), out.stdout
    assert "demo feature" in out.stdout, out.stdout
