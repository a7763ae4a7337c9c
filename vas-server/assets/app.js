// VAS dashboard: live streams over WebRTC, camera management, recordings with hls.js.
// Plain modern JavaScript, no build step; served from the vas-server binary.
"use strict";

const REFRESH_MS = 2000;
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
    throw new Error(msg);
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
      el("a", { href: `#/recordings/${stream.id}` }, el("button", { class: "secondary" }, "Recordings")),
      el("button", { class: "danger remove" }, "Remove camera")));
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
  video.play().catch(() => {});
}

async function showRecordings(streamId) {
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

// ---------------------------------------------------------------- routing

function route() {
  const m = location.hash.match(/^#\/recordings\/([0-9a-f-]{36})$/);
  document.getElementById("live-view").hidden = !!m;
  document.getElementById("recordings-view").hidden = !m;
  if (m) {
    for (const tile of tiles.values()) stopLive(tile, "");
    showRecordings(m[1]);
  } else if (hls) {
    hls.destroy();
    hls = null;
  }
}

window.addEventListener("hashchange", route);
route();
refresh();
setInterval(() => { if (!document.getElementById("live-view").hidden) refresh(); }, REFRESH_MS);
