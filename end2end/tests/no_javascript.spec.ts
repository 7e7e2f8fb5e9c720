import { expect, test, type Page } from "@playwright/test";
import { fillAddress, insertedId, outsideSql } from "./fixtures/action";

// Run by the "no-javascript" project (JavaScript disabled): a shopper whose
// browser runs no wasm browses, searches, signs in and buys with plain links
// and form posts; the cart lives in the session on the server.

const password = "a long enough passphrase";

test.beforeAll(() => {
  expect(test.info().project.use.javaScriptEnabled, "this file runs with JavaScript off").toBe(false);
});

async function register(page: Page, prefix: string): Promise<string> {
  const username = `${prefix}${Date.now() % 1_000_000}`;
  await page.goto("/register");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(username);
  return username;
}

let made = 0;

/** A product made for this test, alone in its name: (id, name). */
function product(stock: number, price = 1250): [number, string] {
  const name = `Nojs Lamp ${Date.now() % 1_000_000}${++made}`;
  const id = insertedId(
    `INSERT INTO products (name, description, category_id, price_cents, stock) ` +
        `SELECT '${name}', 'A lamp for a browser without scripts.', id, ${price}, ${stock} FROM categories WHERE slug = 'home' RETURNING id;`,
  );
  return [id, name];
}

test("browsing and searching work as links and a GET form", async ({ page }) => {
  const [id, name] = product(5);
  await page.goto("/");
  await expect(page.getByTestId("product-card").first()).toBeVisible();
  await page.getByRole("searchbox").fill(name);
  await page.getByRole("searchbox").press("Enter");
  await expect(page).toHaveURL(/[?&]q=/);
  await page.getByRole("link", { name }).first().click();
  await expect(page).toHaveURL(new RegExp(`/products/${id}$`));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(name);
});

test("signing in from a page that needs it returns to that page", async ({ page }) => {
  const username = await register(page, "nojsnext");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto("/login?next=/orders");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/orders$/);
});

test("a shopper without JavaScript fills a cart, signs in from it and buys", async ({ page }) => {
  const [id, name] = product(3);
  await page.goto("/cart");
  await expect(page.getByTestId("cart-empty")).toBeVisible();
  await expect(page.getByText("Loading your cart")).toBeHidden();

  // Anonymous: the cart is kept by the session.
  await page.goto(`/products/${id}`);
  await page.getByTestId("add-to-cart").click();
  await expect(page).toHaveURL(/\/cart$/);
  await expect(page.getByTestId("cart-notice")).toHaveText(`Added ${name} to your cart.`);
  const line = page.locator(`[data-test-id="cart-line"][data-product-id="${id}"]`);
  await expect(line).toContainText(name);
  await expect(page.getByTestId("subtotal")).toHaveText("$12.50");

  // More than there is: the line says so in words.
  await line.getByTestId("quantity").fill("9");
  await line.getByTestId("update-quantity").click();
  await expect(line.getByTestId("line-warning")).toHaveText("Only 3 left: lower the quantity");
  await line.getByTestId("quantity").fill("2");
  await line.getByTestId("update-quantity").click();
  await expect(line.getByTestId("quantity")).toHaveValue("2");
  await expect(page.getByTestId("subtotal")).toHaveText("$25.00");

  // Signing in keeps the cart and comes back to it.
  await page.getByRole("link", { name: "Sign in" }).last().click();
  await page.getByRole("link", { name: "Create an account" }).click();
  const username = `nojsbuyer${Date.now() % 1_000_000}`;
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/cart$/);
  await expect(line.getByTestId("quantity")).toHaveValue("2");

  // A price that moved since the page was shown: shown again, not bought.
  await fillAddress(page);
  outsideSql(`UPDATE products SET price_cents = 1300 WHERE id = ${id};`);
  await page.getByTestId("place-order").click();
  await expect(page).toHaveURL(/\/cart$/);
  await expect(page.getByTestId("cart-notice")).toContainText("Your cart changed since this page was shown");
  await expect(page.getByTestId("subtotal")).toHaveText("$26.00");
  await expect(page.getByLabel("Street")).toHaveValue("12 Market Street");
  expect(outsideSql(`SELECT stock FROM products WHERE id = ${id};`)).toBe("3");

  // Less in stock than in the cart: flagged, and refused in words if sent.
  outsideSql(`UPDATE products SET stock = 1 WHERE id = ${id};`);
  await page.reload();
  await expect(line.getByTestId("line-warning")).toHaveText("Only 1 left: lower the quantity");
  await expect(page.getByTestId("why-blocked")).toBeVisible();
  await page.getByTestId("place-order").click();
  await expect(page.getByTestId("cart-notice")).toContainText(`Only 1 of ${name} left`);
  expect(outsideSql(`SELECT stock FROM products WHERE id = ${id};`)).toBe("1");

  // Lowered to what is left and sent twice (a double click, a resent form): one order.
  await line.getByTestId("quantity").fill("1");
  await line.getByTestId("update-quantity").click();
  await expect(page.getByTestId("why-blocked")).toBeHidden();
  const shown = await page.locator('input[name="shown"]').inputValue();
  const form = {
    name: "Ann Lee", street: "12 Market Street", city: "Springfield", region: "IL", postal_code: "62701", country: "United States", shown,
  };
  const first = await page.request.post("/api/cart_checkout", { form, maxRedirects: 0, headers: { accept: "text/html" } });
  const second = await page.request.post("/api/cart_checkout", { form, maxRedirects: 0, headers: { accept: "text/html" } });
  const placed = first.headers()["location"];
  expect(placed).toMatch(/^\/orders\/\d+\?placed=1$/);
  expect(second.headers()["location"], "the second post is sent to the same order").toBe(placed);
  expect(outsideSql(`SELECT count(*) FROM orders o JOIN users u ON u.id = o.customer_id WHERE u.username = '${username}';`)).toBe("1");
  await page.goto(placed);
  await expect(page.getByTestId("thanks")).toBeVisible();
  await expect(page.getByText(name)).toBeVisible();
  expect(outsideSql(`SELECT stock FROM products WHERE id = ${id};`)).toBe("0");
  await page.goto("/cart");
  await expect(page.getByTestId("cart-empty")).toBeVisible();
  await page.goto(`/products/${id}`);
  await expect(page.getByTestId("add-to-cart")).toHaveText("Sold out");
  await expect(page.getByTestId("add-to-cart")).toBeDisabled();
});

test("adding the last one twice, or what sold out meanwhile, says so; removing empties the cart", async ({ page }) => {
  const [id, name] = product(1);
  await page.goto(`/products/${id}`);
  await page.getByTestId("add-to-cart").click();
  await page.goto(`/products/${id}`);
  await page.getByTestId("add-to-cart").click();
  await expect(page.getByTestId("cart-notice")).toHaveText(`The last ${name} is in your cart already.`);

  // Sold out between the page and the tap.
  const [other, otherName] = product(2);
  await page.goto(`/products/${other}`);
  outsideSql(`UPDATE products SET stock = 0 WHERE id = ${other};`);
  await page.getByTestId("add-to-cart").click();
  await expect(page.getByTestId("cart-notice")).toHaveText(`${otherName} is sold out.`);
  await expect(page.getByTestId("cart-line")).toHaveCount(1);

  await page.getByRole("button", { name: "Remove" }).click();
  await expect(page.getByTestId("cart-empty")).toBeVisible();
});
