// Clicks a live tile's Snapshot button, finds the snapshot in the dashboard's snapshots view
// with its thumbnail decoded, deletes it there and checks it is gone from the page and the API.
//   node snapshots.mjs BASE_URL STREAM_ID
import { withPage, screenshot, report } from "./browser.mjs";

const [base, streamId] = process.argv.slice(2);
const DEADLINE_MS = 20000;

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
    out.step = "click the live tile's Snapshot button";
    // Playwright waits for the button to be visible and enabled (the stream is live).
    await page.locator(`${tile} button.snapshot`).click({ timeout: DEADLINE_MS });
    await page.waitForFunction((sel) => {
      const s = document.querySelector(sel);
      return s && s.dataset.state && s.dataset.state !== "pending";
    }, `${tile} .tile-status`, { timeout: DEADLINE_MS });
    out.tileStatus = await page.locator(`${tile} .tile-status`).evaluate((s) => ({ state: s.dataset.state, text: s.textContent }));
    if (out.tileStatus.state !== "ok") return out;

    out.step = "open the snapshots view from the nav";
    await page.locator('header nav a[href="#/snapshots"]').click();
    const card = page.locator("#snapshots-list .card.snapshot").first();
    await card.waitFor({ timeout: DEADLINE_MS });
    out.step = "wait for the thumbnail to load";
    await page.waitForFunction(() => {
      const img = document.querySelector("#snapshots-list .card.snapshot img");
      return img && img.complete && img.naturalWidth > 0;
    }, null, { timeout: DEADLINE_MS });
    out.card = await card.evaluate((c) => {
      const img = c.querySelector("img");
      const dl = c.querySelector("a.download");
      return {
        id: c.dataset.snapshotId,
        cards: document.querySelectorAll("#snapshots-list .card").length,
        naturalWidth: img.naturalWidth,
        naturalHeight: img.naturalHeight,
        lazy: img.loading,
        src: img.getAttribute("src"),
        name: c.querySelector(".name").textContent,
        time: c.querySelector("time").getAttribute("datetime"),
        open: c.querySelector("a.open").getAttribute("href"),
        download: dl.getAttribute("href"),
        downloadName: dl.getAttribute("download"),
      };
    });
    out.api = await page.evaluate(async (id) => (await fetch(`/api/v1/snapshots/${id}`)).json(), out.card.id);
    out.shot = await screenshot(page, "snapshots-view");

    out.step = "delete the snapshot from its card";
    await card.locator("button.delete").click();
    await page.waitForFunction((id) => !document.querySelector(`[data-snapshot-id="${id}"]`), out.card.id, { timeout: DEADLINE_MS });
    out.after = await page.evaluate(async () => (await fetch("/api/v1/snapshots")).json());
    out.emptyShown = await page.locator("#snapshots-empty").isVisible();
    out.viewStatus = await page.locator("#snapshots-status").textContent();
    out.step = "done";
    out.ok = out.card.naturalWidth > 0 && Array.isArray(out.after) && out.after.length === 0 && out.emptyShown;
    return out;
  } catch (e) {
    out.error = String(e);
    out.shot = await screenshot(page, "snapshots-view-failed").catch(() => null);
    return out;
  }
});
report({ ...result, logs: result.logs.slice(-20) });
