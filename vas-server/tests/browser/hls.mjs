// Plays a stream's recording in the dashboard's recordings page through hls.js and checks
// that frames are decoded.   node hls.mjs BASE_URL STREAM_ID
import { withPage, screenshot, report } from "./browser.mjs";

const [base, streamId] = process.argv.slice(2);
const FRAMES = 60;
const DEADLINE_MS = 20000;

const result = await withPage(async (page, logs) => {
  await page.goto(`${base}/#/recordings/${streamId}`);
  await page.waitForSelector("#timeline .block", { timeout: DEADLINE_MS });
  const blocks = await page.locator("#timeline .block").count();
  await page.locator("#recordings-table button.play").last().click();
  const t0 = Date.now();
  let state = {};
  while (Date.now() - t0 < DEADLINE_MS) {
    state = await page.evaluate(() => {
      const v = document.getElementById("playback");
      const q = v.getVideoPlaybackQuality();
      return { ...window.vasPlayback, decoded: q.totalVideoFrames, width: v.videoWidth, height: v.videoHeight, time: v.currentTime };
    });
    if (state.frames >= FRAMES) break;
    await page.waitForTimeout(200);
  }
  const shot = await screenshot(page, "recording-playback");
  return { ok: state.frames >= FRAMES, blocks, ms: Date.now() - t0, shot, ...state, logs: logs.slice(-20) };
});
report(result);
