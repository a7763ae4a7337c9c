// VAS dashboard: live streams over WebRTC, camera management, recordings with hls.js,
// snapshots and bookmarked clips. Plain modern JavaScript, no build step; served from the
// vas-server binary. Text from users or cameras (names, labels, errors) only ever goes into
// the page as text nodes or attributes, never as HTML.
"use strict";

const REFRESH_MS = 2000;
// A pending bookmark is asked about this often...
const BOOKMARK_POLL_MS = 1000;
// ...until this long after its clip's end (at + after_s), then the page stops asking.
const BOOKMARK_POLL_SLACK_MS = 30000;
// The snapshots and bookmarks views show the newest this many.
const LIST_SHOWN = 500;
const params = new URLSearchParams(location.search);
// ?signaling=whep plays live tiles through WHEP (plain fetch) instead of the WebSocket.
const SIGNALING = params.get("signaling") === "whep" ? "whep" : "ws";

// Measurements the browser tests read: per stream, when live view was asked for, when the
// first frame was decoded, and how many frames have been decoded.
window.vasStats = {};
window.vasPlayback = { frames: 0, source: null, errors: [] };

// ---------------------------------------------------------------- API access

function token() {
  return localStorage.getItem("vas-token") || "";
}

function authHeaders(extra = {}) {
  const t = token();
  return t ? { ...extra, Authorization: `Bearer ${t}` } : extra;
}

async function api(method, path, body) {
  const init = { method, headers: authHeaders() };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  if (resp.status === 401) {
    const t = prompt("This server needs an API token:");
    if (t) {
      localStorage.setItem("vas-token", t);
      return api(method, path, body);
    }
  }
  if (resp.status === 204) return null;
  const data = await resp.json().catch(() => null);
  if (!resp.ok) {
    const msg = data && data.error ? data.error.message : `${resp.status} ${resp.statusText}`;
    const err = new Error(msg);
    err.status = resp.status;
    throw err;
  }
  return data;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function fmtTime(iso) {
  return new Date(iso).toLocaleString();
}

// A status line (an <output>): a state for styling ("pending", "ok", "error"), words, and
// optionally a link ({href, text}).
function setStatus(out, state, text, link) {
  out.dataset.state = state;
  out.replaceChildren(text);
  if (link) out.append(" ", el("a", { href: link.href }, link.text));
}

// <img>, <video> and download links cannot send the Authorization header: with a token, a
// file is fetched with it once and handed to the elements as a blob: URL (dropped when its
// view is drawn again).
const mediaUrls = new Map(); // API path -> Promise of a blob: URL

function setMedia(elem, attr, path) {
  if (!token()) {
    elem.setAttribute(attr, path);
    return;
  }
  if (!mediaUrls.has(path)) {
    mediaUrls.set(path, fetch(path, { headers: authHeaders() }).then(async (resp) => {
      if (!resp.ok) throw new Error(`${resp.status} ${resp.statusText}`);
      return URL.createObjectURL(await resp.blob());
    }));
  }
  mediaUrls.get(path).then(
    (url) => elem.setAttribute(attr, url),
    (e) => { elem.title = `Could not load ${path}: ${e.message}`; });
}

function forgetMedia() {
  for (const url of mediaUrls.values()) url.then(URL.revokeObjectURL, () => {});
  mediaUrls.clear();
}

// A name safe in a download's file name.
function fileSafe(text) {
  return text.replace(/[^\w.-]+/g, "_").slice(0, 80);
}

// stream id -> "Camera name · profile", for lists that only carry stream ids.
async function streamNames() {
  const [devices, streams] = await Promise.all([api("GET", "/api/v1/devices"), api("GET", "/api/v1/streams")]);
  const deviceNames = new Map(devices.map((d) => [d.id, d.name]));
  return new Map(streams.map((s) => [s.id, `${deviceNames.get(s.device_id) || "?"} · ${s.profile}`]));
}

function streamName(names, id) {
  return names.get(id) || `stream ${id.slice(0, 8)}`;
}

// The newest LIST_SHOWN items of a list endpoint, newest first (the API's order=newest).
async function listNewest(path) {
  return api("GET", `${path}?order=newest&limit=${LIST_SHOWN}`);
}

// ---------------------------------------------------------------- snapshots and bookmarks

// Saves a snapshot of a stream (now, or at a past moment) and says how it went in `out`.
async function saveSnapshot(streamId, at, out) {
  setStatus(out, "pending", "Taking a snapshot…");
  try {
    const body = at ? { at: at.toISOString() } : undefined;
    const s = await api("POST", `/api/v1/streams/${streamId}/snapshots`, body);
    setStatus(out, "ok", `Snapshot saved: ${fmtTime(s.taken_at)}, ${s.width}×${s.height}.`,
      { href: "#/snapshots", text: "Show snapshots" });
    return s;
  } catch (e) {
    setStatus(out, "error", `Snapshot failed: ${e.message}`);
    return null;
  }
}

// How long after it was created a bookmark may still be pending before the page stops asking.
function bookmarkPollBudgetMs(b) {
  const clipEnd = new Date(b.at).getTime() + b.after_s * 1000 - new Date(b.created_at).getTime();
  return Math.max(clipEnd, 0) + BOOKMARK_POLL_SLACK_MS;
}

// Asks about a pending bookmark every BOOKMARK_POLL_MS until it is no longer pending (or its
// budget is spent); calls onChange with each answer and returns the last one.
async function pollBookmark(b, onChange) {
  const deadline = Date.now() + bookmarkPollBudgetMs(b);
  while (b.state === "pending" && Date.now() < deadline) {
    await sleep(BOOKMARK_POLL_MS);
    try {
      b = await api("GET", `/api/v1/bookmarks/${b.id}`);
    } catch (e) {
      if (e.status === 404) return { ...b, state: "failed", error: "the bookmark was deleted" };
      continue; // the server is busy or gone for a moment; the next poll asks again
    }
    onChange(b);
  }
  return b;
}

// Bookmarks a clip around a moment (default now) of a stream; returns once it is created
// and follows it to ready or failed in `out` meanwhile.
async function saveBookmark(streamId, at, out) {
  setStatus(out, "pending", "Saving a bookmark…");
  let b;
  try {
    const body = { stream_id: streamId };
    if (at) body.at = at.toISOString();
    b = await api("POST", "/api/v1/bookmarks", body);
  } catch (e) {
    setStatus(out, "error", `Bookmark failed: ${e.message}`);
    return null;
  }
  followBookmark(b, out);
  return b;
}

async function followBookmark(b, out) {
  const link = { href: "#/bookmarks", text: "Show bookmarks" };
  const show = (b) => {
    if (b.state === "ready") setStatus(out, "ok", `Bookmark ready: ${fmtTime(b.at)}.`, link);
    else if (b.state === "failed") setStatus(out, "error", `Bookmark failed: ${b.detail || "no reason given"}`);
    else setStatus(out, "pending", `Bookmark pending: the clip ends ${b.after_s} s after ${fmtTime(b.at)}…`);
  };
  show(b);
  b = await pollBookmark(b, show);
  show(b);
  if (b.state === "pending") setStatus(out, "pending", "The bookmark is still pending.", link);
}

// ---------------------------------------------------------------- live view (WebRTC)

let socket = null;
let socketReady = null;
const pending = new Map(); // request id -> {resolve, reject}
let nextRequest = 1;

function signalingSocket() {
  if (socketReady) return socketReady;
  socketReady = new Promise((resolve, reject) => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const qs = token() ? `?token=${encodeURIComponent(token())}` : "";
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/ws${qs}`);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("signaling connection failed"));
    ws.onclose = () => {
      socket = null;
      socketReady = null;
      for (const p of pending.values()) p.reject(new Error("signaling connection closed"));
      pending.clear();
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      const p = pending.get(msg.request_id);
      if (!p) return;
      pending.delete(msg.request_id);
      if (msg.type === "error") p.reject(new Error(msg.message));
      else p.resolve(msg);
    };
    socket = ws;
  });
  return socketReady;
}

async function wsRequest(message) {
  const ws = await signalingSocket();
  const request_id = String(nextRequest++);
  return new Promise((resolve, reject) => {
    pending.set(request_id, { resolve, reject });
    ws.send(JSON.stringify({ ...message, request_id }));
  });
}

// Negotiates a receive-only session for a stream; returns {answer, close()}.
async function negotiate(streamId, offerSdp) {
  if (SIGNALING === "whep") {
    const resp = await fetch(`/api/v1/streams/${streamId}/whep`, {
      method: "POST",
      headers: authHeaders({ "Content-Type": "application/sdp" }),
      body: offerSdp,
    });
    if (resp.status !== 201) {
      const data = await resp.json().catch(() => null);
      throw new Error(data && data.error ? data.error.message : `WHEP ${resp.status}`);
    }
    const location = resp.headers.get("Location");
    return {
      answer: await resp.text(),
      close: () => fetch(location, { method: "DELETE", headers: authHeaders() }).catch(() => {}),
    };
  }
  const msg = await wsRequest({ type: "offer", stream_id: streamId, sdp: offerSdp });
  return {
    answer: msg.sdp,
    close: () => {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "close", session_id: msg.session_id }));
      }
    },
  };
}

async function startLive(tile) {
  const streamId = tile.dataset.streamId;
  if (tile.live) return;
  const video = tile.querySelector("video");
  const stats = (window.vasStats[streamId] = {
    subscribedAt: performance.now(),
    firstFrameAt: null,
    frames: 0,
    framesIn3s: 0,
    decodedIn3s: null,
    error: null,
    connection: "new",
  });
  const pc = new RTCPeerConnection();
  tile.live = { pc, close: null };
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.ontrack = (ev) => {
    if (!video.srcObject) video.srcObject = new MediaStream();
    video.srcObject.addTrack(ev.track);
  };
  pc.onconnectionstatechange = () => {
    stats.connection = pc.connectionState;
    if (pc.connectionState === "failed") stopLive(tile, "connection failed");
  };
  const countFrames = () => {
    if (!tile.live || tile.live.pc !== pc) return;
    const now = performance.now();
    stats.frames += 1;
    if (now - stats.subscribedAt <= 3000) stats.framesIn3s += 1;
    if (stats.firstFrameAt === null) stats.firstFrameAt = now;
    video.requestVideoFrameCallback(countFrames);
  };
  video.requestVideoFrameCallback(countFrames);
  // Frames the decoder produced in the first three seconds (what the tests hold us to).
  setTimeout(() => {
    if (tile.live && tile.live.pc === pc) stats.decodedIn3s = video.getVideoPlaybackQuality().totalVideoFrames;
  }, 3000);
  try {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const session = await negotiate(streamId, pc.localDescription.sdp);
    tile.live.close = session.close;
    await pc.setRemoteDescription({ type: "answer", sdp: session.answer });
    await video.play().catch(() => {});
  } catch (e) {
    stats.error = e.message;
    stopLive(tile, e.message);
  }
}

function stopLive(tile, why) {
  const live = tile.live;
  tile.live = null;
  if (live) {
    if (live.close) live.close();
    live.pc.close();
  }
  const video = tile.querySelector("video");
  video.srcObject = null;
  tile.querySelector(".live-note").textContent = why || "";
}

// ---------------------------------------------------------------- grid

const tiles = new Map(); // stream id -> tile element

function fmtRate(bps) {
  if (!bps) return "0 kbit/s";
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mbit/s` : `${Math.round(bps / 1e3)} kbit/s`;
}

function makeTile(stream) {
  const tile = el("article", { class: "tile", "data-stream-id": stream.id },
    el("video", { muted: "", autoplay: "", playsinline: "" }),
    el("div", { class: "meta" },
      el("span", { class: "name" }),
      el("span", { class: "badge state" }),
      el("span", { class: "badge rec", hidden: "" }, "rec"),
      el("span", { class: "figures" }),
      el("span", { class: "error" }),
      el("span", { class: "live-note hint" })),
    el("div", { class: "actions" },
      el("button", { class: "start-stop" }),
      el("button", { class: "secondary record" }),
      el("button", { class: "secondary snapshot", title: "Save the current picture" }, "Snapshot"),
      el("button", { class: "secondary bookmark", title: "Bookmark a clip around this moment" }, "Bookmark"),
      el("a", { href: `#/recordings/${stream.id}` }, el("button", { class: "secondary" }, "Recordings")),
      el("button", { class: "danger remove" }, "Remove camera")),
    el("output", { class: "tile-status status-line", role: "status" }));
  tile.querySelector("video").muted = true;
  tile.querySelector(".start-stop").addEventListener("click", async () => {
    const s = tile.stream;
    const action = s.desired_state === "running" ? "stop" : "start";
    try { await api("POST", `/api/v1/streams/${s.id}/${action}`); } catch (e) { alert(e.message); }
    refresh();
  });
  tile.querySelector(".record").addEventListener("click", async () => {
    try { await api("PATCH", `/api/v1/streams/${tile.stream.id}`, { record: !tile.stream.record }); } catch (e) { alert(e.message); }
    refresh();
  });
  const out = tile.querySelector(".tile-status");
  for (const [cls, save] of [[".snapshot", saveSnapshot], [".bookmark", saveBookmark]]) {
    const button = tile.querySelector(cls);
    button.addEventListener("click", async () => {
      button.busy = true;
      button.disabled = true;
      try {
        await save(tile.stream.id, null, out);
      } finally {
        button.busy = false;
        button.disabled = tile.stream.state !== "live";
      }
    });
  }
  tile.querySelector(".remove").addEventListener("click", async () => {
    if (!confirm(`Remove camera "${tile.deviceName}" and everything recorded from it?`)) return;
    try { await api("DELETE", `/api/v1/devices/${tile.stream.device_id}`); } catch (e) { alert(e.message); }
    refresh();
  });
  return tile;
}

function updateTile(tile, stream, device) {
  tile.stream = stream;
  tile.deviceName = device ? device.name : "?";
  tile.querySelector(".name").textContent = `${tile.deviceName} · ${stream.profile}`;
  const badge = tile.querySelector(".state");
  badge.textContent = stream.state;
  badge.className = `badge state ${stream.state}`;
  const rec = tile.querySelector(".rec");
  rec.hidden = !stream.recording;
  if (stream.recording) {
    rec.className = `badge rec ${stream.recording.state}`;
    rec.textContent = stream.recording.state === "error" ? "rec error" : "rec";
  }
  const viewers = stream.viewers === undefined ? "" : ` · ${stream.viewers} viewer(s)`;
  tile.querySelector(".figures").textContent =
    `${stream.fps.toFixed(1)} fps · ${fmtRate(stream.bitrate_bps)} · ${stream.reconnects} reconnects${viewers}`;
  tile.querySelector(".error").textContent = stream.state === "live" ? "" : (stream.last_error || "");
  tile.querySelector(".start-stop").textContent = stream.desired_state === "running" ? "Stop" : "Start";
  tile.querySelector(".record").textContent = stream.record ? "Stop recording" : "Record";
  tile.querySelector(".remove").hidden = stream.profile !== "main";
  for (const button of tile.querySelectorAll(".snapshot, .bookmark")) {
    if (!button.busy) button.disabled = stream.state !== "live";
  }
  if (stream.state === "live" && !tile.live) startLive(tile);
  if (stream.desired_state !== "running" && tile.live) stopLive(tile, "stopped");
}

async function refresh() {
  let devices, streams;
  try {
    [devices, streams] = await Promise.all([api("GET", "/api/v1/devices"), api("GET", "/api/v1/streams")]);
    setHealth(true);
  } catch (e) {
    setHealth(false, e.message);
    return;
  }
  const byId = new Map(devices.map((d) => [d.id, d]));
  const grid = document.getElementById("grid");
  const seen = new Set();
  for (const s of streams) {
    seen.add(s.id);
    let tile = tiles.get(s.id);
    if (!tile) {
      tile = makeTile(s);
      tiles.set(s.id, tile);
      grid.append(tile);
    }
    updateTile(tile, s, byId.get(s.device_id));
  }
  for (const [id, tile] of tiles) {
    if (!seen.has(id)) {
      stopLive(tile);
      tile.remove();
      tiles.delete(id);
    }
  }
  document.getElementById("empty").hidden = streams.length > 0;
}

function setHealth(ok, why) {
  const h = document.getElementById("health");
  h.textContent = ok ? "connected" : "offline";
  h.className = `badge ${ok ? "ok" : "down"}`;
  h.title = why || "";
}

document.getElementById("add-camera-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const out = document.getElementById("add-camera-result");
  const body = { name: form.name.value, rtsp_url: form.rtsp_url.value, rtsp_transport: form.rtsp_transport.value };
  if (form.sub_rtsp_url.value) body.sub_rtsp_url = form.sub_rtsp_url.value;
  try {
    const d = await api("POST", "/api/v1/devices", body);
    out.textContent = `Added ${d.name}. Press Start on its tile to connect.`;
    form.reset();
  } catch (e) {
    out.textContent = e.message;
  }
  refresh();
});

// ---------------------------------------------------------------- recordings view

let hls = null;

// Wall-clock time of the player's position: hls.js knows it from the playlist's
// EXT-X-PROGRAM-DATE-TIME (the playing fragment's date plus the offset into it); Safari's
// native HLS from getStartDate(). Null before anything plays.
function playheadDate() {
  const video = document.getElementById("playback");
  if (hls) return hls.playingDate || null;
  if (video.src && typeof video.getStartDate === "function") {
    const start = video.getStartDate().getTime();
    if (Number.isFinite(start)) return new Date(start + video.currentTime * 1000);
  }
  return null;
}

function setPlayheadActions(enabled) {
  for (const id of ["snapshot-here", "bookmark-here"]) document.getElementById(id).disabled = !enabled;
}

function play(source) {
  const video = document.getElementById("playback");
  const status = document.getElementById("playback-status");
  window.vasPlayback = { frames: 0, source, errors: [] };
  if (hls) { hls.destroy(); hls = null; }
  const count = () => {
    window.vasPlayback.frames += 1;
    video.requestVideoFrameCallback(count);
  };
  video.requestVideoFrameCallback(count);
  if (window.Hls && Hls.isSupported()) {
    hls = new Hls({ xhrSetup: (xhr) => { if (token()) xhr.setRequestHeader("Authorization", `Bearer ${token()}`); } });
    hls.on(Hls.Events.ERROR, (_, data) => {
      window.vasPlayback.errors.push(`${data.type}: ${data.details}`);
      if (data.fatal) status.textContent = `Playback error: ${data.details}`;
    });
    hls.loadSource(source);
    hls.attachMedia(video);
  } else {
    video.src = source; // native HLS (Safari)
  }
  status.textContent = `Playing ${source}`;
  setPlayheadActions(true);
  video.play().catch(() => {});
}

async function showRecordings(streamId) {
  setPlayheadActions(false);
  const out = document.getElementById("playhead-status");
  out.replaceChildren();
  for (const [id, save] of [["snapshot-here", saveSnapshot], ["bookmark-here", saveBookmark]]) {
    document.getElementById(id).onclick = async () => {
      const at = playheadDate();
      if (!at) {
        setStatus(out, "error", "The player has no position yet: wait for the picture, then try again.");
        return;
      }
      await save(streamId, at, out);
    };
  }
  const to = new Date();
  const from = new Date(to.getTime() - 24 * 3600 * 1000);
  const title = document.getElementById("recordings-title");
  let recs = [];
  try {
    const stream = await api("GET", `/api/v1/streams/${streamId}`);
    const device = await api("GET", `/api/v1/devices/${stream.device_id}`);
    title.textContent = `Recordings · ${device.name} (${stream.profile})`;
    recs = await api("GET", `/api/v1/recordings?stream_id=${streamId}&from=${from.toISOString()}&limit=1000`);
  } catch (e) {
    title.textContent = `Recordings: ${e.message}`;
  }
  const timeline = document.getElementById("timeline");
  timeline.replaceChildren();
  // Zoom to what exists: from the earliest recording (with a margin), at least ten minutes.
  const MIN_SPAN_MS = 10 * 60 * 1000;
  const earliest = recs.length ? Math.min(...recs.map((r) => new Date(r.start).getTime())) : to - MIN_SPAN_MS;
  const shown = Math.max(to - earliest, MIN_SPAN_MS) * 1.05;
  const view = new Date(to.getTime() - shown);
  from.setTime(Math.max(from.getTime(), view.getTime()));
  const span = to - from;
  for (const r of recs) {
    const start = Math.max(new Date(r.start) - from, 0);
    const end = (r.end ? new Date(r.end) : to) - from;
    const block = el("div", { class: `block${r.end ? "" : " open"}`, title: `${r.start} → ${r.end || "now"}` });
    block.style.left = `${(100 * start) / span}%`;
    block.style.width = `${(100 * Math.max(end - start, 0)) / span}%`;
    block.addEventListener("click", () => play(r.playlist_url));
    timeline.append(block);
  }
  document.getElementById("timeline-from").textContent = from.toLocaleString();
  document.getElementById("timeline-to").textContent = to.toLocaleString();
  const tbody = document.querySelector("#recordings-table tbody");
  tbody.replaceChildren(...recs.slice().reverse().map((r) => el("tr", {},
    el("td", {}, new Date(r.start).toLocaleString()),
    el("td", {}, r.end ? new Date(r.end).toLocaleString() : "recording…"),
    el("td", {}, `${(r.bytes / 1e6).toFixed(1)} MB`),
    el("td", {}, el("button", { class: "secondary play", onclick: () => play(r.playlist_url) }, "Play")))));
  document.getElementById("play-last-hour").onclick = () => {
    const t = new Date();
    const f = new Date(t.getTime() - 3600 * 1000);
    play(`/api/v1/streams/${streamId}/playback.m3u8?from=${f.toISOString()}&to=${t.toISOString()}`);
  };
}

// ---------------------------------------------------------------- snapshots view

function snapshotCard(s, names) {
  const name = streamName(names, s.stream_id);
  const when = fmtTime(s.taken_at);
  const img = el("img", { loading: "lazy", alt: `Snapshot of ${name} at ${when}`, width: s.width, height: s.height });
  const thumb = el("a", { class: "thumb", target: "_blank", rel: "noopener", tabindex: "-1" }, img);
  const open = el("a", { class: "button secondary open", target: "_blank", rel: "noopener" }, "Open full size");
  const download = el("a", { class: "button secondary download",
    download: `${fileSafe(name)}_${fileSafe(s.taken_at)}.jpg` }, "Download");
  setMedia(img, "src", s.image_url);
  for (const a of [thumb, open, download]) setMedia(a, "href", s.image_url);
  const card = el("li", { class: "card snapshot", "data-snapshot-id": s.id },
    thumb,
    el("div", { class: "card-meta" },
      el("time", { datetime: s.taken_at }, when),
      el("span", { class: "name" }, name),
      el("span", { class: "label" }, s.label || ""),
      el("span", { class: "hint" }, `${s.width}×${s.height} · ${Math.ceil(s.bytes / 1024)} KiB`)),
    el("div", { class: "actions" }, open, download));
  card.querySelector(".actions").append(el("button", {
    class: "danger delete",
    "aria-label": `Delete the snapshot of ${name} at ${when}`,
    onclick: () => deleteCard(card, "snapshot", `/api/v1/snapshots/${s.id}`, "snapshots"),
  }, "Delete"));
  return card;
}

async function showSnapshots() {
  const out = document.getElementById("snapshots-status");
  setStatus(out, "pending", "Loading snapshots…");
  let snaps, names;
  try {
    [snaps, names] = await Promise.all([listNewest("/api/v1/snapshots"), streamNames()]);
  } catch (e) {
    setStatus(out, "error", `Could not load the snapshots: ${e.message}`);
    return;
  }
  forgetMedia();
  document.getElementById("snapshots-list").replaceChildren(...snaps.map((s) => snapshotCard(s, names)));
  document.getElementById("snapshots-empty").hidden = snaps.length > 0;
  setStatus(out, "ok", `${snaps.length} snapshot(s), newest first.`);
}

// Deletes what a card in the `view` ("snapshots" or "bookmarks") list shows, after asking.
async function deleteCard(card, what, path, view) {
  if (!confirm(`Delete this ${what}?`)) return;
  const out = document.getElementById(`${view}-status`);
  try {
    await api("DELETE", path);
  } catch (e) {
    setStatus(out, "error", `Could not delete the ${what}: ${e.message}`);
    return;
  }
  const next = card.nextElementSibling || card.previousElementSibling;
  for (const v of card.querySelectorAll("video")) v.pause();
  card.remove();
  const list = document.getElementById(`${view}-list`);
  document.getElementById(`${view}-empty`).hidden = list.children.length > 0;
  setStatus(out, "ok", `Deleted the ${what}.`);
  // Keep the keyboard where it was: on the neighbour's Delete, else on Reload.
  (next ? next.querySelector(".delete") : document.getElementById(`${view}-reload`)).focus();
}

document.getElementById("snapshots-reload").addEventListener("click", showSnapshots);

// ---------------------------------------------------------------- bookmarks view

const BOOKMARK_BADGE = { ready: "ok", pending: "connecting", failed: "failed" };
const bookmarkCards = new Map(); // bookmark id -> {state, card}: a playing clip is never redrawn
let bookmarksTimer = null;
let bookmarksPollUntil = 0;

function bookmarkCard(b, names) {
  const name = streamName(names, b.stream_id);
  const when = fmtTime(b.at);
  const body = [];
  if (b.state === "ready" && b.clip_url) {
    const video = el("video", { controls: "", preload: "metadata", playsinline: "",
      "aria-label": `Clip of ${name} at ${when}` });
    const download = el("a", { class: "button secondary download",
      download: `${fileSafe(name)}_${fileSafe(b.at)}.mp4` }, "Download");
    setMedia(video, "src", b.clip_url);
    setMedia(download, "href", b.clip_url);
    body.push(video, el("div", { class: "actions" }, download));
  } else if (b.state === "failed") {
    body.push(el("p", { class: "error" }, `Failed: ${b.detail || "no reason given"}`), el("div", { class: "actions" }));
  } else {
    body.push(el("p", { class: "hint" }, "The clip is being cut…"), el("div", { class: "actions" }));
  }
  const card = el("li", { class: "card bookmark", "data-bookmark-id": b.id, "data-state": b.state },
    el("div", { class: "card-meta" },
      el("span", { class: `badge ${BOOKMARK_BADGE[b.state] || ""}` }, b.state),
      el("time", { datetime: b.at }, when),
      el("span", { class: "hint" }, `−${b.before_s} s … +${b.after_s} s`),
      el("span", { class: "name" }, name),
      el("span", { class: "label" }, b.label || "")),
    ...body);
  card.querySelector(".actions").append(el("button", {
    class: "danger delete",
    "aria-label": `Delete the bookmark of ${name} at ${when}`,
    onclick: () => deleteCard(card, "bookmark", `/api/v1/bookmarks/${b.id}`, "bookmarks"),
  }, "Delete"));
  return card;
}

// Draws the bookmarks; while some are pending (within their poll budget) and the view is
// shown, draws them again every BOOKMARK_POLL_MS. Cards whose state did not change are kept.
async function showBookmarks(fresh = true) {
  clearTimeout(bookmarksTimer);
  const out = document.getElementById("bookmarks-status");
  if (fresh) setStatus(out, "pending", "Loading bookmarks…");
  let marks, names;
  try {
    [marks, names] = await Promise.all([listNewest("/api/v1/bookmarks"), streamNames()]);
  } catch (e) {
    setStatus(out, "error", `Could not load the bookmarks: ${e.message}`);
    return;
  }
  if (document.getElementById("bookmarks-view").hidden) return;
  const pending = marks.filter((b) => b.state === "pending");
  if (fresh) {
    forgetMedia();
    bookmarkCards.clear();
    bookmarksPollUntil = Date.now() + Math.max(0, ...pending.map(bookmarkPollBudgetMs));
  }
  const list = document.getElementById("bookmarks-list");
  const cards = marks.map((b) => {
    const known = bookmarkCards.get(b.id);
    if (known && known.state === b.state) return known.card;
    const card = bookmarkCard(b, names);
    bookmarkCards.set(b.id, { state: b.state, card });
    return card;
  });
  const same = cards.length === list.children.length && cards.every((c, i) => list.children[i] === c);
  if (!same) list.replaceChildren(...cards);
  for (const id of bookmarkCards.keys()) {
    if (!marks.some((b) => b.id === id)) bookmarkCards.delete(id);
  }
  document.getElementById("bookmarks-empty").hidden = marks.length > 0;
  const counts = pending.length ? `, ${pending.length} pending` : "";
  setStatus(out, "ok", `${marks.length} bookmark(s)${counts}, newest first.`);
  if (pending.length && Date.now() < bookmarksPollUntil) {
    bookmarksTimer = setTimeout(() => showBookmarks(false), BOOKMARK_POLL_MS);
  }
}

document.getElementById("bookmarks-reload").addEventListener("click", () => showBookmarks());

// ---------------------------------------------------------------- routing

const VIEWS = ["live-view", "recordings-view", "snapshots-view", "bookmarks-view"];

function route() {
  const rec = location.hash.match(/^#\/recordings\/([0-9a-f-]{36})$/);
  const view = rec ? "recordings-view"
    : location.hash === "#/snapshots" ? "snapshots-view"
      : location.hash === "#/bookmarks" ? "bookmarks-view"
        : "live-view";
  for (const v of VIEWS) document.getElementById(v).hidden = v !== view;
  for (const a of document.querySelectorAll("header nav a")) {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (view !== "live-view") {
    for (const tile of tiles.values()) stopLive(tile, "");
  }
  if (view !== "recordings-view" && hls) {
    hls.destroy();
    hls = null;
  }
  if (view !== "bookmarks-view") {
    clearTimeout(bookmarksTimer);
    for (const v of document.querySelectorAll("#bookmarks-list video")) v.pause();
  }
  if (rec) showRecordings(rec[1]);
  else if (view === "snapshots-view") showSnapshots();
  else if (view === "bookmarks-view") showBookmarks();
}

window.addEventListener("hashchange", route);
route();
refresh();
setInterval(() => { if (!document.getElementById("live-view").hidden) refresh(); }, REFRESH_MS);
