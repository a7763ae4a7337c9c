// Opens examples/python/webapp.py's page in headless Chromium and checks that live video
// plays: the page's <video> decodes frames from VAS over WebRTC.
//   node webapp.mjs BASE_URL
// Prints one JSON line (ok, frames decoded, size, ms to the first frame) and exits non-zero
// on failure. Uses the browser harness of the server's tests (playwright-core from there).
import { withPage, report } from "../../../vas-server/tests/browser/browser.mjs";

const base = process.argv[2];
const DEADLINE_MS = 20000;

const result = await withPage(async (page, logs) => {
  const t0 = Date.now();
  await page.goto(base, { waitUntil: "load" });
  let first = null;
  let last = { frames: 0 };
  while (Date.now() - t0 < DEADLINE_MS) {
    last = await page.evaluate(() => {
      const v = document.getElementById("v");
      const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : { totalVideoFrames: 0 };
      return { frames: q.totalVideoFrames, width: v.videoWidth, height: v.videoHeight,
               state: document.getElementById("s").textContent };
    });
    if (last.frames > 0 && first === null) first = Date.now() - t0;
    if (last.frames >= 30) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ok: last.frames >= 30 && last.width > 0, ...last, first_frame_ms: first,
           logs: last.frames >= 30 ? [] : logs };
});
report(result);
