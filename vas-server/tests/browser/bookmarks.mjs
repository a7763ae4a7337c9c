// Clicks a live tile's Bookmark button, waits until the tile says the bookmark is ready,
// plays its clip in place in the dashboard's bookmarks view, checks the download link, then
// deletes the bookmark there and checks it is gone.   node bookmarks.mjs BASE_URL STREAM_ID
import { withPage, screenshot, report } from "./browser.mjs";

const [base, streamId] = process.argv.slice(2);
// Default clip: 5 s after the click, then the server cuts it.
const READY_MS = 40000;
const DEADLINE_MS = 20000;
// How far the clip must play, in seconds of media time.
const PLAYED_S = 1.5;

const result = await withPage(async (page, logs) => {
  const dialogs = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.accept();
  });
  const out = { ok: false, step: "open the dashboard", dialogs, logs };
  try {
    await page.goto(`${base}/`);
    const tile = `.tile[data-stream-id="${streamId}"]`;
    out.step = "click the live tile's Bookmark button";
    await page.locator(`${tile} button.bookmark`).click({ timeout: DEADLINE_MS });
    out.step = "wait for the tile to say the bookmark is ready";
    await page.waitForFunction((sel) => {
      const s = document.querySelector(sel);
      return s && (s.dataset.state === "ok" || s.dataset.state === "error");
    }, `${tile} .tile-status`, { timeout: READY_MS });
    out.tileStatus = await page.locator(`${tile} .tile-status`).evaluate((s) => ({ state: s.dataset.state, text: s.textContent }));
    if (out.tileStatus.state !== "ok") return out;

    out.step = "open the bookmarks view from the nav";
    await page.locator('header nav a[href="#/bookmarks"]').click();
    const card = page.locator('#bookmarks-list .card.bookmark[data-state="ready"]').first();
    await card.waitFor({ timeout: DEADLINE_MS });
    out.api = await page.evaluate(async () => (await fetch("/api/v1/bookmarks")).json());

    out.step = "play the clip in place";
    const start = await card.locator("video").evaluate(async (v) => {
      v.muted = true;
      await v.play();
      return v.currentTime;
    });
    await card.locator("video").evaluate((v, [from, played, limit]) => new Promise((resolve) => {
      const until = Date.now() + limit;
      const check = () => (v.currentTime >= from + played || v.ended || v.error || Date.now() > until
        ? resolve() : setTimeout(check, 100));
      check();
    }), [start, PLAYED_S, DEADLINE_MS]);
    out.video = await card.evaluate((c) => {
      const v = c.querySelector("video");
      const dl = c.querySelector("a.download");
      return {
        id: c.dataset.bookmarkId,
        src: v.getAttribute("src"),
        controls: v.controls,
        currentTime: v.currentTime,
        duration: v.duration,
        videoWidth: v.videoWidth,
        videoHeight: v.videoHeight,
        decoded: v.getVideoPlaybackQuality().totalVideoFrames,
        error: v.error ? v.error.message || String(v.error.code) : null,
        download: dl ? dl.getAttribute("href") : null,
        downloadName: dl ? dl.getAttribute("download") : null,
      };
    });
    out.video.start = start;
    out.shot = await screenshot(page, "bookmarks-view");

    out.step = "delete the bookmark from its card";
    await card.locator("button.delete").click();
    await page.waitForFunction((id) => !document.querySelector(`[data-bookmark-id="${id}"]`), out.video.id, { timeout: DEADLINE_MS });
    out.after = await page.evaluate(async () => (await fetch("/api/v1/bookmarks")).json());
    out.step = "done";
    out.ok = out.video.currentTime >= start + PLAYED_S && out.video.videoWidth > 0
      && Array.isArray(out.after) && out.after.length === 0;
    return out;
  } catch (e) {
    out.error = String(e);
    out.shot = await screenshot(page, "bookmarks-view-failed").catch(() => null);
    return out;
  }
});
report({ ...result, logs: result.logs.slice(-20) });
