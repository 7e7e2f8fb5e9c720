import { expect, test, type Locator, type Page } from "@playwright/test";
import { openLive, signIn, signUp } from "./fixtures/check";
import { createStaff, fillAddress } from "./fixtures/action";

// Every refusal a shopper or staff member can cause, read as they would:
// a sentence for people, never a field name, an error code, a status number
// or the transport's words.

const password = "a long enough passphrase";

/** What a developer would write and a shopper should never read. */
const notForPeople = [
  /\b[a-z]+_[a-z_]+\b/, // field or code names: price_minor, out_of_stock
  /^\s*[a-z_]+:/i, // "delta: …", "error: …"
  /TypeError|Failed to fetch|NetworkError|server function|ServerFnError|reqwest|gloo/i,
  /\b[45]\d\d\b/, // status codes
  /[{}[\]]/, // JSON
];

async function readsAsASentence(message: Locator, where: string): Promise<string> {
  await expect(message, where).toBeVisible();
  const text = ((await message.textContent()) ?? "").trim();
  expect(text, `${where}: says something`).not.toBe("");
  expect(text[0], `${where}: "${text}" starts a sentence`).toBe(text[0].toUpperCase());
  expect(text, `${where}: "${text}" ends a sentence`).toMatch(/[.!?…]$/);
  for (const pattern of notForPeople) {
    expect(text, `${where}: "${text}" has no ${pattern}`).not.toMatch(pattern);
  }
  return text;
}

test("a shopper's refusals are sentences for people", async ({ page }) => {
  // Signing in with the wrong password.
  await openLive(page, "/login");
  await page.getByLabel("Username").fill("nobody-here");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await readsAsASentence(page.getByRole("alert"), "a wrong password");

  // Registering a taken name (too short a password is stopped by the browser
  // itself: the field's minlength).
  const taken = await signUp(page, "msgs");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("link", { name: "Sign in" }).first()).toBeVisible();
  await openLive(page, "/register");
  await page.getByLabel("Username").fill(taken);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await readsAsASentence(page.getByTestId("username-error"), "a taken username");
  await page.getByLabel("Username").fill(`${taken}x`);

  // A checkout with a blank field, then one that cannot reach the shop.
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(`${taken}x`);
  await openLive(page, "/products/5");
  await page.getByTestId("add-to-cart").click();
  await openLive(page, "/cart");
  await fillAddress(page);
  await page.getByLabel("Region").fill("   ");
  await page.getByTestId("place-order").click();
  await readsAsASentence(page.locator(".field", { hasText: "Region" }).locator(".field-error"), "a blank region");
  await page.getByLabel("Region").fill("IL");
  await page.context().setOffline(true);
  await page.getByTestId("place-order").click();
  await readsAsASentence(page.getByTestId("checkout-form").getByRole("alert"), "a checkout while offline");
  await page.context().setOffline(false);
});

test("staff refusals are sentences for people", async ({ page }) => {
  const username = `msgstaff${Date.now() % 1_000_000}`;
  createStaff(username, password);
  await signIn(page, username, password);

  // Taking away more stock than there is.
  await openLive(page, "/admin/products");
  const row = page.locator("tr", { has: page.getByRole("link", { name: "Smart Speaker" }) });
  await row.getByLabel("Units to add").fill("-100000");
  await row.getByRole("button", { name: "Add" }).click();
  await readsAsASentence(page.getByRole("alert").first(), "a restock below zero");

  // A product without a usable name or price.
  await openLive(page, "/admin/products/new");
  await page.getByLabel("Name").fill("   ");
  await page.getByLabel("Price (USD)").fill("12.50");
  await page.getByLabel("Stock").fill("3");
  await page.getByTestId("save-product").click();
  await readsAsASentence(page.locator(".field-error").first(), "a blank product name");
});
