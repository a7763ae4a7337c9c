// Watches live tiles in the dashboard over WebRTC and measures them.
//   node live.mjs BASE_URL [--whep] [--stream ID] [--restart]
// Reports, for the watched stream: time from subscribe to first decoded frame, frames
// decoded within 3 s of subscribing, the frames the camera sent the server in those same 3 s
// (from the API's `frames` counter, sampled every 100 ms by the page itself and
// interpolated), and a screenshot. With --restart it then prints a
// first result line, waits for a line on stdin (the camera was killed and restarted), and
// checks frames resume in the same PeerConnection.
import { createInterface } from "node:readline";
import { withPage, screenshot, report } from "./browser.mjs";

const args = process.argv.slice(2);
const base = args[0];
const whep = args.includes("--whep");
const restart = args.includes("--restart");
const streamArg = args.indexOf("--stream");
const wanted = streamArg >= 0 ? args[streamArg + 1] : null;
const shotArg = args.indexOf("--shot");
const shotName = shotArg >= 0 ? args[shotArg + 1] : `live-${whep ? "whep" : "ws"}${restart ? "-restart" : ""}`;
const FRAMES = 60;
const WINDOW_MS = 3000;
const RESUME_MS = 15000;

const stdinLines = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => stdinLines.once("line", resolve));

// Installed before the dashboard's own script: samples every stream's `frames` counter.
function sampleFrames() {
  window.vasSentSamples = [];
  const sample = async () => {
    try {
      const t = performance.now();
      const streams = await (await fetch("/api/v1/streams")).json();
      const frames = {};
      for (const s of streams) frames[s.id] = s.frames;
      window.vasSentSamples.push({ t, frames });
    } catch (e) {
      // The server is busy or gone; the next sample tries again.
    }
    setTimeout(sample, 100);
  };
  sample();
}

// Frames of `id` the camera sent between page times `from` and `to`, interpolated linearly
// between the samples around each end (null without samples on both sides of the window).
function sentBetween(samples, id, from, to) {
  const at = (t) => {
    const pts = samples.filter((s) => typeof s.frames[id] === "number");
    let before = null;
    let after = null;
    for (const s of pts) {
      if (s.t <= t) before = s;
      if (s.t >= t && after === null) after = s;
    }
    if (!before || !after) return null;
    if (after.t === before.t) return before.frames[id];
    return before.frames[id] + ((after.frames[id] - before.frames[id]) * (t - before.t)) / (after.t - before.t);
  };
  const a = at(from);
  const b = at(to);
  return a === null || b === null ? null : Math.round(b - a);
}

const result = await withPage(async (page, logs) => {
  await page.addInitScript(sampleFrames);
  await page.goto(`${base}/${whep ? "?signaling=whep" : ""}`);
  const selector = wanted ? `.tile[data-stream-id="${wanted}"]` : ".tile";
  await page.waitForSelector(selector, { timeout: 15000 });
  const id = wanted || (await page.locator(".tile").first().getAttribute("data-stream-id"));
  // Wait until the tile subscribed, then until the 3-s window after it has passed.
  const stats = async () => page.evaluate((id) => window.vasStats[id] || null, id);
  const t0 = Date.now();
  let s = null;
  while (Date.now() - t0 < 20000) {
    s = await stats();
    if (s && s.error) break;
    if (s && (s.firstFrameAt !== null || performance.now() > 0)) {
      const now = await page.evaluate(() => performance.now());
      if (now - s.subscribedAt >= WINDOW_MS + 200 && s.decodedIn3s !== null) break;
    }
    await page.waitForTimeout(100);
  }
  // Frames decoded within WINDOW_MS of subscribing (polled finely to stay honest).
  s = await stats();
  await page.waitForTimeout(300); // one more sample after the window closed
  const samples = await page.evaluate(() => window.vasSentSamples);
  const first = {
    stream: id,
    signaling: whep ? "whep" : "ws",
    timeToFirstFrameMs: s && s.firstFrameAt !== null ? Math.round(s.firstFrameAt - s.subscribedAt) : null,
    decodedIn3s: s ? s.decodedIn3s : 0,
    presentedIn3s: s ? s.framesIn3s : 0,
    sentIn3s: s ? sentBetween(samples, id, s.subscribedAt, s.subscribedAt + WINDOW_MS) : null,
    connection: s ? s.connection : null,
    error: s ? s.error : "never subscribed",
  };
  first.shot = await screenshot(page, shotName);
  // The Rust test judges decodedIn3s against sentIn3s; here only hard failures count.
  first.ok = !first.error && first.decodedIn3s > 0;
  if (!restart) return { ...first, logs: logs.slice(-20) };

  console.log(JSON.stringify({ phase: 1, ...first }));
  await nextLine(); // camera killed and restarted
  const before = await stats();
  const start = Date.now();
  let after = before;
  while (Date.now() - start < RESUME_MS) {
    after = await stats();
    if (after.frames >= before.frames + FRAMES) break;
    await page.waitForTimeout(100);
  }
  const samePc = after.subscribedAt === before.subscribedAt;
  return {
    ...first,
    phase: 2,
    resumedFrames: after.frames - before.frames,
    resumeMs: Date.now() - start,
    samePeerConnection: samePc,
    connection: after.connection,
    ok: first.ok && samePc && after.frames >= before.frames + FRAMES && after.connection === "connected",
    logs: logs.slice(-20),
  };
});
report(result);
