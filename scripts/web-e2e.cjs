// The doctors' page end to end, in headless Chromium (Debian's, driven by playwright-core):
// sign in with a development token, open a patient, read the timeline grouped by type,
// filter it by type and by days, open a document, see what it reads as and its dates,
// file it as another type, read its text, search.
//   node scripts/web-e2e.cjs BASE_URL TOKEN PATIENT EXPECTED_TEXT SCREENSHOT.png TYPE DATE
// TYPE and DATE (YYYY-MM-DD): one of the patient's documents is read as TYPE, dated DATE.
// Exits non-zero with the reason when any step fails.
"use strict";

const { chromium } = require("playwright-core");

async function main() {
  const [base, token, patient, expected, shot, type, date] = process.argv.slice(2);
  if (!date) throw new Error("usage: web-e2e.cjs BASE_URL TOKEN PATIENT EXPECTED_TEXT SCREENSHOT.png TYPE DATE");
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (e) => errors.push("page error: " + e.message));
    page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
    page.setDefaultTimeout(20000);

    await page.goto(base + "/");
    await page.getByTestId("token").fill(token);
    await page.getByTestId("signin").click();
    await page.getByTestId("who").filter({ hasText: "doctor" }).waitFor();

    // The care team's patient is listed; open them.
    await page.locator(`#patients button[data-patient="${patient}"]`).click();
    const cards = page.locator("#docs .doc");
    await cards.first().waitFor();
    const count = await cards.count();
    if (count < 1) throw new Error("no documents listed");
    // Thumbnails are fetched with the token and shown.
    await page.locator("#docs .doc img").first().waitFor();
    const thumbWidth = await page.locator("#docs .doc img").first().evaluate((img) => img.naturalWidth);
    if (!(thumbWidth > 0)) throw new Error("the thumbnail did not load");

    // The timeline, grouped by type: the group of the newest document first, each group
    // newest first, every document's date in words.
    await page.locator("#docs .group").first().waitFor();
    const groups = await page.locator("#docs .group").evaluateAll((gs) =>
      gs.map((g) => ({ code: g.dataset.group, dates: [...g.querySelectorAll(".doc")].map((d) => d.dataset.date) })));
    const newest = groups.map((g) => g.dates[0]);
    for (const g of groups) {
      if (g.dates.some((d, i) => i > 0 && d > g.dates[i - 1])) throw new Error(`group ${g.code} is not newest first: ${g.dates}`);
    }
    if (newest.some((d, i) => i > 0 && d > newest[i - 1])) throw new Error(`groups are not in order of their newest: ${JSON.stringify(groups)}`);
    const group = groups.find((g) => g.code === type);
    if (!group || !group.dates.includes(date)) throw new Error(`no ${type} dated ${date} in ${JSON.stringify(groups)}`);
    const card = page.locator(`#docs .group[data-group="${type}"] .doc[data-date="${date}"]`).first();
    const shown = await card.locator(".when").innerText();
    // In the reader's convention, the month in words.
    const words = await page.evaluate((iso) => new Date(iso + "T00:00:00Z")
      .toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }), date);
    if (!shown.includes(words) || !/[A-Za-z]{3}/.test(words)) throw new Error(`the card shows "${shown}", not ${words}`);

    await page.screenshot({ path: shot.replace(/\.png$/, "-timeline.png"), fullPage: true });

    // Filters: one type; then the days around that date (both ends included).
    await page.getByTestId("type-filter").selectOption(type);
    await page.waitForFunction((t) => {
      const docs = [...document.querySelectorAll("#docs .doc")];
      return docs.length > 0 && docs.every((d) => d.dataset.type === t);
    }, type);
    await page.getByTestId("type-filter").selectOption("");
    await page.getByTestId("from").fill(date);
    await page.getByTestId("to").fill(date);
    await page.getByTestId("to").dispatchEvent("change");
    await page.waitForFunction((day) => {
      const docs = [...document.querySelectorAll("#docs .doc")];
      return docs.length > 0 && docs.every((d) => d.dataset.date === day);
    }, date);

    // Open it: what it reads as, why, and its dates; file it as a clinic letter and back.
    await page.locator(`#docs .doc[data-date="${date}"]`).first().click();
    const readsAs = page.getByTestId("reads-as");
    await readsAs.waitFor();
    if (!/read from the text/.test(await readsAs.innerText())) throw new Error("no type read: " + (await readsAs.innerText()));
    if ((await page.locator("[data-testid=dates] li").count()) < 1) throw new Error("no dates listed");
    const refile = type === "clinic_letter" ? "other" : "clinic_letter";
    await page.getByTestId("file-as").selectOption(refile);
    await page.getByTestId("file").click();
    await page.getByTestId("reads-as").filter({ hasText: "filed by staff" }).waitFor();
    await page.locator("#back").click();
    await page.locator(`#docs .group[data-group="${refile}"] .doc[data-date="${date}"]`).first().waitFor();
    await page.getByTestId("from").fill("");
    await page.getByTestId("to").fill("");
    await page.getByTestId("to").dispatchEvent("change");
    await page.locator("#docs .group").nth(1).waitFor();

    // Search finds the expected words and links to the document.
    const word = expected.split(/\s+/)[0];
    await page.getByTestId("search-input").fill(word);
    await page.getByTestId("search").click();
    await page.locator("#results .hit mark").first().waitFor();

    // A hit's page link opens the document at that page, the matching words outlined
    // on the page image.
    await page.locator("#results .hit [data-page] button").first().click();
    const found = page.getByTestId("found-on-page");
    await found.locator("img").waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector("[data-testid=found-on-page] img");
      return img && img.complete && img.naturalWidth > 0;
    });
    const boxes = await found.locator(".found").evaluateAll((bs) => bs.map((b) => {
      const r = b.getBoundingClientRect();
      const i = b.parentElement.querySelector("img").getBoundingClientRect();
      return { inside: r.left >= i.left - 1 && r.right <= i.right + 1 && r.top >= i.top - 1 && r.bottom <= i.bottom + 1, w: r.width, h: r.height };
    }));
    if (!boxes.length || boxes.some((b) => !b.inside || b.w < 2 || b.h < 2)) throw new Error("the found words are not outlined on the page: " + JSON.stringify(boxes));
    await page.screenshot({ path: shot.replace(/\.png$/, "-found.png"), fullPage: true });

    // Its text, page by page.
    const text = page.getByTestId("document-text");
    await text.locator(".page").first().waitFor();
    const body = await text.innerText();
    if (!body.includes(expected)) throw new Error(`the document text lacks "${expected}": ${body.slice(0, 300)}`);
    if (!/Page 1/.test(body)) throw new Error("no page heading");
    await page.screenshot({ path: shot, fullPage: true });
    if (errors.length) throw new Error(errors.join("\n"));
    console.log(`web page: signed in, ${count} document(s) in ${groups.length} groups by type, filters, filing, search (words outlined on the page) and text OK; screenshot ${shot}`);
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error("web page check failed: " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
