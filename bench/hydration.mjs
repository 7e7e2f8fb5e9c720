// Time to hydrated in Chromium, as `livecart-bench hydration` runs it: each
// visit in a fresh browser context (a cold cache) at phone size, optionally on
// the slow profile (CDP: 1.6 Mbps down, 750 kbps up, 150 ms round trip, CPU
// four times slower). Prints one JSON object on stdout.
//
//   node bench/hydration.mjs URL RUNS PROFILE CHROMIUM
//
// Uses the end-to-end suite's Playwright (end2end/node_modules).

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("../end2end/node_modules/@playwright/test");

const [url, runsArg = "5", profile = "slow", executablePath = "/usr/bin/chromium"] = process.argv.slice(2);
if (!url) {
  console.error("usage: node bench/hydration.mjs URL [RUNS] [slow|fast] [CHROMIUM]");
  process.exit(2);
}
const runs = Number(runsArg);

const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run"],
});

const visits = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  if (profile === "slow") {
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 150,
      downloadThroughput: (1.6 * 1024 * 1024) / 8,
      uploadThroughput: (750 * 1024) / 8,
    });
    await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  }
  let bytes = 0;
  let wasm = 0;
  const types = new Map();
  cdp.on("Network.responseReceived", (e) => types.set(e.requestId, e.response.mimeType));
  cdp.on("Network.loadingFinished", (e) => {
    bytes += e.encodedDataLength;
    if (types.get(e.requestId) === "application/wasm") wasm += e.encodedDataLength;
  });
  // The moment the app says it is hydrated (`<html data-hydrated="true">`),
  // and the page's largest paint (its main image, once that has arrived).
  await page.addInitScript(() => {
    new PerformanceObserver((list) => {
      const entries = list.getEntries();
      window.__largestPaintAt = entries[entries.length - 1].startTime;
    }).observe({ type: "largest-contentful-paint", buffered: true });
    new MutationObserver((_, observer) => {
      if (document.documentElement.getAttribute("data-hydrated") === "true") {
        window.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
  });
  await page.goto(url, { waitUntil: "commit", timeout: 120_000 });
  await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 120_000, polling: 50 });
  // The largest paint may come after hydrating: wait for the images first
  // (those loading now: a lazy one below the fold never completes).
  await page.waitForFunction(
    () => [...document.images].filter((image) => image.loading !== "lazy").every((image) => image.complete),
    null,
    { timeout: 120_000, polling: 50 },
  );
  const timing = await page.evaluate(() => ({
    largest_paint: window.__largestPaintAt ?? null,
    hydrated: window.__hydratedAt,
    fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
    html: performance.getEntriesByType("navigation")[0]?.responseEnd ?? null,
    // When the last wasm file the page needed had arrived: what comes after is
    // compiling and running the page's code, not the network.
    wasm: Math.max(0, ...performance.getEntriesByType("resource").filter((r) => r.name.endsWith(".wasm")).map((r) => r.responseEnd)),
  }));
  visits.push({ hydrated_ms: timing.hydrated, first_paint_ms: timing.fcp, largest_paint_ms: timing.largest_paint, html_ms: timing.html, wasm_done_ms: timing.wasm, bytes, wasm_bytes: wasm });
  await context.close();
}
await browser.close();
console.log(JSON.stringify({ url, profile, visits }));
