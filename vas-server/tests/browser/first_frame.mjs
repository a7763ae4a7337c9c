// First-frame benchmark: in the dashboard, subscribes to the first live tile N times (closing
// the previous live view each time) and reports subscribe → first decoded frame, median and
// spread, for WebSocket signaling and for WHEP.   node first_frame.mjs BASE_URL [N]
import { withPage } from "./browser.mjs";

const [base, nArg] = process.argv.slice(2);
const N = Number(nArg || 20);

async function measure(whep) {
  return withPage(async (page) => {
    await page.goto(`${base}/${whep ? "?signaling=whep" : ""}`);
    await page.waitForSelector(".tile", { timeout: 15000 });
    const id = await page.locator(".tile").first().getAttribute("data-stream-id");
    const times = [];
    for (let i = 0; i < N; i++) {
      const ms = await page.evaluate(async (id) => {
        const tile = tiles.get(id);
        stopLive(tile, "");
        await new Promise((r) => setTimeout(r, 300));
        startLive(tile);
        const t0 = performance.now();
        while (performance.now() - t0 < 10000) {
          const s = window.vasStats[id];
          if (s && s.firstFrameAt !== null) return s.firstFrameAt - s.subscribedAt;
          await new Promise((r) => setTimeout(r, 5));
        }
        return null;
      }, id);
      times.push(ms);
    }
    const ok = times.filter((t) => t !== null).sort((a, b) => a - b);
    const pct = (p) => ok[Math.min(ok.length - 1, Math.floor(p * ok.length))];
    return { signaling: whep ? "whep" : "ws", tries: N, failures: N - ok.length, median_ms: pct(0.5), p90_ms: pct(0.9), min_ms: ok[0], max_ms: ok[ok.length - 1] };
  });
}

const results = [await measure(false), await measure(true)];
console.log(JSON.stringify(results));
