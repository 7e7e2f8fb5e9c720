import { expect, test } from "@playwright/test";
import { openLive } from "./fixtures/check";
import { outsideSql } from "./fixtures/action";

// What "Add to cart" says: a moment of "Added ✓" per tap, and no more than
// there is in stock, live as the stock changes.

test("add to cart says Added for a moment and stops at what is in stock", async ({ page }) => {
  const name = `Feedback Lamp ${Date.now() % 1_000_000}`;
  outsideSql(
    `INSERT INTO products (category_id, name, description, price_cents, stock, image) ` +
      `VALUES ((SELECT id FROM categories WHERE slug = 'home'), '${name}', 'A lamp.', 1000, 2, '/images/products/scented-candle.svg')`,
  );
  const id = Number(outsideSql(`SELECT max(id) FROM products WHERE name = '${name}'`));
  await openLive(page, `/products/${id}`);
  const button = page.getByTestId("add-to-cart");

  await button.click();
  await expect(button).toHaveText("Added ✓");
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
