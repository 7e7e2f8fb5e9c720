import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { openLive, signUp } from "./fixtures/check";
import { createStaff, fillAddress, insertedId, outsideSql } from "./fixtures/action";

// axe-core on every page, hydrated and live, at a desktop and a phone width:
// no serious or critical violation of WCAG 2.1 A/AA.

const widths = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
];

async function noSeriousViolations(page: Page, path: string): Promise<void> {
  for (const size of widths) {
    await page.setViewportSize({ width: size.width, height: size.height });
    if (path === "/no-such-page") {
      // Its 404 status is logged by the browser: no openLive (which wants a clean console).
      await page.goto(path);
      await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
    } else {
      await openLive(page, path);
    }
    const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
    const serious = results.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    expect(serious, `axe on ${path} at ${size.name} width`).toEqual([]);
  }
}

test("every shopper page has no serious accessibility violation", async ({ page }) => {
  // A dozen pages, each opened and checked at two widths.
  test.setTimeout(120_000);
  for (const path of ["/", "/?q=tea&sort=price", "/?category=electronics", "/products/1", "/cart", "/login", "/register", "/no-such-page"]) {
    await noSeriousViolations(page, path);
  }
  await signUp(page, "axe");
  await openLive(page, "/products/2");
  await page.getByTestId("add-to-cart").click();
  await noSeriousViolations(page, "/cart");
  await openLive(page, "/cart");
  await fillAddress(page);
  await page.getByTestId("place-order").click();
  await expect(page.getByTestId("thanks")).toBeVisible();
  const order = new URL(page.url()).pathname;
  await noSeriousViolations(page, `${order}?placed=1`);
  await noSeriousViolations(page, "/orders");
});

test("every staff page has no serious accessibility violation", async ({ page }) => {
  test.setTimeout(90_000);
  const username = `axestaff${Date.now() % 1_000_000}`;
  const password = "a long enough passphrase";
  createStaff(username, password);
  await openLive(page, "/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(username);
  for (const path of ["/admin", "/admin/products", "/admin/products/new", "/admin/products/1", "/admin/categories", "/admin/tokens"]) {
    await noSeriousViolations(page, path);
  }
});

test("a skip link leads past the header, and a product card is one stop for the Tab key", async ({ page }) => {
  await openLive(page, "/");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
  await page.keyboard.press("Enter");
  await page.keyboard.press("Tab");
  // The first stop after the header is in the page itself, not the navigation.
  expect(await page.evaluate(() => !!document.activeElement?.closest("main"))).toBe(true);

  const cards = page.getByTestId("product-card");
  const first = cards.nth(0);
  const second = cards.nth(1);
  await first.getByRole("link").first().focus();
  await page.keyboard.press("Tab");
  expect(await second.evaluate((card) => card.contains(document.activeElement))).toBe(true);
});

test("a screen reader hears live changes: price and stock on the product page, an order's status", async ({ page }) => {
  const name = `Spoken Lamp ${Date.now() % 1_000_000}`;
  const id = insertedId(
    `INSERT INTO products (category_id, name, description, price_cents, stock) ` +
        `SELECT id, '${name}', 'A lamp.', 8000, 12 FROM categories WHERE slug = 'home' RETURNING id`,
  );
  const announcer = page.getByTestId("announcer");
  await openLive(page, `/products/${id}`);
  await expect(announcer).toHaveAttribute("aria-live", "polite");
  outsideSql(`UPDATE products SET price_cents = 7200 WHERE id = ${id}`);
  await expect(announcer).toHaveText("Price changed from $80.00 to $72.00.");
  outsideSql(`UPDATE products SET stock = 3 WHERE id = ${id}`);
  await expect(announcer).toHaveText("Only 3 left.");

  await signUp(page, "spoken");
  await openLive(page, `/products/${id}`);
  await page.getByTestId("add-to-cart").click();
  await openLive(page, "/cart");
  await fillAddress(page);
  await page.getByTestId("place-order").click();
  await expect(page.getByTestId("thanks")).toBeVisible();
  const order = Number(new URL(page.url()).pathname.split("/").pop());
  outsideSql(`UPDATE orders SET status = 'paid' WHERE id = ${order}`);
  await expect(announcer).toHaveText(`Order #${order} is now Paid.`);
  await openLive(page, "/orders");
  outsideSql(`UPDATE orders SET status = 'shipped' WHERE id = ${order}`);
  await expect(announcer).toHaveText(`Order #${order} is now Shipped.`);
});
