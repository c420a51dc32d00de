// A PDF opened in Chromium's own PDF viewer (PDFium), headless, driven by playwright-core
// (Debian's Chromium): the viewer must load it, name it, count PAGES pages and show no
// error screen, and show TITLE (the information's title) if given; a screenshot of it is
// left at SCREENSHOT.png.
//   node scripts/pdf-chromium.cjs FILE.pdf PAGES SCREENSHOT.png [TITLE]
// Exits non-zero with the reason when Chromium cannot open it.
"use strict";

const path = require("path");
const { chromium } = require("playwright-core");

async function main() {
  const [file, pages, shot, wanted] = process.argv.slice(2);
  if (!shot) throw new Error("usage: pdf-chromium.cjs FILE.pdf PAGES SCREENSHOT.png");
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1200 } });
    page.setDefaultTimeout(20000);
    const url = "file://" + path.resolve(file);
    const resp = await page.goto(url);
    if (!resp || resp.headers()["content-type"] !== "application/pdf") {
      throw new Error(`Chromium did not take it as a PDF: ${resp && resp.headers()["content-type"]}`);
    }
    // The viewer is an extension frame; its elements are in shadow roots, which
    // playwright's CSS locators pierce.
    let viewer = null;
    for (let i = 0; i < 100 && !viewer; i++) {
      viewer = page.frames().find((f) => f.url().startsWith("chrome-extension://"));
      if (!viewer) await page.waitForTimeout(100);
    }
    if (!viewer) throw new Error("Chromium's PDF viewer did not open");
    const title = viewer.locator("#title");
    const length = viewer.locator("#pagelength");
    const error = viewer.locator("#error-screen, viewer-error-dialog");
    // The count is read until it is the expected one: under load the viewer shows an
    // empty count, or redraws, before the document is laid out.
    let counted = "";
    for (let i = 0; i < 400; i++) {
      if (await error.count()) throw new Error("Chromium's PDF viewer shows an error: the file did not load");
      counted = (await length.count()) ? (await length.first().innerText().catch(() => "")).trim() : "";
      if (counted === String(pages)) break;
      await page.waitForTimeout(100);
    }
    if (counted !== String(pages)) throw new Error(`the viewer counts ${counted} pages, not ${pages}`);
    const named = (await title.innerText()).trim();
    if (!named) throw new Error("the viewer names no document");
    if (wanted && named !== wanted) throw new Error(`the viewer shows the title "${named}", not "${wanted}"`);
    await page.waitForTimeout(500);
    if (await error.count()) throw new Error("Chromium's PDF viewer shows an error");
    await page.screenshot({ path: shot });
    console.log(`Chromium opened ${path.basename(file)}: ${counted} page(s), titled "${named}"`);
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error("pdf-chromium: " + e.message);
  process.exit(1);
});
