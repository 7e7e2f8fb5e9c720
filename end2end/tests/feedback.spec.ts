import { expect, test } from "@playwright/test";
import { openLive, signUp } from "./fixtures/check";
import { insertedId, outsideSql } from "./fixtures/action";

// What "Add to cart" says: a moment of "Added ✓" per tap, and no more than
// there is in stock, live as the stock changes.

test("add to cart says Added for a moment and stops at what is in stock", async ({ page }) => {
  const name = `Feedback Lamp ${Date.now() % 1_000_000}`;
  outsideSql(
    `INSERT INTO products (category_id, name, description, price_cents, stock, image) ` +
      `VALUES ((SELECT id FROM categories WHERE slug = 'home'), '${name}', 'A lamp.', 1000, 2, '')`,
  );
  const id = Number(outsideSql(`SELECT max(id) FROM products WHERE name = '${name}'`));
  await openLive(page, `/products/${id}`);
  const button = page.getByTestId("add-to-cart");

  await button.click();
  await expect(button).toHaveText("Added ✓");
  // A message says what went into the cart, and leads there.
  await expect(page.getByTestId("toast")).toContainText(`Added ${name} to your cart (1 item).`);
  await expect(page.getByTestId("toast").getByRole("link", { name: "View cart" })).toHaveAttribute("href", "/cart");
  await expect(page.getByTestId("toast-region")).toHaveAttribute("aria-live", "polite");
  await expect(button).toHaveText("Add to cart", { timeout: 4_000 });

  await button.click();
  await expect(button).toHaveText("All 2 in your cart");
  await expect(button).toBeDisabled();
  await expect(page.getByTestId("cart-count")).toHaveText("2");

  // More arrive (a staff edit elsewhere): the button offers them at once.
  outsideSql(`UPDATE products SET stock = 5 WHERE id = ${id}`);
  await expect(button).toHaveText("Add to cart");
  await expect(button).toBeEnabled();
});

test("two tabs of one shopper share one cart, live", async ({ context }) => {
  const [a, b] = [await context.newPage(), await context.newPage()];
  const id = Number(outsideSql(`SELECT id FROM products WHERE name = 'Hand Grinder'`));
  await openLive(a, `/products/${id}`);
  await openLive(b, "/cart");
  await expect(b.getByTestId("cart-empty")).toBeVisible();

  await a.getByTestId("add-to-cart").click();
  await expect(a.getByTestId("cart-count")).toHaveText("1");
  // The other tab shows it without a reload, and a change there comes back.
  await expect(b.getByTestId("cart-line")).toHaveCount(1);
  await expect(b.getByTestId("cart-count")).toHaveText("1");
  await b.getByTestId("quantity").fill("3");
  await b.getByTestId("quantity").dispatchEvent("change");
  await expect(a.getByTestId("cart-count")).toHaveText("3");
  await b.getByRole("button", { name: "Remove" }).click();
  await expect(a.getByTestId("cart-count")).toHaveText("0");
});

test.describe("in Tokyo", () => {
  test.use({ timezoneId: "Asia/Tokyo", locale: "en-US" });

  test("times are shown in the shopper's own zone, not UTC", async ({ page }) => {
    const stamp = "2026-11-30T14:32:00Z"; // 23:32 in Tokyo
    const name = await signUp(page, "tokyo");
    const customer = Number(outsideSql(`SELECT id FROM users WHERE username = '${name}'`));
    outsideSql(
      `INSERT INTO orders (customer_id, street, city, region, postal_code, idempotency_key, created_at, updated_at) ` +
        `VALUES (${customer}, '1 Main St', 'Springfield', 'IL', '62701', 'tokyo-${name}', '${stamp}', '${stamp}')`,
    );
    const order = Number(outsideSql(`SELECT max(id) FROM orders WHERE customer_id = ${customer}`));
    await openLive(page, `/orders/${order}`);
    const placed = page.getByTestId("order").locator("p.muted time");
    await expect(placed).toHaveText("Nov 30, 2026, 11:32 PM");
    await expect(placed).toHaveAttribute("datetime", /2026-11-30T14:32/);
  });
});

test("the cart says when a price changed and why it cannot be ordered", async ({ page }) => {
  const name = `Feedback Kettle ${Date.now() % 1_000_000}`;
  outsideSql(
    `INSERT INTO products (category_id, name, description, price_cents, stock, image) ` +
      `VALUES ((SELECT id FROM categories WHERE slug = 'home'), '${name}', 'A kettle.', 2000, 3, '')`,
  );
  const id = Number(outsideSql(`SELECT max(id) FROM products WHERE name = '${name}'`));
  await signUp(page, "kettle");
  await openLive(page, `/products/${id}`);
  await page.getByTestId("add-to-cart").click();
  await openLive(page, "/cart");
  await expect(page.getByTestId("cart-line")).toHaveCount(1);
  outsideSql(`UPDATE products SET price_cents = 2500 WHERE id = ${id}`);
  await expect(page.getByTestId("price-changed")).toHaveText("Price changed from $20.00 to $25.00");
  outsideSql(`UPDATE products SET stock = 0 WHERE id = ${id}`);
  await expect(page.getByTestId("line-warning")).toHaveText("Sold out");
  await expect(page.getByTestId("why-blocked")).toHaveText(
    "Remove the lines marked in red, or lower their quantity, to place your order.",
  );
  await expect(page.getByTestId("subtotal")).toHaveText("$0.00");
});

test("a tap on Add to cart before the page's code has arrived is kept, then joins the browser's cart", async ({ context }) => {
  const page = await context.newPage();
  const name = `Early Lamp ${Date.now() % 1_000_000}`;
  const id = insertedId(
    `INSERT INTO products (category_id, name, description, price_cents, stock) ` +
        `SELECT id, '${name}', 'A lamp.', 700, 5 FROM categories WHERE slug = 'home' RETURNING id`,
  );
  // The wasm never arrives: the page stays as the server rendered it.
  await page.route("**/*.wasm", (route) => route.abort());
  await page.goto(`/products/${id}`);
  await expect(page.getByTestId("add-to-cart")).toBeEnabled();
  await page.getByTestId("add-to-cart").click();
  await expect(page).toHaveURL(/\/cart$/);
  await expect(page.getByTestId("cart-notice")).toHaveText(`Added ${name} to your cart.`);

  // Now it arrives (a new tab of the same browser): the line moves into the
  // browser's cart, live, once.
  await page.close();
  const later = await context.newPage();
  await openLive(later, "/cart");
  const line = later.locator(`[data-test-id="cart-line"][data-product-id="${id}"]`);
  await expect(line).toContainText(name);
  await expect(later.getByTestId("cart-count")).toHaveText("1");
  await later.reload();
  await expect(later.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(line.getByTestId("quantity")).toHaveValue("1");
  await expect(later.getByTestId("cart-count")).toHaveText("1");
});

test("a move to another page that takes a moment shows progress, then the page", async ({ page }) => {
  await openLive(page, "/");
  // The product's data is slow to come.
  await page.route("**/api/get_product*", async (route) => {
    await new Promise((r) => setTimeout(r, 1_200));
    await route.continue();
  });
  const card = page.getByTestId("product-card").first();
  const name = (await card.getByRole("heading").textContent())!.trim();
  await card.getByRole("link").click();
  await expect(page.getByTestId("route-progress")).toBeVisible();
  // Shown (after a blink's delay), not merely in the page.
  await expect(page.getByTestId("route-progress")).toHaveCSS("opacity", "1");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(name);
  await expect(page.getByTestId("route-progress")).toHaveCount(0);
});
