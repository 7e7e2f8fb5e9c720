import { expect, test } from "@playwright/test";
import { openLive } from "./fixtures/check";
import { productCard } from "./fixtures/find";
import { outsideSql } from "./fixtures/action";

test("a price changed outside the browser shows in two open pages without reload", async ({ browser }) => {
  const shopper = await browser.newContext();
  const other = await browser.newContext();
  const a = await shopper.newPage();
  const b = await other.newPage();
  await openLive(a, "/");
  await openLive(b, "/?category=electronics");

  // On the first page of both (24 to a page, by name).
  const id = Number(outsideSql("SELECT id FROM products WHERE name = 'Action Camera'"));
  const before = outsideSql(`SELECT price_cents FROM products WHERE id = ${id}`);
  const newCents = Number(before) + 1234;
  const expected = `$${Math.floor(newCents / 100).toLocaleString("en-US")}.${String(newCents % 100).padStart(2, "0")}`;

  // Remember the documents, to prove neither page reloads.
  await a.evaluate(() => ((window as any).__marker = "same-document"));
  await b.evaluate(() => ((window as any).__marker = "same-document"));

  outsideSql(`UPDATE products SET price_cents = ${newCents} WHERE id = ${id}`);

  for (const page of [a, b]) {
    await expect(productCard(page, id).getByTestId("price")).toHaveText(expected);
    expect(await page.evaluate(() => (window as any).__marker)).toBe("same-document");
  }

  await shopper.close();
  await other.close();
});

test("switching category keeps the same socket and the new category stays live", async ({ page }) => {
  const sockets: string[] = [];
  page.on("websocket", (ws) => {
    if (ws.url().endsWith("/ws")) sockets.push(ws.url());
  });
  await openLive(page, "/");
  await page.evaluate(() => ((window as any).__marker = "same-document"));
  await page.getByRole("link", { name: "Confectionery" }).click();
  await expect(page).toHaveURL(/category=confectionery/);
  await expect(page.getByTestId("product-card").first()).toBeVisible();
  await expect(page.getByText("Wireless Headphones")).toHaveCount(0);

  const id = Number(outsideSql("SELECT id FROM products WHERE name = 'Gummy Bears'"));
  outsideSql(`UPDATE products SET stock = 3 WHERE id = ${id}`);
  await expect(productCard(page, id).getByTestId("stock")).toHaveText("Only 3 left");
  expect(await page.evaluate(() => (window as any).__marker)).toBe("same-document");
  expect(sockets, "one live socket for the whole visit").toHaveLength(1);
});

test("a product page follows its product, and an unknown product is a 404 page", async ({ page }) => {
  const id = Number(outsideSql("SELECT id FROM products WHERE name = 'Espresso Beans'"));
  await openLive(page, `/products/${id}`);
  await expect(page.getByTestId("product-name")).toHaveText("Espresso Beans");
  await expect(page.getByRole("navigation", { name: "Breadcrumb" })).toHaveText("Shop / Coffee & Tea");
  outsideSql(`UPDATE products SET name = 'Espresso Beans (fresh batch)' WHERE id = ${id}`);
  await expect(page.getByTestId("product-name")).toHaveText("Espresso Beans (fresh batch)");

  const response = await page.goto("/products/999999");
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId("not-found")).toBeVisible();
  await expect(page).toHaveTitle("Not found · livecart");
});
