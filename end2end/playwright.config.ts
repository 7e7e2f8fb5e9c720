import { defineConfig, devices } from "@playwright/test";

// `cargo leptos end-to-end --split` builds and starts the server, then runs `npm run e2e`
// here; it sets E2E_BASE_URL and E2E_DB_PATH (see scripts/test.sh). Running
// `npx playwright test` directly uses (or starts) a server on :3000 instead.
const baseURL = process.env.E2E_BASE_URL ?? "http://127.0.0.1:3000";

const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 5_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  globalSetup: "./tests/fixtures/wait-for-server.ts",
  use: {
    baseURL,
    testIdAttribute: "data-test-id",
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    {
      name: "chromium",
      testIgnore: /no_javascript\.spec\.ts/,
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          // No browser download here: Debian's Chromium (apt-get install chromium).
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: chromiumArgs,
        },
      },
    },
    {
      // A browser that runs no JavaScript (and so no wasm): plain links and forms.
      name: "no-javascript",
      testMatch: /no_javascript\.spec\.ts/,
      use: {
        ...devices["Desktop Chrome"],
        javaScriptEnabled: false,
        launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: chromiumArgs },
      },
    },
  ],
  webServer: process.env.E2E_BASE_URL
    ? undefined
    : { command: "cd .. && cargo leptos serve --split", url: `${baseURL}/healthz`, reuseExistingServer: true, timeout: 600_000 },
});
