// Plays a stream's oldest recording in the dashboard's recordings view, pauses it, presses
// "Snapshot here" and then "Bookmark here", and reports the player's position, what the page
// posted and what its status line said, for the Rust tests to compare with the recording's
// start and the saved snapshot.   node playhead.mjs BASE_URL STREAM_ID
import { withPage, screenshot, report } from "./browser.mjs";

const [base, streamId] = process.argv.slice(2);
const DEADLINE_MS = 20000;
// Frames to play before pausing: the position is then well inside the recording.
const FRAMES = 30;

const result = await withPage(async (page, logs) => {
  const posted = [];
  page.on("request", (r) => {
    if (r.method() === "POST") posted.push({ path: new URL(r.url()).pathname, body: r.postDataJSON() });
  });
  const out = { ok: false, step: "open the recordings view", posted, logs };
  // Presses a button and waits for the status line to say how its request went.
  const press = async (id, path) => {
    const answered = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === path,
      { timeout: DEADLINE_MS });
    await page.locator(`#${id}`).click();
    const resp = await answered;
    await page.waitForFunction(() => {
      const s = document.getElementById("playhead-status");
      return s.dataset.state && !/^(Taking|Saving)/.test(s.textContent);
    }, null, { timeout: DEADLINE_MS });
    const status = await page.locator("#playhead-status").evaluate((s) => ({ state: s.dataset.state, text: s.textContent }));
    const body = await resp.json().catch(() => null);
    return { http: resp.status(), serverError: body && body.error ? body.error.message : null, ...status };
  };
  try {
    await page.goto(`${base}/#/recordings/${streamId}`);
    await page.waitForSelector("#timeline .block", { timeout: DEADLINE_MS });
    out.step = "play the oldest recording";
    await page.locator("#recordings-table button.play").last().click();
    await page.waitForFunction((n) => window.vasPlayback.frames >= n, FRAMES, { timeout: DEADLINE_MS });
    out.position = await page.evaluate(() => {
      const v = document.getElementById("playback");
      v.pause();
      return { currentTime: v.currentTime, source: window.vasPlayback.source };
    });
    out.step = "press Snapshot here";
    out.snapshot = await press("snapshot-here", `/api/v1/streams/${streamId}/snapshots`);
    out.step = "press Bookmark here";
    out.bookmark = await press("bookmark-here", "/api/v1/bookmarks");
    out.shot = await screenshot(page, "recordings-playhead");
    out.step = "done";
    out.ok = true; // the Rust tests judge what was posted and what came of it
    return out;
  } catch (e) {
    out.error = String(e);
    out.shot = await screenshot(page, "recordings-playhead-failed").catch(() => null);
    return out;
  }
});
report({ ...result, logs: result.logs.slice(-20) });
