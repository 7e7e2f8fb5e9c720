import { chromium } from "@playwright/test";
const url = process.argv[2];
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox","--disable-gpu","--disable-dev-shm-usage"] });
for (let r = 0; r < 2; r++) {
const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
const page = await context.newPage();
const cdp = await context.newCDPSession(page);
await cdp.send("Network.enable");
await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 150, downloadThroughput: (1.6*1024*1024)/8, uploadThroughput: (750*1024)/8 });
await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
await page.addInitScript(() => {
  new MutationObserver((_, o) => { if (document.documentElement.getAttribute("data-hydrated") === "true") { window.__h = performance.now(); o.disconnect(); } })
    .observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
});
await page.goto(url, { waitUntil: "commit" });
await page.waitForFunction(() => window.__h !== undefined, null, { timeout: 60000, polling: 50 });
await page.waitForTimeout(500);
const t = await page.evaluate(() => ({ h: window.__h, nav: performance.getEntriesByType("navigation")[0].responseEnd,
  res: performance.getEntriesByType("resource").map(r => [r.name.split("/").pop().slice(0,40), Math.round(r.startTime), Math.round(r.responseStart), Math.round(r.responseEnd), r.transferSize, r.initiatorType]) }));
console.log("hydrated", Math.round(t.h), "html end", Math.round(t.nav));
for (const r of t.res) console.log(r.join("\t"));
await context.close();
}
await browser.close();
