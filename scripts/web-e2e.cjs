// The doctors' page end to end, in headless Chromium (Debian's, driven by playwright-core):
// sign in with a development token, open a patient, open a document, read its text, search.
//   node scripts/web-e2e.cjs BASE_URL TOKEN PATIENT EXPECTED_TEXT SCREENSHOT.png
// Exits non-zero with the reason when any step fails.
"use strict";

const { chromium } = require("playwright-core");

async function main() {
  const [base, token, patient, expected, shot] = process.argv.slice(2);
  if (!shot) throw new Error("usage: web-e2e.cjs BASE_URL TOKEN PATIENT EXPECTED_TEXT SCREENSHOT.png");
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

    // Search finds the expected words and links to the document.
    const word = expected.split(/\s+/)[0];
    await page.getByTestId("search-input").fill(word);
    await page.getByTestId("search").click();
    await page.locator("#results .hit mark").first().waitFor();

    // Open the document that matched and read its text, page by page.
    await page.locator("#results .hit button").first().click();
    const text = page.getByTestId("document-text");
    await text.locator(".page").first().waitFor();
    const body = await text.innerText();
    if (!body.includes(expected)) throw new Error(`the document text lacks "${expected}": ${body.slice(0, 300)}`);
    if (!/Page 1/.test(body)) throw new Error("no page heading");
    await page.screenshot({ path: shot, fullPage: true });
    if (errors.length) throw new Error(errors.join("\n"));
    console.log(`web page: signed in, ${count} document(s) listed, search and text OK; screenshot ${shot}`);
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error("web page check failed: " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
