import { expect, test, type Browser, type BrowserContextOptions, type Locator, type Page } from "@playwright/test";
import { fitsTheScreen, openLive, signIn } from "./fixtures/check";
import { connection } from "./fixtures/find";
import { createShopper, createStaff, fillAddress, outsideSql } from "./fixtures/action";

// Order conversations (issue #15): a customer writes to the shop about an
// order on its page; staff see it in their inbox and answer; both sides see
// messages, read state and "typing…" live; nobody else sees any of it.

const password = "a long enough passphrase";
const phone: BrowserContextOptions = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const shots = "/tmp/qa/shots";
let serial = 0;

/** A fresh username (3 to 40 letters, digits, '.', '_' or '-'). */
function fresh(prefix: string): string {
  serial += 1;
  return `${prefix}${Date.now() % 1_000_000}${serial}`;
}

/** A shopper's account (see `createShopper`) and its id. */
function createCustomer(username: string): number {
  createShopper(username, password);
  return userId(username);
}

function userId(username: string): number {
  return Number(outsideSql(`SELECT id FROM users WHERE username = '${username}'`));
}

/** A new browser (its own cookies) signed in as a new customer. */
async function customerPage(browser: Browser, prefix: string, options: BrowserContextOptions = {}): Promise<{ page: Page; username: string; id: number }> {
  const username = fresh(prefix);
  const id = createCustomer(username);
  const page = await (await browser.newContext(options)).newPage();
  await signIn(page, username, password);
  return { page, username, id };
}

/** A new browser signed in as a new staff member. */
async function staffPage(browser: Browser, options: BrowserContextOptions = {}): Promise<{ page: Page; username: string; id: number }> {
  const username = fresh("convstaff");
  createStaff(username, password);
  const page = await (await browser.newContext(options)).newPage();
  await signIn(page, username, password);
  await expect(page.getByTestId("staff-link")).toHaveCount(1); // in the phone menu on a phone
  return { page, username, id: userId(username) };
}

function productId(name: string): number {
  return Number(outsideSql(`SELECT id FROM products WHERE name = '${name}'`));
}

/** Buy one of a product the quick way (the checkout API, with the page's cookies); the order's id. */
async function buy(page: Page, product = productId("Gummy Bears")): Promise<number> {
  const response = await page.request.post("/api/checkout", {
    data: {
      lines: [{ product_id: product, quantity: 1 }],
      idempotency_key: `conversation-${Date.now()}-${serial++}`,
      address: { name: "Ann Lee", street: "12 Market Street", city: "Springfield", region: "IL", postal_code: "62701", country: "United States" },
    },
  });
  expect(response.status(), await response.text()).toBe(200);
  return Number(await response.json());
}

function conversation(page: Page): Locator {
  return page.getByTestId("conversation");
}

function messages(page: Page): Locator {
  return conversation(page).getByTestId("message");
}

function inboxRow(page: Page, order: number): Locator {
  return page.locator(`[data-test-id="inbox-row"][data-order-id="${order}"]`);
}

/** Write a message with the composer, and see it land as one's own. */
async function send(page: Page, body: string): Promise<Locator> {
  await conversation(page).getByTestId("message-input").fill(body);
  await conversation(page).getByTestId("send-message").click();
  const mine = messages(page).filter({ hasText: body });
  await expect(mine).toHaveCount(1);
  await expect(mine).toHaveClass(/\bmine\b/);
  await expect(conversation(page).getByTestId("message-input")).toHaveValue("");
  return mine;
}

test("a customer asks about an order, staff read and answer, and each side sees it all live", async ({ browser }) => {
  test.setTimeout(75_000);
  // The customer buys something through the shop.
  const { page: customer, username } = await customerPage(browser, "convbuyer");
  await openLive(customer, `/products/${productId("Gummy Bears")}`);
  await customer.getByTestId("add-to-cart").click();
  await expect(customer.getByTestId("cart-count")).toHaveText("1");
  await openLive(customer, "/cart");
  await fillAddress(customer);
  await customer.getByTestId("place-order").click();
  await expect(customer).toHaveURL(/\/orders\/\d+\?placed=1$/);
  const order = Number((customer.url().match(/\/orders\/(\d+)/) ?? [])[1]);

  // Staff watch their inbox.
  const { page: inbox, username: staffName } = await staffPage(browser);
  await openLive(inbox, "/admin/inbox");
  await expect(inboxRow(inbox, order)).toHaveCount(0);

  // The order page has an empty conversation; the customer writes.
  await expect(conversation(customer).getByRole("heading", { name: "Messages about this order" })).toBeVisible();
  await expect(conversation(customer).getByTestId("messages-empty")).toBeVisible();
  await expect(conversation(customer).getByTestId("typing")).toHaveText("");
  const question = await send(customer, "Where is my parcel?");
  await expect(question).toHaveAttribute("data-from-staff", "false");
  await expect(question.getByTestId("message-body")).toHaveText("Where is my parcel?");
  await expect(question.getByTestId("message-state")).toHaveText("Sent");
  await expect(conversation(customer).getByTestId("messages-empty")).toHaveCount(0);

  // It reaches the inbox live, newest first, unread.
  const row = inboxRow(inbox, order);
  await expect(row).toBeVisible();
  await expect(inbox.getByTestId("inbox-row").first()).toHaveAttribute("data-order-id", String(order));
  await expect(row).toContainText(`Order #${order}`);
  await expect(row).toContainText(username);
  await expect(row.getByTestId("unread")).toHaveText("1 unread");
  await expect(row.getByRole("link")).toHaveAttribute("href", `/orders/${order}#conversation`);
  await expect(inbox.getByTestId("inbox-count")).not.toHaveText("Every message has been read.");

  // Staff open the order from the inbox (in a second tab: the first keeps the inbox open).
  const staff = await inbox.context().newPage();
  await openLive(staff, "/admin/inbox");
  await inboxRow(staff, order).getByRole("link").click();
  await expect(staff).toHaveURL(new RegExp(`/orders/${order}#conversation$`));
  await expect(conversation(staff)).toBeVisible();
  // The section is below the fold at 1280x720: following the link must scroll to it.
  await expect.soft(conversation(staff), "the inbox's link shows the conversation, not the top of the order").toBeInViewport({ timeout: 2_000 });
  const seen = messages(staff).filter({ hasText: "Where is my parcel?" });
  await expect(seen).toHaveClass(/\btheirs\b/);
  await expect(seen).toContainText(username);
  await expect(seen.getByTestId("message-state")).toHaveCount(0); // states are for one's own messages
  // Reading it shows on the customer's page and empties the inbox's pill, live.
  await expect(question.getByTestId("message-state")).toHaveText("Read");
  await expect(row.getByTestId("unread")).toHaveCount(0);
  await expect(row).toBeVisible();

  // Staff type: the customer sees it, then it fades.
  await conversation(staff).getByTestId("message-input").pressSequentially("It left", { delay: 30 });
  await expect(conversation(customer).getByTestId("typing")).toHaveText("The shop is typing…");
  await expect(conversation(staff).getByTestId("typing")).toHaveText("");
  await conversation(staff).getByTestId("message-input").fill("It left our warehouse this morning.");
  await conversation(staff).getByTestId("send-message").click();
  const reply = messages(customer).filter({ hasText: "It left our warehouse this morning." });
  await expect(reply).toHaveCount(1);
  await expect(reply).toHaveClass(/\btheirs\b/);
  await expect(reply).toHaveAttribute("data-from-staff", "true");
  await expect(reply).toContainText("The shop");
  await expect(reply).not.toContainText(staffName);
  await expect(messages(customer)).toHaveCount(2);
  // The customer has the page open: the reply is read at once, on the staff's page too.
  const replied = messages(staff).filter({ hasText: "It left our warehouse this morning." });
  await expect(replied).toHaveClass(/\bmine\b/);
  await expect(replied.getByTestId("message-state")).toHaveText("Read");
  // The customer typing shows on the staff's page.
  await conversation(customer).getByTestId("message-input").pressSequentially("Thanks", { delay: 30 });
  await expect(conversation(staff).getByTestId("typing")).toHaveText("The customer is typing…");
  await expect(conversation(staff).getByTestId("typing")).toHaveText("", { timeout: 8_000 });
  await expect(conversation(customer).getByTestId("typing")).toHaveText("");
  await conversation(customer).getByTestId("message-input").fill("");
  await customer.screenshot({ path: `${shots}/conv-1280.png`, fullPage: true });
  await conversation(customer).screenshot({ path: `${shots}/conv-section-1280.png` });
  await inbox.screenshot({ path: `${shots}/conv-inbox-1280.png`, fullPage: true });

  // The customer moves on to the catalog; no unread link while everything is read.
  await openLive(customer, "/");
  const unreadLink = customer.getByTestId("unread-messages");
  await expect(unreadLink).toHaveCount(0);
  // Staff write again: the header says so, live.
  await send(staff, "Here is the tracking number: 1Z999AA10123456784.");
  await expect(unreadLink).toBeVisible();
  await expect(unreadLink).toHaveAttribute("aria-label", "1 new message from the shop");
  await expect(unreadLink.locator(".unread-count")).toHaveText("1");
  await expect(unreadLink).toHaveAttribute("href", `/orders/${order}#conversation`);
  await customer.screenshot({ path: `${shots}/conv-header-unread-1280.png` });
  // A full page load while the message waits: the server renders the link
  // and the page hydrates around it (one link, no console errors, live).
  const served = await (await customer.request.get("/")).text();
  expect(served, "the server renders the link").toContain('data-test-id="unread-messages"');
  // Its live following is a file of its own: while that cannot be loaded,
  // the page still works and shows what it was served with; once it loads
  // (tried again), it catches up from the page's position, missing nothing.
  const followFile = /\/pkg\/split_follow_unread[^/]*\.wasm$/;
  let refused = 0;
  await customer.route(followFile, (route) => {
    refused += 1;
    return route.fulfill({ status: 404, body: "gone" });
  });
  const panics: string[] = [];
  customer.on("pageerror", (err) => panics.push(err.message));
  customer.on("console", (msg) => {
    if (msg.type() === "error" && msg.text().includes("panicked")) panics.push(msg.text());
  });
  await customer.goto("/");
  await expect(customer.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(connection(customer)).toHaveAttribute("data-state", "live");
  await expect(unreadLink).toHaveCount(1);
  await expect(unreadLink).toHaveAttribute("aria-label", "1 new message from the shop");
  await expect(customer.getByTestId("cart-link")).toHaveCount(1);
  await expect(customer.getByTestId("signed-in-as")).toHaveCount(1);
  await expect(customer.getByTestId("crash-notice")).toHaveCount(0);
  await expect.poll(() => refused, { message: "the page asked for the follow file and was refused" }).toBeGreaterThan(0);
  await send(staff, "One more thing: it needs a signature.");
  await customer.unroute(followFile);
  await expect(unreadLink).toHaveAttribute("aria-label", "2 new messages from the shop", { timeout: 30_000 });
  await expect(unreadLink.locator(".unread-count")).toHaveText("2");
  await expect(customer.getByTestId("crash-notice")).toHaveCount(0);
  expect(panics, "a file that failed to load did not stop the page").toEqual([]);
  await unreadLink.click();
  await expect(customer).toHaveURL(new RegExp(`/orders/${order}#conversation$`));
  await expect(messages(customer).filter({ hasText: "1Z999AA10123456784" })).toBeVisible();
  await expect.soft(conversation(customer), "the header's link shows the conversation, not the top of the order").toBeInViewport({ timeout: 2_000 });
  await expect(customer.getByTestId("unread-messages")).toHaveCount(0);
  await expect(messages(staff).filter({ hasText: "1Z999AA10123456784" }).getByTestId("message-state")).toHaveText("Read");
  expect(outsideSql(`SELECT messages || ',' || unread_by_customer || ',' || unread_by_staff FROM orders WHERE id = ${order}`)).toBe("4,0,0");

  await customer.context().close();
  await inbox.context().close();
});

test("nobody else sees an order's conversation: another customer gets a not-found page, a visitor is sent to sign in", async ({ browser }) => {
  const { page: owner } = await customerPage(browser, "convowner");
  const order = await buy(owner);
  await openLive(owner, `/orders/${order}`);
  await send(owner, "Please leave it with the neighbour at number 14.");

  // Another customer, by the order's address.
  const { page: nosy } = await customerPage(browser, "convnosy");
  const response = await nosy.goto(`/orders/${order}`);
  expect(response?.status()).toBe(404);
  await expect(nosy.getByTestId("not-found")).toBeVisible();
  await expect(nosy.getByTestId("conversation")).toHaveCount(0);
  await expect(nosy.getByText("neighbour at number 14")).toHaveCount(0);
  expect(await response?.text()).not.toContain("neighbour at number 14");
  // Nor through the API: reading, paging, writing and marking read are all "not found".
  for (const [endpoint, form] of [
    ["conversation", { order: String(order) }],
    ["older_messages", { order: String(order), before: "999999999" }],
    ["send_message", { order: String(order), body: "Hello?" }],
    ["mark_read", { order: String(order) }],
  ] as const) {
    const answer = await nosy.request.post(`/api/${endpoint}`, { form });
    expect(answer.status(), endpoint).toBe(404);
    expect(await answer.text(), endpoint).not.toContain("neighbour");
  }
  expect(outsideSql(`SELECT count(*) FROM order_messages WHERE order_id = ${order}`)).toBe("1");
  expect(outsideSql(`SELECT count(*) FROM order_messages WHERE order_id = ${order} AND read_at IS NULL`), "still unread by the shop").toBe("1");

  // A visitor is sent to sign in, and back.
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(`/orders/${order}`);
  await expect(visitor).toHaveURL(new RegExp(`/login\\?next=/orders/${order}$`));
  await expect(visitor.getByText("neighbour at number 14")).toHaveCount(0);
  expect((await visitor.request.post("/api/conversation", { form: { order: String(order) } })).status()).toBe(401);

  await owner.context().close();
  await nosy.context().close();
  await visitor.context().close();
});

test("a message too long, or too many at once, is refused in words and not sent", async ({ browser }) => {
  const { page } = await customerPage(browser, "convchatty");
  const order = await buy(page);
  await openLive(page, `/orders/${order}`);
  const input = conversation(page).getByTestId("message-input");
  const error = conversation(page).getByTestId("message-error");

  // A blank message is not sent (the field is required).
  await conversation(page).getByTestId("send-message").click();
  await expect(conversation(page).getByTestId("messages-empty")).toBeVisible();

  // Only spaces: nothing to send.
  await input.fill("   ");
  await conversation(page).getByTestId("send-message").click();
  await expect(error).toHaveText("Your message is empty.");

  // 2001 characters: the browser stops typing at 2000; one that gets past it anyway is refused by the shop.
  await input.fill("x".repeat(2001));
  await expect(input).toHaveValue("x".repeat(2000));
  await input.evaluate((el: HTMLTextAreaElement) => (el.value = "y".repeat(2001)));
  await conversation(page).getByTestId("send-message").click();
  await expect(error).toHaveText("Your message is 2001 characters. At most 2000 fit.");
  await expect(conversation(page).getByTestId("messages-empty")).toBeVisible();
  expect(outsideSql(`SELECT count(*) FROM order_messages WHERE order_id = ${order}`)).toBe("0");
  await send(page, "Sorry, shorter: can you gift-wrap it?");
  await expect(error).toHaveCount(0);

  // 30 a minute per account; the 31st is refused with when to try again.
  for (let i = 2; i <= 30; i++) {
    const answer = await page.request.post("/api/send_message", { form: { order: String(order), body: `Note ${i}` } });
    expect(answer.status(), `message ${i}`).toBe(200);
  }
  await expect(messages(page)).toHaveCount(30);
  await input.fill("One more thing…");
  await conversation(page).getByTestId("send-message").click();
  await expect(error).toHaveText(/^Too many attempts\. Try again in (a second|\d+ seconds)\.$/);
  await expect(messages(page)).toHaveCount(30);
  await expect(input).toHaveValue("One more thing…"); // kept, to send later
  expect(outsideSql(`SELECT count(*) FROM order_messages WHERE order_id = ${order}`)).toBe("30");
  await page.context().close();
});

test("a long conversation shows its newest 50 messages and the rest on request, in order, once each", async ({ browser }) => {
  const { page, id: customerId } = await customerPage(browser, "convlong");
  const order = await buy(page);
  const staffId = createStaffId();
  await openLive(page, `/orders/${order}`);
  await expect(conversation(page).getByTestId("messages-empty")).toBeVisible();

  // 120 messages written from outside the app, both sides taking turns; they arrive live.
  const body = (i: number) => `Message ${String(i).padStart(3, "0")}`;
  insertMessages(order, customerId, staffId, 1, 120);
  await expect(messages(page).last().getByTestId("message-body")).toHaveText(body(120));
  await expect(messages(page)).toHaveCount(120);
  // The customer has the page open: every message from the shop is read, however fast they came.
  const unreadByCustomer = () => outsideSql(`SELECT unread_by_customer FROM orders WHERE id = ${order}`);
  await expect.poll(unreadByCustomer, { message: "the shop's messages are read while the page is open" }).toBe("0");
  for (let i = 0; i < 3; i++) {
    outsideSql(`INSERT INTO order_messages (order_id, author_id, from_staff, body) VALUES (${order}, ${staffId}, TRUE, 'Quick note ${i}')`);
  }
  await expect(messages(page)).toHaveCount(123);
  await expect.poll(unreadByCustomer, { message: "quick messages in a row are all read too" }).toBe("0");
  outsideSql(`DELETE FROM order_messages WHERE order_id = ${order} AND body LIKE 'Quick note %'`);
  await expect(messages(page)).toHaveCount(120);

  // Opened afresh: the newest 50, oldest of them first.
  await openLive(page, `/orders/${order}`);
  await expect(messages(page)).toHaveCount(50);
  await expect(messages(page).first().getByTestId("message-body")).toHaveText(body(71));
  await expect(messages(page).last().getByTestId("message-body")).toHaveText(body(120));
  const older = conversation(page).getByTestId("older-messages");
  await expect(older).toHaveText("Show earlier messages");
  await older.click();
  await expect(messages(page)).toHaveCount(100);
  await expect(messages(page).first().getByTestId("message-body")).toHaveText(body(21));
  await older.click();
  await expect(messages(page)).toHaveCount(120);
  await expect(older).toHaveCount(0);
  const bodies = await messages(page).getByTestId("message-body").allTextContents();
  expect(bodies).toEqual(Array.from({ length: 120 }, (_, i) => body(i + 1)));
  const ids = await messages(page).evaluateAll((items) => items.map((m) => Number(m.getAttribute("data-message-id"))));
  expect(new Set(ids).size, "no message twice").toBe(120);
  expect(ids, "in the order they were written").toEqual([...ids].sort((a, b) => a - b));
  // Sides: odd from the customer (mine), even from the shop (theirs).
  await expect(messages(page).nth(0)).toHaveAttribute("data-from-staff", "false");
  await expect(messages(page).nth(1)).toHaveAttribute("data-from-staff", "true");

  // One more from outside joins the end, live, with the earlier pages still shown.
  insertMessages(order, customerId, staffId, 121, 121);
  await expect(messages(page)).toHaveCount(121);
  await expect(messages(page).last().getByTestId("message-body")).toHaveText(body(121));
  await page.context().close();
});

function createStaffId(): number {
  const username = fresh("convstaff");
  createStaff(username, password);
  return userId(username);
}

/** Messages `Message 001` … written straight into the database: odd ones by the customer, even ones by the shop. */
function insertMessages(order: number, customer: number, staff: number, from: number, to: number): void {
  const rows = [];
  for (let i = from; i <= to; i++) {
    const byShop = i % 2 === 0;
    rows.push(`(${order}, ${byShop ? staff : customer}, ${byShop ? "TRUE" : "FALSE"}, 'Message ${String(i).padStart(3, "0")}')`);
  }
  outsideSql(`INSERT INTO order_messages (order_id, author_id, from_staff, body) VALUES ${rows.join(", ")}`);
}

test("on a phone the conversation and the staff inbox fit the screen", async ({ browser }) => {
  const { page } = await customerPage(browser, "convphone", phone);
  const order = await buy(page);
  await openLive(page, `/orders/${order}#conversation`);
  await fitsTheScreen(page, "an order with an empty conversation");
  await send(page, "Hi! Could you ship it to my office instead? It is open 9–5 on weekdays.");
  // A long unbroken word (a tracking link) wraps instead of widening the page.
  await send(page, "Tracking: https://tracking.example.com/parcels/1Z999AA10123456784?lang=en&utm_source=livecart_order_confirmation_email");

  const { page: staff } = await staffPage(browser, phone);
  await openLive(staff, `/orders/${order}#conversation`);
  await expect(messages(page).first().getByTestId("message-state")).toHaveText("Read");
  await send(staff, "Of course — we changed the address. It ships tomorrow morning.");
  await fitsTheScreen(staff, "the staff's view of the order");
  await expect(messages(page)).toHaveCount(3);
  await fitsTheScreen(page, "an order with a conversation");
  await conversation(page).scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${shots}/conv-390-view.png` });

  // Away from the order, the header's link to a new message is there on a phone too.
  await openLive(page, "/");
  await send(staff, "PS: the courier will ring before noon.");
  await expect(page.getByTestId("unread-messages")).toBeVisible();
  await fitsTheScreen(page, "the catalog with a new message");
  await page.screenshot({ path: `${shots}/conv-header-unread-390.png` });
  await page.getByTestId("unread-messages").click();
  await expect(messages(page)).toHaveCount(4);
  await expect(page.getByTestId("unread-messages")).toHaveCount(0);
  await conversation(page).scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${shots}/conv-390.png`, fullPage: true });
  await conversation(page).screenshot({ path: `${shots}/conv-section-390.png` });

  await openLive(staff, "/admin/inbox");
  await expect(inboxRow(staff, order)).toBeVisible();
  await fitsTheScreen(staff, "/admin/inbox");
  await staff.screenshot({ path: `${shots}/conv-inbox-390.png`, fullPage: true });
  await page.context().close();
  await staff.context().close();
});
