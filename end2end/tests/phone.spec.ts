import { expect, test, type Browser, type Page } from "@playwright/test";
import { fitsTheScreen, openLive } from "./fixtures/check";
import { createStaff, fillAddress } from "./fixtures/action";

// A small phone (360 x 740, touch): every shopper and staff page fits the
// screen's width, and the navigation is reachable from a menu.

const phone = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const password = "a long enough passphrase";
// Long enough to have pushed "Sign out" off the screen before.
const longName = () => `averyveryverylongusername${Date.now() % 1_000_000}`;

async function phonePage(browser: Browser): Promise<Page> {
  return (await browser.newContext(phone)).newPage();
}

async function openMenu(page: Page): Promise<void> {
  await page.getByTestId("phone-menu").locator("summary").click();
}

async function signUp(page: Page, username: string): Promise<void> {
  await openLive(page, "/register");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await openMenu(page);
  await expect(page.getByTestId("phone-menu")).toContainText(username);
}

test("a shopper on a phone reaches every page from the menu and no page is wider than the screen", async ({ browser }) => {
  const page = await phonePage(browser);
  for (const path of ["/", "/?category=coffee-tea", "/products/1", "/cart", "/login", "/register"]) {
    await openLive(page, path);
    await fitsTheScreen(page, path);
  }
  // The desktop navigation is hidden; the menu has it, and closes on a tap.
  await openLive(page, "/");
  await expect(page.locator(".header-nav")).toBeHidden();
  await openMenu(page);
  await page.getByTestId("phone-menu").getByRole("link", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByTestId("phone-menu")).not.toHaveAttribute("open", "");

  const username = longName();
  await signUp(page, username);
  await fitsTheScreen(page, "/ signed in with a long name");
  // Buy something, then find the order from the menu.
  await openLive(page, "/products/3");
  await page.getByTestId("add-to-cart").click();
  await expect(page.getByTestId("cart-count")).toHaveText("1");
  await openLive(page, "/cart");
  await fitsTheScreen(page, "/cart with a line");
  await fillAddress(page);
  await page.getByTestId("place-order").click();
  await expect(page).toHaveURL(/\/orders\/\d+\?placed=1$/);
  await expect(page.getByTestId("order")).toBeVisible();
  await fitsTheScreen(page, "an order");
  await openMenu(page);
  await page.getByTestId("phone-menu").getByRole("link", { name: "Your orders" }).click();
  await expect(page).toHaveURL(/\/orders$/);
  await expect(page.getByTestId("order-row")).toHaveCount(1);
  await fitsTheScreen(page, "/orders");
  await page.context().close();
});

test("staff pages on a phone fit the screen; wide tables scroll inside their own box", async ({ browser }) => {
  const username = longName();
  createStaff(username, password);
  const page = await phonePage(browser);
  await openLive(page, "/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await openMenu(page);
  await expect(page.getByTestId("phone-menu").getByRole("link", { name: "Staff console" })).toBeVisible();
  for (const path of ["/admin", "/admin/products", "/admin/products/new", "/admin/products/1", "/admin/categories", "/admin/tokens"]) {
    await openLive(page, path);
    await fitsTheScreen(page, path);
  }
  await openLive(page, "/admin/products");
  const table = page.locator(".admin-products");
  const { inner, outer } = await table.evaluate((t) => ({ inner: t.scrollWidth, outer: t.clientWidth }));
  expect(outer, "the table keeps to the screen").toBeLessThanOrEqual(360);
  expect(inner, "its columns scroll inside it").toBeGreaterThan(outer);
  await page.context().close();
});
