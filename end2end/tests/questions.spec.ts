import { expect, test, type Browser, type Locator, type Page } from "@playwright/test";
import { fitsTheScreen, openLive, signIn } from "./fixtures/check";
import { productCard } from "./fixtures/find";
import { createShopper, createStaff, insertedId, outsideSql } from "./fixtures/action";

// Questions and answers on a product page (issue #15): shoppers ask and
// upvote, staff answer, hide names and delete, and every open page — other
// shoppers', visitors', the catalog's cards, the staff queue — follows live.

const password = "a long enough passphrase";
const stamp = () => Date.now() % 1_000_000;
let made = 0;

/** A product made for this test, alone in its name: (id, name). */
function product(): [number, string] {
  const name = `Question Lamp ${stamp()}${++made}`;
  const id = insertedId(
    `INSERT INTO products (name, description, category_id, price_cents, stock) ` +
      `SELECT '${name}', 'A lamp people ask about.', id, 3900, 20 FROM categories WHERE slug = 'home' RETURNING id`,
  );
  return [id, name];
}

/** A fresh shopper's account (see `createShopper`): its username. */
function newShopper(prefix: string): string {
  const username = `${prefix}${stamp()}${++made}`;
  createShopper(username, password);
  return username;
}

/** A browser of its own, signed in as a new shopper (or staff member). */
async function person(browser: Browser, prefix: string, staff = false): Promise<[Page, string]> {
  let username: string;
  if (staff) {
    username = `${prefix}${stamp()}${++made}`;
    createStaff(username, password);
  } else {
    username = newShopper(prefix);
  }
  const page = await (await browser.newContext()).newPage();
  await signIn(page, username, password);
  return [page, username];
}

async function visitor(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

/** The question on the page whose text is `body`. */
function question(page: Page, body: string): Locator {
  return page.getByTestId("question").filter({ has: page.getByTestId("question-text").getByText(body, { exact: true }) });
}

/** The questions' texts, in the order the page shows them. */
function order(page: Page): Locator {
  return page.getByTestId("question-list").getByTestId("question-text");
}

async function ask(page: Page, body: string): Promise<void> {
  await page.getByTestId("ask-body").fill(body);
  await page.getByTestId("ask-submit").click();
  // Asked: the box empties, and the question arrives through the live feed.
  await expect(page.getByTestId("ask-body")).toHaveValue("");
  await expect(question(page, body)).toBeVisible();
}

test("a question reaches other shoppers and visitors live, and votes reorder it", async ({ browser }) => {
  const [id] = product();
  const [a, ann] = await person(browser, "qaann");
  const [b, bob] = await person(browser, "qabob");
  const v = await visitor(browser);
  for (const page of [a, b, v]) {
    await openLive(page, `/products/${id}`);
    await expect(page.getByTestId("question-count")).toHaveText("No questions yet.");
    await page.evaluate(() => ((window as any).__marker = "same-document"));
  }
  await expect(v.getByTestId("ask-form")).toHaveCount(0);
  await expect(v.getByTestId("ask-signin")).toBeVisible();

  // Bob asks first: everyone sees it at once, signed with his name, his own vote counted.
  const bobs = "Is the light warm white or cool white?";
  await ask(b, bobs);
  for (const page of [a, b, v]) {
    await expect(page.getByTestId("question-count")).toHaveText("1 question");
    await expect(question(page, bobs).getByTestId("question-author")).toHaveText(bob);
    await expect(question(page, bobs).getByTestId("votes")).toHaveText("1");
  }
  await expect(question(a, bobs).getByTestId("vote")).toHaveAttribute("aria-pressed", "false");
  await expect(question(v, bobs).getByTestId("vote"), "visitors cannot vote").toBeDisabled();
  await expect(v.getByTestId("product-question-count")).toHaveText("1 question");
  // Screen readers hear it too.
  await expect(v.getByTestId("announcer")).toHaveText("A new question was asked.");

  // Ann asks: one vote each, so the older question stays on top.
  const anns = "Does the shade come in green?";
  await ask(a, anns);
  for (const page of [a, b, v]) {
    await expect(page.getByTestId("question-count")).toHaveText("2 questions");
    await expect(order(page)).toHaveText([bobs, anns]);
  }
  await expect(question(b, anns).getByTestId("question-author")).toHaveText(ann);

  // Bob upvotes Ann's question: it has more votes now and moves up, live in Ann's page.
  await question(b, anns).getByTestId("vote").click();
  await expect(question(b, anns).getByTestId("vote")).toHaveAttribute("aria-pressed", "true");
  for (const page of [a, b, v]) {
    await expect(question(page, anns).getByTestId("votes")).toHaveText("2");
    await expect(order(page)).toHaveText([anns, bobs]);
  }
  // Bob takes his vote back: back to one vote, and below the older question again.
  await question(b, anns).getByTestId("vote").click();
  await expect(question(b, anns).getByTestId("vote")).toHaveAttribute("aria-pressed", "false");
  for (const page of [a, b, v]) {
    await expect(question(page, anns).getByTestId("votes")).toHaveText("1");
    await expect(order(page)).toHaveText([bobs, anns]);
    expect(await page.evaluate(() => (window as any).__marker), "no page reloaded").toBe("same-document");
  }

  // A fresh page agrees with the live ones, and remembers whose votes are whose.
  await openLive(b, `/products/${id}`);
  await expect(order(b)).toHaveText([bobs, anns]);
  await expect(question(b, bobs).getByTestId("vote")).toHaveAttribute("aria-pressed", "true");
  await expect(question(b, anns).getByTestId("vote")).toHaveAttribute("aria-pressed", "false");
  for (const page of [a, b, v]) await page.context().close();
});

test("the asker's own vote shows as theirs at once, and one press takes it back", async ({ browser }) => {
  const [id] = product();
  const [a] = await person(browser, "qaown");
  const [b] = await person(browser, "qaother");
  await openLive(a, `/products/${id}`);
  await openLive(b, `/products/${id}`);
  const body = "Can it be mounted on a wall?";
  await ask(a, body);
  await expect(question(b, body).getByTestId("votes")).toHaveText("1");
  // Counted as hers on the server (1 vote): her page, still open, says so.
  const vote = question(a, body).getByTestId("vote");
  await expect(vote, "the asker's page shows their own vote").toHaveAttribute("aria-pressed", "true");
  await vote.click();
  await expect(question(b, body).getByTestId("votes"), "one press takes the asker's vote back").toHaveText("0");
  await expect(vote).toHaveAttribute("aria-pressed", "false");
  await vote.click();
  await expect(question(b, body).getByTestId("votes")).toHaveText("1");
  await expect(vote).toHaveAttribute("aria-pressed", "true");
  for (const page of [a, b]) await page.context().close();
});

test("staff answer, hide a name and delete from the product page; shoppers, the catalog and the queue follow live", async ({ browser }) => {
  const [id, name] = product();
  const [a, ann] = await person(browser, "qaasker");
  const [staff] = await person(browser, "qastaff", true);
  const queue = await staff.context().newPage();
  const catalog = await visitor(browser);
  await openLive(a, `/products/${id}`);
  await openLive(queue, "/admin/questions");
  await openLive(catalog, `/?q=${encodeURIComponent(name)}`);
  await expect(productCard(catalog, id)).toBeVisible();
  await expect(productCard(catalog, id).getByTestId("card-question-count")).toHaveCount(0);
  const waiting = async () => {
    const text = (await queue.getByTestId("queue-count").textContent()) ?? "";
    return text.startsWith("Every") ? 0 : Number(text.match(/^(\d+) questions? waits? /)?.[1]);
  };
  const before = await waiting();
  expect(before, "the queue says how many wait").not.toBeNaN();

  // Ann asks; the staff queue shows it at once, first (unanswered, newest).
  const body = "Can the bulb be replaced with a brighter one?";
  await ask(a, body);
  await expect(a.getByTestId("staff-tools"), "shoppers get no staff tools").toHaveCount(0);
  const queued = queue.getByTestId("queued-question").first();
  await expect(queued.getByTestId("question-text")).toHaveText(body);
  await expect(queued).toContainText(name);
  await expect(queued.getByTestId("question-author")).toHaveText(ann);
  await expect(queue.getByTestId("queue-count")).toHaveText(
    before + 1 === 1 ? "1 question waits for an answer." : `${before + 1} questions wait for an answer.`,
  );
  await expect(productCard(catalog, id).getByTestId("card-question-count")).toHaveText("1 question");

  // Staff answer on the product page.
  await openLive(staff, `/products/${id}`);
  const mine = question(staff, body);
  await expect(mine.getByTestId("staff-tools")).toBeVisible();
  const answer = "Yes: any E27 bulb up to 60 W fits.";
  await mine.getByTestId("answer-body").fill(answer);
  await mine.getByTestId("answer-submit").click();
  await expect(question(a, body).getByTestId("answer")).toContainText(answer);
  await expect(mine.getByTestId("answer")).toContainText(answer);
  await expect(a.getByTestId("announcer")).toHaveText("A question was answered.");
  await expect(productCard(catalog, id).getByTestId("card-question-count")).toHaveText("1 question, answered");
  await expect(a.getByTestId("product-question-count")).toHaveText("1 question, answered");
  const answeredInQueue = queue.locator('[data-test-id="queued-question"]', { hasText: body });
  await expect(answeredInQueue).toContainText("answered");
  await expect(queue.getByTestId("queue-count")).toHaveText(
    before === 0 ? "Every question has an answer." : before === 1 ? "1 question waits for an answer." : `${before} questions wait for an answer.`,
  );

  // Staff hide Ann's name, then show it again: her page (and the queue) follow.
  await mine.getByTestId("hide-author").click();
  await expect(question(a, body).getByTestId("question-author")).toHaveText("A shopper");
  await expect(answeredInQueue.getByTestId("question-author")).toHaveText("A shopper");
  await expect(mine.getByTestId("hide-author")).toHaveText("Show the asker's name");
  await mine.getByTestId("hide-author").click();
  await expect(question(a, body).getByTestId("question-author")).toHaveText(ann);
  await expect(mine.getByTestId("hide-author")).toHaveText("Hide the asker's name");

  // Staff delete it: gone for everyone, and the counts with it.
  await mine.getByTestId("delete-question").click();
  await mine.getByTestId("delete-question-confirm").click();
  for (const page of [a, staff]) {
    await expect(question(page, body)).toHaveCount(0);
    await expect(page.getByTestId("question-count")).toHaveText("No questions yet.");
  }
  await expect(answeredInQueue).toHaveCount(0);
  await expect(productCard(catalog, id).getByTestId("card-question-count")).toHaveCount(0);
  await expect(a.getByTestId("product-question-count")).toHaveCount(0);
  for (const page of [a, staff, catalog]) await page.context().close();
});

test("a shopper's new display name signs their questions live on other pages", async ({ browser }) => {
  const [id] = product();
  const [a, ann] = await person(browser, "qarename");
  const [b] = await person(browser, "qawatch");
  await openLive(a, `/products/${id}`);
  await openLive(b, `/products/${id}`);
  await expect(a.getByTestId("asker-name")).toHaveText(ann);
  const body = "How long is the cable?";
  await ask(a, body);
  await expect(question(b, body).getByTestId("question-author")).toHaveText(ann);

  await a.getByTestId("rename").click();
  await expect(a.getByTestId("display-name")).toHaveValue(ann);
  await a.getByTestId("display-name").fill("Ann from Leeds");
  await a.getByTestId("rename-form").getByRole("button", { name: "Save name" }).click();
  await expect(a.getByTestId("asker-name")).toHaveText("Ann from Leeds");
  await expect(a.getByTestId("rename-form")).toHaveCount(0);
  await expect(question(a, body).getByTestId("question-author")).toHaveText("Ann from Leeds");
  await expect(question(b, body).getByTestId("question-author")).toHaveText("Ann from Leeds");

  // An empty name goes back to the username.
  await a.getByTestId("rename").click();
  await a.getByTestId("display-name").fill("");
  await a.getByTestId("rename-form").getByRole("button", { name: "Save name" }).click();
  await expect(a.getByTestId("asker-name")).toHaveText(ann);
  await expect(question(b, body).getByTestId("question-author")).toHaveText(ann);

  // What shoppers write is shown as they wrote it, never as markup.
  const markup = "Is it <b>really</b> 3 m & not <script>1</script>?";
  await ask(a, markup);
  await expect(question(b, markup).getByTestId("question-text")).toHaveText(markup);
  await expect(b.getByTestId("question-text").locator("b, script")).toHaveCount(0);
  for (const page of [a, b]) await page.context().close();
});

test("a visitor signs in from the question box and comes back to it", async ({ page }) => {
  const [id] = product();
  const username = newShopper("qavisitor");
  await openLive(page, `/products/${id}`);
  const link = page.getByTestId("ask-signin").getByRole("link", { name: "Sign in to ask a question" });
  await expect(link).toHaveAttribute("href", `/login?next=/products/${id}%23ask`);
  await link.click();
  await expect(page).toHaveURL(new RegExp(`/login\\?next=/products/${id}%23ask$`));
  // A visitor without an account goes by "Create an account": it comes back to the box too.
  await expect
    .soft(page.getByRole("link", { name: "Create an account" }), "the way back survives the switch to registering")
    .toHaveAttribute("href", `/register?next=/products/${id}%23ask`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(new RegExp(`/products/${id}#ask$`));
  await expect(page.getByTestId("signed-in-as")).toHaveText(username);
  await expect(page.getByTestId("ask-form")).toBeVisible();
  await expect.soft(page.getByTestId("ask-form"), "the page is scrolled to the box").toBeInViewport();
  await expect(page.getByTestId("asker-name")).toHaveText(username);
  await ask(page, "Is the switch on the cord?");
  await expect(page.getByTestId("question-count")).toHaveText("1 question");
});

test("a question too short, or one too many in an hour, is refused in words", async ({ browser }) => {
  const [id] = product();
  const [page] = await person(browser, "qamany");
  await openLive(page, `/products/${id}`);
  // Spaces pass the box's own length check; the shop trims them.
  await page.getByTestId("ask-body").fill("   Hm?   ");
  await page.getByTestId("ask-submit").click();
  await expect(page.getByTestId("ask-error")).toHaveText("Your question needs at least 5 characters.");
  await expect(page.getByTestId("question-count")).toHaveText("No questions yet.");

  for (let n = 1; n <= 10; n++) {
    await ask(page, `Question number ${n} about this lamp?`);
    await expect(page.getByTestId("ask-error")).toHaveCount(0);
  }
  await expect(page.getByTestId("question-count")).toHaveText("10 questions");
  await page.getByTestId("ask-body").fill("And an eleventh question?");
  await page.getByTestId("ask-submit").click();
  await expect(page.getByTestId("ask-error")).toHaveText(/^Too many .*Try again in .+\.$/);
  // Not asked, and the words are kept for later.
  await expect(page.getByTestId("ask-body")).toHaveValue("And an eleventh question?");
  await expect(page.getByTestId("question-count")).toHaveText("10 questions");
  await page.context().close();
});

test("on a phone the questions, the ask box and the staff tools fit the screen", async ({ browser }) => {
  const [id] = product();
  const author = newShopper("qaaveryveryverylongdisplayname");
  const authorId = Number(outsideSql(`SELECT id FROM users WHERE username = '${author}'`));
  // Questions written from outside (an import, a sqlite3 session): a long word, an answer.
  outsideSql(
    `INSERT INTO questions (product_id, author_id, body, answer, answered_at) VALUES ` +
      `(${id}, ${authorId}, 'Does it work with the ${"Supercalifragilistic".repeat(4)} adapter?', ` +
      `'Yes, with the adapter from ${"https://example.com/".repeat(3)}.', '2026-11-30T10:00:00Z'), ` +
      `(${id}, ${authorId}, 'What is the warranty?', NULL, NULL)`,
  );
  const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
  const [shopper, staff] = [await browser.newContext(phone), await browser.newContext(phone)];
  const [s, t] = [await shopper.newPage(), await staff.newPage()];

  await openLive(s, `/products/${id}`);
  await expect(s.getByTestId("question")).toHaveCount(2);
  await fitsTheScreen(s, "a product page with questions, for a visitor");

  await signIn(s, newShopper("qaphone"), password);
  await openLive(s, `/products/${id}`);
  await expect(s.getByTestId("ask-form")).toBeVisible();
  await s.getByTestId("rename").click();
  await expect(s.getByTestId("rename-form")).toBeVisible();
  await fitsTheScreen(s, "a product page with questions, signed in");

  const staffName = `qaphonestaff${stamp()}${++made}`;
  createStaff(staffName, password);
  await signIn(t, staffName, password);
  await openLive(t, `/products/${id}`);
  await expect(t.getByTestId("staff-tools")).toHaveCount(2);
  await t.getByTestId("delete-question").first().click();
  await expect(t.getByTestId("delete-question-confirm")).toBeVisible();
  await fitsTheScreen(t, "a product page with questions, for staff");
  await openLive(t, "/admin/questions");
  await fitsTheScreen(t, "/admin/questions");
  await shopper.close();
  await staff.close();
});
