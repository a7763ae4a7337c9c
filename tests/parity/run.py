#!/usr/bin/env python3
"""The parity test's driver (see tests/parity/README.md).

    run.py shell NAME -- COMMAND...   one shell's scenario program, checked, kept
    run.py rest                       the scenario through vas-server's REST API
    run.py compare                    the shells' documents compared with one another

Each step checks a document against the engine's description (`vas-gen describe`): every
record carries every field of the description under its name, with a value of the field's
type; the shell offers every call (the REST API every call that has a route); and the
scenario's rules hold (the stream went live, two recordings listed newest first, the
snapshot and the bookmark listed, the events seen). A failure names the shell, the record or
call, and the field. The documents are kept, normalised, in target/parity/NAME.json for
`compare`, which fails unless all of SHELLS are there and agree on the fields and values that
do not depend on the run (names, states, sizes, orders, event kinds).

Uses only the standard library and the programs the workspace build made
(target/debug/vas-synth, vas-gen, vas-server). Whatever it starts is stopped when it ends,
also on failure.
"""
import datetime
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.path.join(ROOT, "target")
BIN = os.path.join(TARGET, "debug")
OUT = os.path.join(TARGET, "parity")
SHELLS = ("rust", "c", "python", "kotlin", "rest")
# Seconds a scenario program may take in all, and any one wait of the driver.
PROGRAM_DEADLINE = 240
DEADLINE = 30
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# The records of the scenario and the description's record each one is.
RECORDS = {
    "device": "Device",
    "streams": "Stream",
    "frame": "FrameInfo",
    "snapshot": "Snapshot",
    "snapshots": "Snapshot",
    "bookmark": "Bookmark",
    "recordings": "Recording",
}
LISTS = {"streams", "snapshots", "recordings"}


class Failure(Exception):
    """A parity failure: the message says which shell, record, call or field."""


def fail(msg):
    raise Failure(msg)


# ---------------------------------------------------------------------------------------------
# The description


def description():
    exe = os.path.join(BIN, "vas-gen")
    cmd = [exe, "describe"] if os.access(exe, os.X_OK) else [
        "cargo", "run", "--quiet", "--locked", "-p", "vas-gen", "--", "describe"]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    d = json.loads(out)
    return {
        "records": {r["name"]: r for r in d["records"]},
        "enums": {e["name"]: list(e["values"]) for e in d["enums"]},
        "events": {v["name"]: v for u in d["unions"] if u["name"] == "Event" for v in u["variants"]},
        "calls": d["calls"],
    }


def rest_route(call):
    """`("GET", "/api/v1/x/{id}")`, or None for a call the REST API does not offer."""
    rest = call["rest"]
    if rest.startswith("none"):
        return None
    method, path = rest.split(" ", 1)
    return method, path


# ---------------------------------------------------------------------------------------------
# Values: the JSON form (Rust's serde, the REST API) to the document's form, and checks


def micros(text, where):
    try:
        t = datetime.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        fail(f"{where}: {text!r} is not an RFC 3339 time")
    if t.tzinfo is None:
        fail(f"{where}: {text!r} has no time zone")
    delta = t - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_json(ty, v, desc, where):
    """A value of type `ty` in the JSON form, in the document's form."""
    kind = ty["kind"]
    if v is None:
        return None
    if kind == "option":
        return from_json(ty["of"], v, desc, where)
    if kind == "time":
        return micros(v, where)
    if kind == "record":
        return record_from_json(ty["name"], v, desc, where)
    if kind == "list":
        return [from_json(ty["of"], x, desc, f"{where}[{i}]") for i, x in enumerate(v)]
    return v


def record_from_json(name, obj, desc, where):
    if not isinstance(obj, dict):
        fail(f"{where}: not an object: {obj!r}")
    out = {}
    for f in desc["records"][name]["fields"]:
        if f["json"] not in obj:
            fail(f"{where}: the {name} record lacks the field {f['json']!r}")
        out[f["name"]] = from_json(f["type"], obj[f["json"]], desc, f"{where}.{f['json']}")
    return out


def event_from_json(obj, desc, where):
    kind = obj.get("kind")
    variant = desc["events"].get(kind)
    if variant is None:
        fail(f"{where}: unknown event kind {kind!r}")
    out = {"kind": kind}
    for f in variant["fields"]:
        if f["json"] not in obj:
            fail(f"{where}: the {kind} event lacks the field {f['json']!r}")
        out[f["name"]] = from_json(f["type"], obj[f["json"]], desc, f"{where}.{f['json']}")
    return out


def check_value(ty, v, desc, where):
    """`v` is a value of type `ty` in the document's form."""
    kind = ty["kind"]
    if kind == "option":
        if v is not None:
            check_value(ty["of"], v, desc, where)
        return
    if v is None:
        fail(f"{where}: null where a {kind} is required")
    if kind == "id":
        if not isinstance(v, str) or not UUID.match(v):
            fail(f"{where}: {v!r} is not an id's text form")
    elif kind == "time":
        # Microseconds since 1970: a plausible moment of this run (2020–2100).
        if not isinstance(v, int) or isinstance(v, bool) or not 1_577_836_800_000_000 < v < 4_102_444_800_000_000:
            fail(f"{where}: {v!r} is not a time in microseconds since 1970")
    elif kind == "enum":
        names = desc["enums"][ty["name"]]
        if v not in names:
            fail(f"{where}: {v!r} is not a {ty['name']} (one of {', '.join(names)})")
    elif kind == "bool":
        if not isinstance(v, bool):
            fail(f"{where}: {v!r} is not a bool")
    elif kind in ("u8", "u16", "u32", "u64", "i64", "viewer", "bytes"):
        if not isinstance(v, int) or isinstance(v, bool) or (kind != "i64" and v < 0):
            fail(f"{where}: {v!r} is not a {kind}")
    elif kind in ("f64", "duration"):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            fail(f"{where}: {v!r} is not a number")
    elif kind in ("string", "path"):
        if not isinstance(v, str):
            fail(f"{where}: {v!r} is not a string")
    elif kind == "record":
        check_record(ty["name"], v, desc, where, exact=True)
    elif kind == "list":
        if not isinstance(v, list):
            fail(f"{where}: {v!r} is not a list")
        for i, x in enumerate(v):
            check_value(ty["of"], x, desc, f"{where}[{i}]")
    else:
        fail(f"{where}: the driver does not know the type {kind!r}")


def check_record(name, obj, desc, where, exact):
    if not isinstance(obj, dict):
        fail(f"{where}: not an object: {obj!r}")
    fields = desc["records"][name]["fields"]
    for f in fields:
        if f["name"] not in obj:
            fail(f"{where}: lacks the field {name}.{f['name']}")
        check_value(f["type"], obj[f["name"]], desc, f"{where}.{f['name']}")
    extra = set(obj) - {f["name"] for f in fields}
    if exact and extra:
        fail(f"{where}: fields the description's {name} does not have: {sorted(extra)}")


def check_event(obj, desc, where):
    if not isinstance(obj, dict) or obj.get("kind") not in desc["events"]:
        fail(f"{where}: not an event with a known kind: {obj!r}")
    variant = desc["events"][obj["kind"]]
    for f in variant["fields"]:
        if f["name"] not in obj:
            fail(f"{where}: the {obj['kind']} event lacks the field {f['name']!r}")
        check_value(f["type"], obj[f["name"]], desc, f"{where}.{f['name']}")
    extra = set(obj) - {f["name"] for f in variant["fields"]} - {"kind"}
    if extra:
        fail(f"{where}: fields the {obj['kind']} event does not have: {sorted(extra)}")


# ---------------------------------------------------------------------------------------------
# A document: normalised, then checked against the description and the scenario's rules


def normalise(doc, desc, shell):
    """The document in its own form (JSON form for Rust and REST)."""
    if doc.get("form") != "json":
        return doc
    out = {k: v for k, v in doc.items() if k not in RECORDS and k != "events" and k != "form"}
    for key, name in RECORDS.items():
        if key not in doc:
            continue
        v = doc[key]
        if v is None:
            out[key] = None
        elif key in LISTS:
            out[key] = [record_from_json(name, x, desc, f"{shell}: {key}[{i}]") for i, x in enumerate(v)]
        else:
            out[key] = record_from_json(name, v, desc, f"{shell}: {key}")
    out["events"] = [event_from_json(e, desc, f"{shell}: events[{i}]") for i, e in enumerate(doc.get("events", []))]
    return out


def exempt_calls(shell, desc):
    """Calls a shell may lack: for REST, those the description says have no route."""
    if shell != "rest":
        return set()
    return {c["name"] for c in desc["calls"] if rest_route(c) is None}


def c_calls(desc):
    """The calls include/vas.h declares."""
    header = open(os.path.join(ROOT, "include", "vas.h"), encoding="utf-8").read()
    declared = set(re.findall(r"\bvas_([a-z0-9_]+)\s*\(", header))

    def offered(name):
        # A call whose name is also a handle type's (`vas_device`) is `vas_device_get`; a
        # subscription is `vas_<call>_subscribe` (and `_listen`).
        return any(n in declared for n in (name, name + "_get", name + "_subscribe"))

    return sorted(c["name"] for c in desc["calls"] if offered(c["name"]))


def check_document(shell, doc, desc, camera_url):
    if not isinstance(doc, dict):
        fail(f"{shell}: the document is not a JSON object")
    if doc.get("shell") != shell:
        fail(f"{shell}: the document says it is from {doc.get('shell')!r}")
    if shell == "c" and "calls" not in doc:
        doc["calls"] = c_calls(desc)
    doc = normalise(doc, desc, shell)
    for key in ("calls", "events", *RECORDS):
        if key not in doc:
            fail(f"{shell}: the document lacks {key!r}")

    # Every call.
    calls = doc["calls"]
    if not isinstance(calls, list) or not all(isinstance(c, str) for c in calls):
        fail(f"{shell}: calls is not a list of names")
    wanted = {c["name"] for c in desc["calls"]} - exempt_calls(shell, desc)
    missing = sorted(wanted - set(calls))
    if missing:
        fail(f"{shell}: the shell lacks the calls {', '.join(missing)}")

    # Every record, every field.
    exact = shell != "rest"  # the REST API adds links (image_url, clip_url, playlist_url)
    for key, name in RECORDS.items():
        v = doc[key]
        if shell == "rest" and key == "frame":
            if v is not None:
                fail("rest: the REST API has no decoded frames, yet the document has one")
            continue
        if key in LISTS:
            if not isinstance(v, list):
                fail(f"{shell}: {key} is not a list")
            for i, x in enumerate(v):
                check_record(name, x, desc, f"{shell}: {key}[{i}]", exact)
        else:
            check_record(name, v, desc, f"{shell}: {key}", exact)
    if shell != "rest":
        for i, e in enumerate(doc["events"]):
            check_event(e, desc, f"{shell}: events[{i}]")

    # The scenario's rules.
    dev = doc["device"]
    rules = [
        (dev["name"] == "parity", f"device.name is {dev['name']!r}"),
        (dev["rtsp_url"] == camera_url, f"device.rtsp_url is {dev['rtsp_url']!r}, not {camera_url!r}"),
        (dev["sub_stream_id"] is None and dev["sub_rtsp_url"] is None, "the device has a sub stream"),
        (dev["enabled"] is True and dev["has_credentials"] is False, "device.enabled/has_credentials"),
    ]
    stream_id = dev["main_stream_id"]
    streams = doc["streams"]
    rules.append((len(streams) == 1, f"{len(streams)} streams listed, expected the main one"))
    for s in streams:
        rules += [
            (s["id"] == stream_id and s["device_id"] == dev["id"], "the listed stream is not the device's main stream"),
            (s["profile"] == "main", f"stream profile {s['profile']!r}"),
            (s["state"] == "live", f"stream state {s['state']!r}, expected live"),
            (s["desired_state"] == "running" and s["record"] is True, "stream desired_state/record"),
            (s["recording"] is not None and s["recording"]["state"] == "recording", "the stream's recorder is not recording"),
        ]
    if shell != "rest":
        fr = doc["frame"]
        rules += [
            (fr["format"] == "bgr24", f"frame format {fr['format']!r}"),
            (fr["width"] == 320 and fr["height"] == 180, f"frame size {fr['width']}x{fr['height']}, expected 320x180"),
        ]
    snap, snaps = doc["snapshot"], doc["snapshots"]
    rules += [
        (snap["label"] == "parity" and snap["stream_id"] == stream_id, "snapshot label/stream"),
        (snap["width"] == 640 and snap["height"] == 360, f"snapshot size {snap['width']}x{snap['height']}"),
        (len(snaps) >= 1 and snaps[0]["id"] == snap["id"], "the saved snapshot is not first in the newest-first list"),
        (all(s["stream_id"] == stream_id for s in snaps), "a listed snapshot of another stream"),
        (all(a["taken_at"] >= b["taken_at"] for a, b in zip(snaps, snaps[1:])), "snapshots are not newest first"),
    ]
    bm = doc["bookmark"]
    rules += [
        (bm["label"] == "parity" and bm["stream_id"] == stream_id, "bookmark label/stream"),
        (bm["state"] in ("pending", "ready"), f"bookmark state {bm['state']!r}"),
        (abs(bm["before"] - 5) < 1e-6 and abs(bm["after"] - 5) < 1e-6, f"bookmark margins {bm['before']}/{bm['after']}, expected the 5 s defaults"),
    ]
    recs = doc["recordings"]
    rules += [
        (len(recs) >= 2, f"{len(recs)} recordings listed, expected 2"),
        (all(r["stream_id"] == stream_id for r in recs), "a listed recording of another stream"),
        # Newest first: by start, then by id (ids grow with time) for equal starts.
        (all((a["start"], a["id"]) > (b["start"], b["id"]) for a, b in zip(recs, recs[1:])),
         "recordings are not newest first: %s" % [(r["start"], r["id"]) for r in recs]),
        (len({r["id"] for r in recs}) == len(recs), "a recording listed twice"),
    ]
    if shell != "rest":
        ev = doc["events"]
        mine = [e for e in ev if e.get("stream_id") == stream_id]
        went_live = any(e["kind"] == "stream_state" and e["state"] == "live" for e in mine)
        recorder_ids = {e["recording_id"] for e in mine if e["kind"] == "recorder" and e["state"] == "recording" and e["recording_id"]}
        stopped = any(e["kind"] == "recorder" and e["state"] == "stopped" for e in mine)
        saved = any(e["kind"] == "snapshot_saved" and e["snapshot_id"] == snap["id"] for e in mine)
        marked = any(e["kind"] == "bookmark" and e["bookmark_id"] == bm["id"] for e in mine)
        rules += [
            (went_live, "no stream_state event with state live"),
            (len(recorder_ids) >= 2, f"recorder events named {len(recorder_ids)} recordings, expected 2"),
            (recorder_ids >= {r["id"] for r in recs[:2]}, "the listed recordings are not those the recorder events named"),
            (stopped, "no recorder event with state stopped"),
            (saved, "no snapshot_saved event for the snapshot"),
            (marked, "no bookmark event for the bookmark"),
        ]
    broken = [msg for ok, msg in rules if not ok]
    if broken:
        fail(f"{shell}: " + "; ".join(broken))
    return doc


# ---------------------------------------------------------------------------------------------
# Processes


class Processes:
    """Starts processes and stops every one of them on exit."""

    def __init__(self):
        self.procs = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            if p.stdin:
                p.stdin.close()  # a camera started with --until-stdin-closes stops at once
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def start(self, cmd, **kw):
        p = subprocess.Popen(cmd, **kw)
        self.procs.append(p)
        return p

    def camera(self):
        """A synthetic camera (pre-encoded loop: little CPU); its URL."""
        exe = os.path.join(BIN, "vas-synth")
        if not os.access(exe, os.X_OK):
            fail(f"no {exe}: build the workspace first (cargo build --workspace)")
        p = self.start([exe, "--bind", "127.0.0.1:0", "--loop", "2", "--until-stdin-closes"],
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([p.stdout], [], [], DEADLINE)
        line = p.stdout.readline().strip() if ready else ""
        if not line.startswith("rtsp://"):
            fail(f"the synthetic camera printed {line!r} instead of its URL")
        return line


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keep(shell, doc):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, shell + ".json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=True)


def run_shell(shell, cmd):
    if shell not in SHELLS or shell == "rest":
        fail(f"unknown shell {shell!r} (one of {', '.join(s for s in SHELLS if s != 'rest')})")
    desc = description()
    with Processes() as procs, tempfile.TemporaryDirectory(prefix="vas-parity-") as data:
        url = procs.camera()
        try:
            out = subprocess.run(cmd + ["--url", url, "--data", data], capture_output=True,
                                 text=True, timeout=PROGRAM_DEADLINE)
        except subprocess.TimeoutExpired as e:
            fail(f"{shell}: the program took more than {PROGRAM_DEADLINE} s; stderr: {e.stderr}")
        if out.returncode != 0:
            fail(f"{shell}: the program exited with {out.returncode}; stderr:\n{out.stderr[-4000:]}")
        try:
            doc = json.loads(out.stdout)
        except json.JSONDecodeError as e:
            fail(f"{shell}: the output is not one JSON document ({e}): {out.stdout[:400]!r}")
        doc = check_document(shell, doc, desc, url)
    keep(shell, doc)
    print(f"parity: {shell}: every call and field of the description, scenario as expected")


# ---------------------------------------------------------------------------------------------
# The REST API


class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, ok=(200, 201)):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=DEADLINE) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        if ok is None:
            return status, text
        if status not in ok:
            fail(f"rest: {method} {path}: {status} {text[:300]!r}")
        return json.loads(text) if text else None

    def until(self, what, path, test):
        end = time.monotonic() + DEADLINE
        while True:
            v = self.call("GET", path)
            if test(v):
                return v
            if time.monotonic() > end:
                fail(f"rest: {what} did not happen within {DEADLINE} s: {v}")
            time.sleep(0.1)


def rest_calls(api, desc):
    """The calls whose route the server has: a request with a well-formed unknown id gets the
    engine's answer (not found, or a refused body), never the router's 'no such endpoint'."""
    found = []
    for c in desc["calls"]:
        route = rest_route(c)
        if route is None:
            continue
        method, path = route
        path = re.sub(r"\{id\}", str(uuid.uuid4()), path).replace("{session}", "1")
        body = {} if method in ("POST", "PATCH") else None
        status, text = api.call(method, path, body, ok=None)
        routed = True
        try:
            err = json.loads(text or b"{}")
            if isinstance(err, dict) and err.get("error", {}).get("message") in (
                    "no such endpoint", "method not allowed on this endpoint"):
                routed = False
        except (json.JSONDecodeError, AttributeError):
            pass
        if status == 404 and not text:
            routed = False
        if routed:
            found.append(c["name"])
    return found


def run_rest():
    desc = description()
    exe = os.path.join(BIN, "vas-server")
    if not os.access(exe, os.X_OK):
        fail(f"no {exe}: build the workspace first (cargo build --workspace)")
    with Processes() as procs, tempfile.TemporaryDirectory(prefix="vas-parity-rest-") as data:
        url = procs.camera()
        port = free_port()
        log = open(os.path.join(data, "server.log"), "w+", encoding="utf-8")
        server = procs.start([exe, "--data-dir", data, "--listen", f"127.0.0.1:{port}",
                              "--webrtc-port", str(free_port()), "--signaling-port", str(free_port())],
                             stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "RUST_LOG": "warn"})
        api = Api(f"http://127.0.0.1:{port}")
        end = time.monotonic() + DEADLINE
        while True:
            if server.poll() is not None:
                log.seek(0)
                fail(f"rest: vas-server exited with {server.returncode}: {log.read()[-2000:]}")
            try:
                if api.call("GET", "/readyz", ok=None)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > end:
                fail("rest: vas-server did not answer /readyz")
            time.sleep(0.1)

        device = api.call("POST", "/api/v1/devices", {"name": "parity", "rtsp_url": url})
        sid = device["main_stream_id"]
        spath = f"/api/v1/streams/{sid}"
        api.call("POST", spath + "/start")
        api.until("the stream going live", spath, lambda s: s["state"] == "live")
        api.call("PATCH", spath, {"record": True})

        def recording_id(s):
            r = s.get("recording") or {}
            return r.get("recording_id") if r.get("state") == "recording" else None

        first = recording_id(api.until("recording", spath, recording_id))
        api.call("PATCH", spath, {"record": False})
        api.until("the recorder stopping", spath,
                  lambda s: (s.get("recording") or {"state": "stopped"})["state"] == "stopped")
        api.call("PATCH", spath, {"record": True})
        api.until("a second recording", spath, lambda s: recording_id(s) not in (None, first))
        snapshot = api.call("POST", spath + "/snapshots", {"label": "parity"})
        snapshots = api.call("GET", f"/api/v1/snapshots?stream_id={sid}&order=newest")
        bookmark = api.call("POST", "/api/v1/bookmarks", {"stream_id": sid, "label": "parity"})
        streams = api.call("GET", f"/api/v1/streams?device_id={device['id']}&order=oldest")
        recordings = api.call("GET", f"/api/v1/recordings?stream_id={sid}&order=newest")
        calls = rest_calls(api, desc)
        # The server closes its engine on SIGTERM (recordings finished); it must exit cleanly.
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            fail("rest: vas-server did not stop within the deadline after SIGTERM")
        if code != 0:
            log.seek(0)
            fail(f"rest: vas-server exited with {code} on SIGTERM: {log.read()[-2000:]}")
        doc = {
            "shell": "rest", "form": "json", "calls": calls, "device": device, "streams": streams,
            "frame": None, "snapshot": snapshot, "snapshots": snapshots, "bookmark": bookmark,
            "recordings": recordings, "events": [],
        }
        doc = check_document("rest", doc, desc, url)
    keep("rest", doc)
    print("parity: rest: every routed call and every field of the description, scenario as expected")


# ---------------------------------------------------------------------------------------------
# Comparing the shells


def comparable(doc):
    """What must be the same in every shell: what does not depend on the run."""
    dev = doc["device"]
    out = {
        "calls": sorted(doc["calls"]),
        # (Each run has its own camera: the URL is checked against it per document.)
        "device": {k: dev[k] for k in ("name", "sub_rtsp_url", "has_credentials", "rtsp_transport", "enabled")},
        "streams": [{k: s[k] for k in ("profile", "state", "desired_state", "record", "viewers")} for s in doc["streams"]],
        "snapshot": {k: doc["snapshot"][k] for k in ("label", "width", "height")},
        "bookmark": {k: doc["bookmark"][k] for k in ("label", "before", "after")},
        "recordings": "newest first, %s" % ("two or more" if len(doc["recordings"]) >= 2 else len(doc["recordings"])),
    }
    if doc["shell"] != "rest":
        out["frame"] = {k: doc["frame"][k] for k in ("width", "height", "format")}
        out["event kinds"] = sorted({(e["kind"], e.get("state")) for e in doc["events"]
                                     if e["kind"] in ("stream_state", "recorder", "snapshot_saved", "bookmark")
                                     and e.get("state") in (None, "live", "recording", "stopped", "pending")}, key=str)
    return out


def compare():
    desc = description()
    docs = {}
    for shell in SHELLS:
        path = os.path.join(OUT, shell + ".json")
        if not os.path.exists(path):
            fail(f"compare: no document from {shell} ({path}); every shell's step must run first")
        docs[shell] = json.load(open(path, encoding="utf-8"))
    routed = {c["name"] for c in desc["calls"]} - exempt_calls("rest", desc)
    views = {s: comparable(d) for s, d in docs.items()}
    views["rest"]["calls"] = sorted(set(views["rest"]["calls"]) | (set(views["rust"]["calls"]) - routed))
    ref = views["rust"]
    diffs = []
    for shell, v in views.items():
        for key, want in ref.items():
            if shell == "rest" and key in ("frame", "event kinds"):
                continue
            if v.get(key) != want:
                diffs.append(f"{shell} differs from rust in {key}: {v.get(key)} != {want}")
    if diffs:
        fail("compare:\n  " + "\n  ".join(diffs))
    print("parity: %s agree on %d calls, the fields of %d records, and the scenario's values and orders"
          % (", ".join(SHELLS), len(ref["calls"]), len(set(RECORDS.values()))))


def main(argv):
    try:
        if len(argv) >= 4 and argv[1] == "shell" and argv[3] == "--" and len(argv) > 4:
            run_shell(argv[2], argv[4:])
        elif argv[1:] == ["rest"]:
            run_rest()
        elif argv[1:] == ["compare"]:
            compare()
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Failure as e:
        print(f"parity: FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
