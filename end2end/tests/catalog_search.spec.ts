import { expect, test } from "@playwright/test";
import { openLive } from "./fixtures/check";
import { productCard } from "./fixtures/find";
import { outsideSql } from "./fixtures/action";

function productId(name: string): number {
  return Number(outsideSql(`SELECT id FROM products WHERE name = '${name}'`));
}

/** The prices on the page, in cents, in the order shown. */
async function pricesShown(page: import("@playwright/test").Page): Promise<number[]> {
  const texts = await page.getByTestId("product-grid").getByTestId("price").allTextContents();
  return texts.map((t) => Math.round(Number(t.replace(/[^0-9.]/g, "")) * 100));
}

test("search, filter, sort and page through the catalog; the URL keeps it all", async ({ page }) => {
  await openLive(page, "/");
  await page.getByTestId("search-input").fill("espresso");
  await page.getByTestId("search-submit").click();
  await expect(page).toHaveURL(/[?&]q=espresso/);
  await expect(page.getByTestId("result-count")).toContainText("for “espresso”");
  await expect(productCard(page, productId("Espresso Beans"))).toBeVisible();
  await expect(page).toHaveTitle("“espresso” · livecart");

  // A category, a price ceiling and a sort: every card obeys, in order.
  await page.getByTestId("search-input").fill("");
  await page.getByTestId("filter-category").selectOption("coffee-tea");
  await page.getByTestId("filter-max").fill("20");
  await page.getByTestId("sort").selectOption("price_high");
  await page.getByTestId("search-submit").click();
  await expect(page).toHaveURL(/category=coffee-tea/);
  await expect(page).toHaveURL(/sort=price_high/);
  await expect(page).toHaveTitle("Coffee & Tea · livecart");
  const prices = await pricesShown(page);
  expect(prices.length).toBeGreaterThan(1);
  expect(prices.every((p) => p <= 2000), `${prices}`).toBe(true);
  expect([...prices].sort((a, b) => b - a), "highest first").toEqual(prices);

  // A price that is not a price says so in words.
  await page.getByTestId("filter-max").fill("cheap");
  await page.getByTestId("search-submit").click();
  await expect(page.getByText("is not a price")).toBeVisible();

  // Pages: 24 to a page by name; the next page has the rest, and a way back.
  await openLive(page, "/");
  await expect(page.getByTestId("product-card")).toHaveCount(24);
  await page.getByTestId("next-page").click();
  await expect(page).toHaveURL(/after=/);
  await expect(productCard(page, productId("Wireless Headphones"))).toBeVisible();
  await expect(page.getByTestId("next-page")).toHaveCount(0);
  await page.getByTestId("first-page").click();
  await expect(page.getByTestId("product-card")).toHaveCount(24);

  // A card on a page stays live: sold counts move in place.
  const grinder = productId("Hand Grinder");
  const sold = Number(outsideSql(`SELECT units_sold FROM products WHERE id = ${grinder}`));
  outsideSql(`UPDATE products SET units_sold = ${sold + 5} WHERE id = ${grinder}`);
  await expect(productCard(page, grinder).getByTestId("units-sold")).toHaveText(`${sold + 5} sold`);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the search form, filters and pages work as plain HTML", async ({ page }) => {
    await page.goto("/");
    await page.getByTestId("search-input").fill("chocolate");
    await page.getByTestId("search-input").press("Enter");
    await expect(page).toHaveURL(/[?&]q=chocolate/);
    await expect(page.getByTestId("result-count")).toContainText("for “chocolate”");
    await expect(productCard(page, productId("Dark Chocolate Bar"))).toBeVisible();

    await page.goto("/?category=electronics&sort=price_low");
    const prices = await pricesShown(page);
    expect([...prices].sort((a, b) => a - b), "lowest first").toEqual(prices);

    await page.goto("/");
    await page.getByTestId("next-page").click();
    await expect(page).toHaveURL(/after=/);
    await expect(productCard(page, productId("Wireless Headphones"))).toBeVisible();
  });
});

test("best selling: a sale that changes the order is announced and re-sorts on request", async ({ page }) => {
  await openLive(page, "/?sort=best_selling");
  const cards = page.getByTestId("product-grid").getByTestId("product-card");
  await expect(cards).toHaveCount(24);
  const ids = (await cards.evaluateAll((els) => els.map((e) => e.getAttribute("data-product-id")))).map(Number);
  await expect(page.getByTestId("order-changed")).toHaveCount(0);

  // The third best seller outsells the first, written by another writer.
  const top = Number(outsideSql(`SELECT units_sold FROM products WHERE id = ${ids[0]}`));
  outsideSql(`UPDATE products SET units_sold = ${top + 50} WHERE id = ${ids[2]}`);
  await expect(productCard(page, ids[2]).getByTestId("units-sold")).toHaveText(`${top + 50} sold`);
  await expect(page.getByTestId("order-changed")).toHaveText("Sales have changed the order — re-sort");

  await page.getByTestId("order-changed").click();
  await expect(cards.first()).toHaveAttribute("data-product-id", String(ids[2]));
  await expect(page.getByTestId("order-changed")).toHaveCount(0);
});
