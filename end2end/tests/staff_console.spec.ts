import { expect, test, type Browser, type Page } from "@playwright/test";
import { openLive, signUp } from "./fixtures/check";
import { productCard } from "./fixtures/find";
import { createStaff, outsideSql } from "./fixtures/action";

const password = "a long enough passphrase";

async function signIn(page: Page, username: string) {
  await openLive(page, "/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(username);
}

async function staffPage(browser: Browser): Promise<Page> {
  const username = `staff${Date.now() % 1_000_000}`;
  createStaff(username, password);
  const page = await (await browser.newContext()).newPage();
  await signIn(page, username);
  await expect(page.getByTestId("staff-link")).toBeVisible();
  return page;
}

function productId(name: string): number {
  return Number(outsideSql(`SELECT id FROM products WHERE name = '${name}'`));
}

test("staff edit a price and create a product; a shopper's open pages update live", async ({ browser }) => {
  const id = productId("Hand Grinder");
  const shopper = await (await browser.newContext()).newPage();
  await openLive(shopper, "/");
  const productTab = await shopper.context().newPage();
  await openLive(productTab, `/products/${id}`);

  const staff = await staffPage(browser);
  await openLive(staff, `/admin/products/${id}`);
  await staff.getByLabel("Price (USD)").fill("71.25");
  await staff.getByTestId("save-product").click();
  await expect(staff.getByTestId("saved")).toContainText("Saved Hand Grinder");

  await expect(productCard(shopper, id).getByTestId("price")).toHaveText("$71.25");
  await expect(productTab.getByTestId("product").getByTestId("price")).toHaveText("$71.25");

  // A new product, with an image uploaded through the page.
  const name = `Enamel Camp Mug ${Date.now() % 100_000}`;
  await openLive(staff, "/admin/products/new");
  await staff.getByLabel("Name").fill(name);
  await staff.getByLabel("Category").selectOption("home");
  await staff.getByLabel("Price (USD)").fill("14.50");
  await staff.getByLabel("Stock").fill("12");
  await staff.getByLabel("Description").fill("Steel with a speckled enamel coat, 350 ml.");
  const png = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    "base64",
  );
  await staff.getByTestId("image-file").setInputFiles({ name: "mug.png", mimeType: "image/png", buffer: png });
  await expect(staff.getByTestId("image-preview")).toHaveAttribute("src", /^\/media\/\d+$/);
  await staff.getByTestId("save-product").click();
  // Created once: the page moves to the new product's own edit page.
  await expect(staff.getByTestId("created")).toBeVisible();
  await expect(staff).toHaveURL(/\/admin\/products\/\d+\?created=1$/);
  expect(outsideSql(`SELECT count(*) FROM products WHERE name = '${name}'`), "created once").toBe("1");

  // The open catalog says a product was added, and shows it on request.
  await expect(shopper.getByTestId("new-products")).toHaveText("1 new product — show");
  await shopper.getByTestId("new-products").click();
  const card = shopper.locator('[data-test-id="product-card"]', { hasText: name });
  await expect(card).toBeVisible();
  await expect(card.getByTestId("price")).toHaveText("$14.50");
  await expect(card.locator("img")).toHaveAttribute("src", /^\/media\/\d+$/);
  await shopper.context().close();
  await staff.context().close();
});

test("a shopper's order page shows each step live as staff move the order along", async ({ browser }) => {
  // The shopper registers and buys one thing.
  const shopper = await (await browser.newContext()).newPage();
  const username = await signUp(shopper, "buyer", password);

  const staff = await staffPage(browser);
  await openLive(staff, "/admin");

  const id = productId("Linen Tea Towels");
  await openLive(shopper, `/products/${id}`);
  await shopper.getByTestId("add-to-cart").click();
  await openLive(shopper, "/cart");
  await shopper.getByLabel("Full name").fill("Kit Harbour");
  await shopper.getByLabel("Street").fill("3 Harbour Road");
  await shopper.getByLabel("City").fill("Portsmouth");
  await shopper.getByLabel("Region").fill("NH");
  await shopper.getByLabel("Postal code").fill("03801");
  await shopper.getByLabel("Country").fill("United States");
  await shopper.getByTestId("place-order").click();
  await expect(shopper).toHaveURL(/\/orders\/\d+\?placed=1$/);
  const orderId = (shopper.url().match(/\/orders\/(\d+)/) ?? [])[1];
  await expect(shopper.getByTestId("order-status")).toHaveText("Placed");

  // The order appears in the staff console live, with its customer.
  const row = staff.locator(`[data-test-id="admin-order-row"][data-order-id="${orderId}"]`);
  await expect(row).toContainText(username);
  await expect(row.getByTestId("move-shipped")).toHaveCount(0); // not before it is paid
  await row.getByTestId("move-paid").click();
  await expect(row.getByTestId("order-status")).toHaveText("Paid");
  await expect(shopper.getByTestId("order-status")).toHaveText("Paid");

  await row.getByTestId("move-shipped").click();
  await expect(shopper.getByTestId("order-status")).toHaveText("Shipped");
  await expect(shopper.getByTestId("timeline").locator("li")).toHaveText([/Placed/, /Paid/, /Shipped/]);
  await expect(row.getByTestId("move-cancelled")).toHaveCount(0); // shipped orders cannot be cancelled
  await shopper.context().close();
  await staff.context().close();
});

test("shoppers and visitors cannot use the staff console", async ({ browser }) => {
  const visitor = await browser.newPage();
  await visitor.goto("/admin/products");
  await expect(visitor).toHaveURL(/\/login\?next=\/admin\/products$/);

  const shopper = await (await browser.newContext()).newPage();
  await openLive(shopper, "/register");
  await shopper.getByLabel("Username").fill(`nosy${Date.now() % 1_000_000}`);
  await shopper.getByLabel("Password").fill(password);
  await shopper.getByRole("button", { name: "Create account" }).click();
  await expect(shopper.getByTestId("signed-in-as")).toBeVisible();
  const response = await shopper.goto("/admin");
  expect(response?.status()).toBe(403);
  await expect(shopper.getByTestId("forbidden")).toBeVisible();
  await expect(shopper.getByTestId("staff-link")).toHaveCount(0);
  await shopper.context().close();
});
