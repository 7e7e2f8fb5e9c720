import { expect, test, type APIRequestContext, type Browser, type Page } from "@playwright/test";
import { openLive, signUp } from "./fixtures/check";
import { connection, productCard } from "./fixtures/find";
import { createStaff, fillAddress, insertedId, outsideSql } from "./fixtures/action";

// The server under test runs with --fault-injection (scripts/test.sh), so
// POST /_faults/* breaks it on purpose; see src/faults.rs.

const password = "a long enough passphrase";

async function fault(request: APIRequestContext, what: string): Promise<void> {
  const r = await request.post(`/_faults/${what}`);
  expect(r.status(), `fault ${what}`).toBe(200);
}

/** Collect Content-Security-Policy violations from the first script on. */
async function watchCsp(page: Page): Promise<void> {
  await page.addInitScript(() => {
    (window as any).__csp = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      (window as any).__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`),
    );
  });
}

async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).__csp as string[]);
}

/** A page that fails the test if any script ever opens a dialog. */
async function noDialogs(page: Page): Promise<string[]> {
  const dialogs: string[] = [];
  page.on("dialog", async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  return dialogs;
}

async function register(browser: Browser, prefix: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signUp(page, prefix, password);
  return page;
}

async function signedInStaff(browser: Browser): Promise<Page> {
  const username = `boss${Date.now() % 1_000_000}`;
  createStaff(username, password);
  const page = await (await browser.newContext()).newPage();
  await openLive(page, "/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("staff-link")).toBeVisible();
  return page;
}

function productId(name: string): number {
  return Number(outsideSql(`SELECT min(id) FROM products WHERE name = '${name}'`));
}


test("every page hydrates under the nonce-only script policy with no violation", async ({ browser }) => {
  test.setTimeout(120_000); // thirteen pages, several loading their code lazily, in a debug build
  const shopper = await register(browser, "csp");
  const staff = await signedInStaff(browser);
  for (const [page, paths] of [
    [shopper, ["/", "/products/1", "/cart", "/orders", "/login", "/register", "/no-such-page"]],
    [staff, ["/admin", "/admin/products", "/admin/products/1", "/admin/products/new", "/admin/categories", "/admin/tokens"]],
  ] as const) {
    await watchCsp(page);
    for (const path of paths) {
      const response = await page.goto(path);
      const csp = response?.headers()["content-security-policy"] ?? "";
      const scripts = csp.split(";").find((d) => d.trim().startsWith("script-src")) ?? "";
      expect(scripts, path).toContain("'nonce-");
      expect(scripts, path).not.toContain("unsafe-inline");
      await expect(page.locator("html"), `${path} hydrates`).toHaveAttribute("data-hydrated", "true", { timeout: 15_000 });
      expect(await cspViolations(page), `${path}: CSP violations`).toEqual([]);
    }
  }
  await shopper.context().close();
  await staff.context().close();
});

test("a page opened directly names all its code in its head, so none of it waits for the rest", async ({ page }) => {
  // A lazy page's code is many files; fetched only once the main file had
  // run, a product page on a slow phone hydrated a second later.
  const fetched: string[] = [];
  page.on("request", (r) => {
    if (r.url().endsWith(".wasm")) fetched.push(new URL(r.url()).pathname);
  });
  await page.goto("/products/1");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true", { timeout: 15_000 });
  const preloaded = await page.locator('head link[rel="preload"][href$=".wasm"]').evaluateAll((links) =>
    links.map((l) => new URL((l as HTMLLinkElement).href).pathname),
  );
  expect(preloaded.length, "the main file and the page's own").toBeGreaterThan(2);
  expect(fetched.filter((path) => !preloaded.includes(path)), "wasm fetched without a preload").toEqual([]);
});

test("once the catalog has hydrated it fetches a product page's and the cart's code, so moving there downloads none", async ({ page }) => {
  // Each is ~65 small files: fetched only when tapped, the first move to a
  // product page took ~3 s on a slow phone.
  const fetched: string[] = [];
  page.on("requestfinished", (r) => {
    if (r.url().endsWith(".wasm")) fetched.push(new URL(r.url()).pathname);
  });
  await openLive(page, "/");
  const named = (await page.request.get("/").then((r) => r.text())).match(/<meta name="livecart-next-pages" content="([^"]*)"/);
  expect(named, "the catalog names the next pages' files").not.toBeNull();
  const files = named![1].split(" ");
  expect(files.some((f) => f.includes("split___product_route_view_"))).toBe(true);
  expect(files.some((f) => f.includes("split___cart_route_view_"))).toBe(true);
  await expect.poll(() => files.filter((f) => !fetched.includes(f)), { timeout: 15_000, message: "every named file fetched" }).toEqual([]);
  // Other pages do not name them (a product page preloads its own instead).
  expect(await page.request.get("/products/1").then((r) => r.text())).not.toContain("livecart-next-pages");
  // Moving to a product page now fetches no page code from the network.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const fromNetwork: string[] = [];
  cdp.on("Network.responseReceived", (e) => {
    const r = e.response;
    if (r.url.endsWith(".wasm") && !r.fromDiskCache && !r.fromPrefetchCache && !r.fromMemoryCache) fromNetwork.push(new URL(r.url).pathname);
  });
  await page.locator("[data-test-id=product-card] a").first().click();
  await expect(page.getByTestId("product-name")).toBeVisible();
  await expect(page).toHaveURL(/\/products\/\d+$/);
  expect(fromNetwork, "page code fetched again on the move").toEqual([]);
});

test("hostile product and category names stay text in the hydrated page and the tab title", async ({ browser }) => {
  const name = `</title><script>alert(2)</script><img src=x onerror=alert(3)> ${Date.now() % 100_000}`;
  const description = "</textarea><script>alert(4)</script>";
  const slug = `x${Date.now() % 100_000}`;
  const sqlText = (s: string) => `'${s.replace(/'/g, "''")}'`;
  outsideSql(
    `INSERT INTO categories (slug, name, position) VALUES (${sqlText(slug)}, ${sqlText('"><svg onload=alert(5)>')}, 99)`,
  );
  outsideSql(
    `INSERT INTO products (category_id, name, description, price_cents, stock) ` +
      `SELECT id, ${sqlText(name)}, ${sqlText(description)}, 700, 5 FROM categories WHERE slug = ${sqlText(slug)}`,
  );
  const id = Number(outsideSql(`SELECT id FROM products WHERE name = ${sqlText(name)}`));

  const shopper = await (await browser.newContext()).newPage();
  const dialogs = await noDialogs(shopper);
  // Rendered on the server, then hydrated.
  await openLive(shopper, `/products/${id}`);
  await expect(shopper).toHaveTitle(`${name} · livecart`);
  await expect(shopper.getByTestId("product").getByRole("heading", { level: 1 })).toHaveText(name);
  // Rendered in the browser: from the catalog to the product by a click.
  await openLive(shopper, `/?category=${slug}`);
  await expect(productCard(shopper, id)).toContainText(name);
  await productCard(shopper, id).getByRole("link").first().click();
  await expect(shopper).toHaveURL(new RegExp(`/products/${id}$`));
  await expect(shopper).toHaveTitle(`${name} · livecart`);

  const staff = await signedInStaff(browser);
  const staffDialogs = await noDialogs(staff);
  await openLive(staff, `/admin/products/${id}`);
  await expect(staff.getByLabel("Description")).toHaveValue(description);
  await expect(staff.getByLabel("Name")).toHaveValue(name);
  expect(dialogs, "no script ran in the shopper's browser").toEqual([]);
  expect(staffDialogs, "no script ran in the staff browser").toEqual([]);
  await shopper.context().close();
  await staff.context().close();
});

test("a page whose next piece of code cannot be loaded says so and offers a reload that works", async ({ page }) => {
  // As after a deploy: the tab's page names code the server no longer has.
  await openLive(page, "/");
  const panics: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" && msg.text().includes("panicked")) panics.push(msg.text());
  });
  const gone = /\/pkg\/split___cart_route[^/]*\.wasm$/;
  await page.route(gone, (route) => route.fulfill({ status: 404, body: "gone" }));
  await page.getByTestId("cart-link").click();
  const notice = page.getByTestId("crash-notice");
  await expect(notice).toBeVisible();
  await expect(notice).toHaveAttribute("role", "alert");
  await expect(notice).toContainText("This page stopped responding");
  await expect(notice).toHaveCount(1);
  expect(panics.length, "the panic is still in the console for developers").toBeGreaterThan(0);
  await page.screenshot({ path: "/tmp/qa/shots/crash-notice-1280.png" });
  // The code is back: the reload loads the page afresh, working and live.
  await page.unroute(gone);
  await Promise.all([page.waitForEvent("load"), page.getByTestId("crash-reload").click()]);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("crash-notice")).toHaveCount(0);
  await expect(connection(page)).toHaveAttribute("data-state", "live");
  await expect(page.getByTestId("cart-link")).toHaveCount(1);
});

test("a page whose socket is cut while changes happen shows exactly those changes without a reload", async ({ page, request }) => {
  const a = productId("Hand Grinder");
  const b = productId("Gummy Bears");
  await openLive(page, "/");
  const errors: string[] = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  // The feed holds changes back while every socket is cut: the page misses them.
  await fault(request, "pause-feed?ms=1500");
  await fault(request, "drop-sockets");
  outsideSql(`UPDATE products SET price_cents = 4321 WHERE id = ${a}`);
  outsideSql(`UPDATE products SET stock = 30 WHERE id = ${b}`);
  await expect(productCard(page, a).getByTestId("price")).toHaveText("$43.21", { timeout: 10_000 });
  await expect(productCard(page, b).getByTestId("stock")).toHaveText("30 in stock");
  await expect(connection(page)).toHaveAttribute("data-state", "live");
  // And changes after the reconnect keep coming.
  outsideSql(`UPDATE products SET price_cents = 4322 WHERE id = ${a}`);
  await expect(productCard(page, a).getByTestId("price")).toHaveText("$43.22");
  expect(errors.filter((e) => e.includes("CLOSING or CLOSED")), "no sends into a closed socket").toEqual([]);
});

test("offline is shown at once and the page catches up as soon as the browser is back online", async ({ page, context }) => {
  const a = productId("Hand Grinder");
  await openLive(page, "/");
  const errors: string[] = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await context.setOffline(true);
  await expect(connection(page)).toHaveAttribute("data-state", "offline");
  await expect(connection(page)).toContainText("Offline");
  await expect(page.locator("main"), "what may be out of date is dimmed").toHaveClass(/stale/);
  outsideSql(`UPDATE products SET price_cents = 5555 WHERE id = ${a}`);
  await page.waitForTimeout(500);
  await context.setOffline(false);
  // Back at once, not after the backoff.
  await expect(connection(page)).toHaveAttribute("data-state", "live", { timeout: 3_000 });
  await expect(productCard(page, a).getByTestId("price")).toHaveText("$55.55");
  await expect(page.locator("main")).not.toHaveClass(/stale/);
  expect(errors.filter((e) => e.includes("CLOSING or CLOSED")), "no sends into a closed socket").toEqual([]);
});

test("a connection that goes silent without closing is noticed and replaced", async ({ page }) => {
  test.setTimeout(60_000);
  const a = productId("Gummy Bears");
  let silent = false;
  let connections = 0;
  // A proxy for the socket that can stop passing anything on, as a dead
  // network does, while the browser's end stays open.
  await page.routeWebSocket(/\/ws$/, (ws) => {
    connections += 1;
    const server = ws.connectToServer();
    const mine = connections;
    ws.onMessage((m) => !(silent && mine === 1) && server.send(m));
    server.onMessage((m) => !(silent && mine === 1) && ws.send(m));
  });
  await openLive(page, "/");
  silent = true;
  outsideSql(`UPDATE products SET stock = 17 WHERE id = ${a}`);
  // The pings go unanswered: within two ping intervals the page reconnects and catches up.
  await expect(productCard(page, a).getByTestId("stock")).toHaveText("17 in stock", { timeout: 30_000 });
  expect(connections).toBeGreaterThan(1);
});

test("a checkout whose answer is lost offers a retry that buys once", async ({ browser, request }) => {
  const page = await register(browser, "retry");
  const id = productId("Matcha Powder");
  const [stockBefore] = outsideSql(`SELECT stock FROM products WHERE id = ${id}`).split(",").map(Number);
  await openLive(page, `/products/${id}`);
  await page.getByTestId("add-to-cart").click();
  await expect(page.getByTestId("cart-count")).toHaveText("1");
  await openLive(page, "/cart");
  await fillAddress(page);
  await fault(request, "fail-next-checkout");
  await page.getByTestId("place-order").click();
  // Words for people, not the transport's.
  const error = page.getByText("We could not reach the shop. Check your connection and try again.");
  await expect(error).toBeVisible();
  await expect(page.getByText("TypeError")).toHaveCount(0);
  await expect(page.getByTestId("place-order")).toHaveText("Try again");
  await page.getByTestId("place-order").click();
  await expect(page).toHaveURL(/\/orders\/\d+\?placed=1$/);
  const username = (await page.getByTestId("signed-in-as").textContent()) ?? "";
  const orders = outsideSql(
    `SELECT count(*) FROM orders o JOIN users u ON u.id = o.customer_id WHERE u.username = '${username}'`,
  );
  expect(Number(orders), "one order, not two").toBe(1);
  expect(Number(outsideSql(`SELECT stock FROM products WHERE id = ${id}`))).toBe(stockBefore - 1);
  await page.context().close();
});

test("a tab whose session was signed out elsewhere says it stopped updating", async ({ browser }) => {
  const page = await register(browser, "tabs");
  const other = await page.context().newPage();
  await openLive(page, "/orders");
  await openLive(other, "/");
  await other.getByRole("button", { name: "Sign out" }).click();
  await expect(other.getByRole("link", { name: "Sign in" })).toBeVisible();
  await expect(page.getByTestId("live-notice")).toContainText("You signed out");
  // The notice is about the orders on screen: gone once the page is left.
  await page.getByRole("navigation", { name: "Main" }).first().getByRole("link", { name: "Shop" }).click();
  await expect(page.getByTestId("search-form")).toBeVisible();
  await expect(page.getByTestId("live-notice")).toHaveCount(0);
  await page.context().close();
});

test("a page that follows what the header already follows misses no change made while it opened", async ({ browser }) => {
  // The header follows a customer's orders (its unread link); the orders page
  // follows them too, from the seq its list was read at. Changes made while
  // it opens reach the tab in the worst order: order A's after the list was
  // read but before the page subscribes (only the header takes it), order
  // B's while the page's subscribe is on its way (the page takes it live,
  // before the server's answer replays A's change to it).
  const page = await register(browser, "race");
  const product = insertedId(
    `INSERT INTO products (category_id, name, description, price_cents, stock) ` +
      `SELECT id, 'Race Mug ${Date.now() % 1_000_000}', 'A mug.', 900, 10 FROM categories WHERE slug = 'home' RETURNING id`,
  );
  const buy = async (): Promise<number> => {
    const response = await page.request.post("/api/checkout", {
      data: {
        lines: [{ product_id: product, quantity: 1 }],
        idempotency_key: `race-${Date.now()}-${Math.floor(Math.random() * 1e9)}`,
        address: { name: "Ann Lee", street: "12 Market Street", city: "Springfield", region: "IL", postal_code: "62701", country: "United States" },
      },
    });
    expect(response.status(), await response.text()).toBe(200);
    return Number(await response.json());
  };
  const [a, b] = [await buy(), await buy()];

  // The socket through a relay that can hold the page's subscribe, and what
  // the browser sends after it (a slow uplink: the order is kept).
  const followsOrders = (text: string) => text.includes('"subscribe"') && text.includes('"orders:');
  let subscribes = 0;
  let hold = false;
  let held: string[] | undefined;
  let release = () => {};
  const fromServer: string[] = [];
  await page.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    release = () => {
      for (const message of held ?? []) server.send(message);
      held = undefined;
    };
    ws.onMessage((message) => {
      const text = String(message);
      if (followsOrders(text)) {
        subscribes += 1;
        if (hold) {
          hold = false;
          held = [];
        }
      }
      if (held) held.push(text);
      else server.send(message);
    });
    server.onMessage((message) => {
      fromServer.push(String(message));
      ws.send(message);
    });
  });
  // The page's list, read now and handed over when the test says.
  let read = false;
  let handOver!: () => void;
  const handedOver = new Promise<void>((resolve) => (handOver = resolve));
  await page.route("**/api/my_orders*", async (route) => {
    const response = await route.fetch();
    read = true;
    await handedOver;
    await route.fulfill({ response });
  });
  const changed = (order: number) =>
    fromServer.some((f) => {
      const frame = JSON.parse(f);
      return frame.type === "change" && String(frame.topic).startsWith("orders:") && frame.data?.id === order;
    });
  const row = (order: number) => page.locator(`[data-test-id="order-row"][data-order-id="${order}"]`);

  await openLive(page, "/");
  await expect.poll(() => subscribes, { message: "the header follows the orders" }).toBe(1);
  await page.getByRole("navigation", { name: "Main" }).first().getByRole("link", { name: "Orders" }).click();
  await expect.poll(() => read).toBe(true);
  outsideSql(`UPDATE orders SET status = 'paid' WHERE id = ${a}`);
  await expect.poll(() => changed(a), { message: "the header hears A's change" }).toBe(true);
  hold = true;
  handOver();
  await expect.poll(() => held !== undefined, { message: "the page subscribes" }).toBe(true);
  await expect(row(a)).toContainText("Placed"); // as the list was read
  outsideSql(`UPDATE orders SET status = 'paid' WHERE id = ${b}`);
  await expect(row(b)).toContainText("Paid");
  release();
  await expect(row(a), "A's change, replayed after B's, is not taken for a duplicate").toContainText("Paid");
  await expect(row(b)).toContainText("Paid");
  await page.context().close();
});

test("a page whose subscribe the shop could not answer asks again and goes live", async ({ page, request }) => {
  const name = `Retry Kettle ${Date.now() % 1_000_000}`;
  const id = insertedId(
    `INSERT INTO products (category_id, name, description, price_cents, stock) ` +
      `SELECT id, '${name}', 'A kettle.', 4000, 5 FROM categories WHERE slug = 'home' RETURNING id`,
  );
  // The product page's subscribe fails once, as when the database errs.
  await fault(request, `fail-next-subscribe?topic=product:${id}`);
  const warnings: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "warning") warnings.push(msg.text());
  });
  await openLive(page, `/products/${id}`);
  await expect.poll(() => warnings.some((w) => w.includes(`product:${id}`) && w.includes("could not answer")), { message: "the subscribe was refused" }).toBe(true);
  outsideSql(`UPDATE products SET name = '${name} (new)' WHERE id = ${id}`);
  await expect(page.getByTestId("product-name")).toHaveText(`${name} (new)`);
  await expect(page.getByTestId("live-notice")).toHaveCount(0);
});

test("the live feed recovers when its database wake-up connection drops", async ({ page, request }) => {
  const a = productId("Hand Grinder");
  await openLive(page, "/");
  await fault(request, "drop-listen"); // PostgreSQL's LISTEN connection; nothing to drop on SQLite
  outsideSql(`UPDATE products SET price_cents = 6161 WHERE id = ${a}`);
  await expect(productCard(page, a).getByTestId("price")).toHaveText("$61.61");
});

test("staff confirm before cancelling an order or archiving a product", async ({ browser, request }) => {
  // A shopper's order, placed through the server functions.
  const buyer = `confirm${Date.now() % 1_000_000}`;
  expect((await request.post("/api/register", { form: { username: buyer, password } })).status()).toBeLessThan(400);
  const placed = await request.post("/api/checkout", {
    data: {
      lines: [{ product_id: productId("Earl Grey Tea"), quantity: 1 }],
      address: { name: "Ann Lee", street: "1 Main St", city: "Springfield", region: "IL", postal_code: "62701", country: "United States" },
      idempotency_key: `confirm-${Date.now()}`,
    },
  });
  expect(placed.status()).toBe(200);
  const order = Number(await placed.text());
  const staff = await signedInStaff(browser);
  await openLive(staff, "/admin");
  const orderRow = staff.locator(`[data-test-id="admin-order-row"][data-order-id="${order}"]`);
  await orderRow.getByTestId("move-cancelled").click();
  await expect(orderRow.getByText("Its units go back in stock")).toBeVisible();
  await orderRow.getByRole("button", { name: "Keep" }).click();
  expect(outsideSql(`SELECT status FROM orders WHERE id = ${order}`)).toBe("placed");
  await orderRow.getByTestId("move-cancelled").click();
  await orderRow.getByTestId("move-cancelled-confirm").click();
  await expect.poll(() => outsideSql(`SELECT status FROM orders WHERE id = ${order}`)).toBe("cancelled");

  const name = `Confirm Lamp ${Date.now() % 100_000}`;
  outsideSql(
    `INSERT INTO products (category_id, name, description, price_cents, stock) SELECT id, '${name}', '', 900, 4 FROM categories WHERE slug = 'home'`,
  );

  await openLive(staff, "/admin/products");
  const row = staff.locator('[data-test-id="admin-product-row"]', { hasText: name });
  await row.getByTestId("archive").click();
  await expect(row.getByText("It leaves the shop now")).toBeVisible();
  await row.getByRole("button", { name: "Keep" }).click();
  expect(outsideSql(`SELECT count(*) FROM products WHERE name = '${name}' AND archived_at IS NULL`)).toBe("1");
  await row.getByTestId("archive").click();
  await row.getByTestId("archive-confirm").click();
  await expect(row.getByText("Archived")).toBeVisible();
  expect(outsideSql(`SELECT count(*) FROM products WHERE name = '${name}' AND archived_at IS NOT NULL`)).toBe("1");
  await staff.context().close();
});
