import { expect, test } from "@playwright/test";
import { openLive } from "./fixtures/check";
import { createStaff, insertedId } from "./fixtures/action";

// Presence (issue #15): "N people are looking at this now" on a product page
// rises and falls as other people open and close it; the staff console says
// which staff are online. Counts only for shoppers, never who.

const stamp = () => Date.now() % 1_000_000;

test("the number of people on a product page rises and falls as pages open and close", async ({ browser }) => {
  const name = `Presence Kettle ${stamp()}`;
  const id = insertedId(
    `INSERT INTO products (name, description, category_id, price_cents, stock) ` +
      `SELECT '${name}', 'A kettle people look at.', id, 4500, 9 FROM categories WHERE slug = 'home' RETURNING id`,
  );
  const first = await (await browser.newContext()).newPage();
  await openLive(first, `/products/${id}`);
  const watchers = first.getByTestId("watchers");
  await expect(watchers, "alone on the page: nothing to say").toHaveCount(0);

  const others = [];
  for (let i = 0; i < 2; i++) {
    const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await openLive(page, `/products/${id}`);
    others.push(page);
  }
  await expect(watchers).toHaveText("3 people are looking at this now");
  await expect(others[0].getByTestId("watchers")).toHaveText("3 people are looking at this now");
  // Shoppers see a count, never who.
  await expect(watchers).not.toContainText("@");

  // One leaves for the catalog, one closes the tab.
  await others[0].goto("/");
  await others[1].context().close();
  await expect(watchers, "nobody else is looking any more").toHaveCount(0, { timeout: 10_000 });
});

test("the staff console says who else of the staff is online", async ({ browser }) => {
  const password = "a long enough passphrase";
  const names = [`presa${stamp()}`, `presb${stamp()}`];
  const pages = [];
  for (const username of names) {
    createStaff(username, password);
    const page = await (await browser.newContext()).newPage();
    await openLive(page, "/login?next=/admin");
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("staff-online")).toContainText(username);
    pages.push(page);
  }
  await expect(pages[0].getByTestId("staff-online")).toContainText(names[1]);
  await pages[1].context().close();
  await expect(pages[0].getByTestId("staff-online")).not.toContainText(names[1], { timeout: 10_000 });
});

test("a product page says how many carts hold it, and the cart how many others do", async ({ browser }) => {
  const name = `Cart Count Lamp ${stamp()}`;
  const id = insertedId(
    `INSERT INTO products (name, description, category_id, price_cents, stock) ` +
      `SELECT '${name}', 'A lamp people want.', id, 3900, 3 FROM categories WHERE slug = 'home' RETURNING id`,
  );
  const browsing = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await openLive(browsing, `/products/${id}`);
  const inCarts = browsing.getByTestId("in-carts");
  await expect(inCarts, "in nobody's cart: nothing to say").toHaveCount(0);

  // Two shoppers (not signed in) put it in their carts.
  const buyers = [];
  for (let i = 0; i < 2; i++) {
    const page = await (await browser.newContext()).newPage();
    await openLive(page, `/products/${id}`);
    await page.getByTestId("add-to-cart").click();
    buyers.push(page);
  }
  await expect(inCarts).toHaveText("In 2 carts right now");
  await expect(buyers[0].getByTestId("in-carts")).toHaveText("In your cart and 1 other");

  // The cart (reached by a client-side move, which reads its products then)
  // says how many other carts hold the line.
  await buyers[0].getByTestId("cart-link").click();
  await expect(buyers[0].getByTestId("cart-line")).toHaveCount(1);
  await expect(buyers[0].getByTestId("cart-line")).toContainText(name);
  await expect(buyers[0].getByTestId("cart-line")).toContainText("$39.00");
  await expect(buyers[0].getByTestId("in-other-carts")).toHaveText("In 1 other cart");

  // The other shopper empties their cart: both figures fall.
  await buyers[1].goto("/cart");
  await buyers[1].getByRole("button", { name: "Remove" }).click();
  await expect(buyers[0].getByTestId("in-other-carts")).toHaveCount(0);
  await expect(inCarts).toHaveText("In 1 cart right now");
});
