import { expect, test, type Page } from "@playwright/test";
import { openLive } from "./fixtures/check";
import { productCard } from "./fixtures/find";
import { fillAddress, outsideSql } from "./fixtures/action";

function productId(name: string): number {
  return Number(outsideSql(`SELECT id FROM products WHERE name = '${name}'`));
}


test("register, fill a cart, check out, and watch it all move live elsewhere", async ({ browser }) => {
  const username = `shopper${Date.now() % 1_000_000}`;
  const password = "a long enough passphrase";
  const headphones = productId("Wireless Headphones");
  const beans = productId("Matcha Powder");
  const [stockBefore, soldBefore] = outsideSql(`SELECT stock || ',' || units_sold FROM products WHERE id = ${headphones}`)
    .split(",")
    .map(Number);

  // Someone else is looking at the catalog.
  const watcherContext = await browser.newContext();
  const watcher = await watcherContext.newPage();
  await openLive(watcher, "/?category=electronics");
  await expect(productCard(watcher, headphones).getByTestId("stock")).toHaveText(`${stockBefore} in stock`);

  // Register (which signs in).
  const shopperContext = await browser.newContext();
  const page = await shopperContext.newPage();
  await openLive(page, "/register");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(username);

  // A second tab of the same customer, on the order list.
  const ordersTab = await shopperContext.newPage();
  await openLive(ordersTab, "/orders");
  await expect(ordersTab.getByTestId("orders-empty")).toBeVisible();

  // Add two products: one from the catalog, one from its product page.
  await openLive(page, "/?q=headphones");
  await productCard(page, headphones).getByTestId("add-to-cart").click();
  await expect(page.getByTestId("cart-count")).toHaveText("1");
  await openLive(page, `/products/${beans}`);
  await page.getByTestId("add-to-cart").click();
  await page.getByTestId("add-to-cart").click();
  await expect(page.getByTestId("cart-count")).toHaveText("3");

  // The cart survives a reload.
  await openLive(page, "/cart");
  await expect(page.getByTestId("cart-line")).toHaveCount(2);
  await expect(page.getByTestId("totals")).toContainText("Subtotal (3 items)");
  await expect(page.getByTestId("totals")).toContainText("DeliveryFree");
  await fillAddress(page);
  await page.getByTestId("place-order").click();

  // The order page.
  await expect(page).toHaveURL(/\/orders\/\d+\?placed=1$/);
  await expect(page.getByTestId("order")).toBeVisible();
  await expect(page.getByTestId("order-line")).toHaveCount(2);
  await expect(page.getByTestId("order-status")).toHaveText("Placed");
  await expect(page.getByText("12 Market Street")).toBeVisible();
  // A confirmation in words: thanks, what was bought, what happens next.
  await expect(page.getByTestId("thanks")).toContainText("Thank you, Ann Lee! Your order is placed.");
  await expect(page.getByTestId("thanks")).toContainText("3 items");
  await expect(page.getByTestId("thanks")).toContainText("ship it to Springfield, United States");
  await expect(page.getByTestId("order-address")).toContainText("Ann Lee");
  await expect(page.getByTestId("order-address")).toContainText("United States");
  const orderId = (page.url().match(/\/orders\/(\d+)/) ?? [])[1];
  await expect(page.getByTestId("cart-count")).toHaveText("0");

  // Elsewhere, live: the watcher's stock and units sold, the customer's other tab.
  await expect(productCard(watcher, headphones).getByTestId("stock")).toHaveText(`${stockBefore - 1} in stock`);
  await expect(productCard(watcher, headphones).getByTestId("units-sold")).toHaveText(`${soldBefore + 1} sold`);
  await expect(ordersTab.locator(`[data-test-id="order-row"][data-order-id="${orderId}"]`)).toBeVisible();

  await watcherContext.close();
  await shopperContext.close();
});

test("a signed-out visitor is sent to sign in and back", async ({ page }) => {
  await page.goto("/orders");
  await expect(page).toHaveURL(/\/login\?next=\/orders/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});

test("a wrong password is refused with a clear message", async ({ page }) => {
  await openLive(page, "/login");
  await page.getByLabel("Username").fill("nobody");
  await page.getByLabel("Password").fill("definitely wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("form-error")).toHaveText("That username and password do not match. Check both and try again.");
});
