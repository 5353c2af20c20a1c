// A real browser for atoms-auth's page tests: Debian's Chromium, headless,
// driven by playwright-core (which downloads no browser of its own).
// Used as BROWSER (through ./chromium-browser): it opens the authorization URL,
// and on the development AS's consent page clicks the button named by
// $BROWSER_DECISION (approve|deny, default approve), then waits for the
// loopback callback page. Screenshots go to $BROWSER_SCREENSHOT_DIR when set
// (consent.png, callback.png); page texts to $BROWSER_TEXT_LOG.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const url = process.argv[process.argv.length - 1];
const decision = process.env.BROWSER_DECISION || 'approve';
const shots = process.env.BROWSER_SCREENSHOT_DIR;
const textLog = process.env.BROWSER_TEXT_LOG;
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  await page.goto(url, { waitUntil: 'load', timeout: 20000 });
  const record = async (name) => {
    if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    if (textLog) appendFileSync(textLog, `--- ${name}\n${await page.innerText('body')}\n`);
  };
  if (await page.locator(`button#${decision}`).count()) {
    await record('consent');
    await Promise.all([page.waitForURL(/\/oauth\/callback/, { timeout: 20000 }), page.click(`button#${decision}`)]);
  }
  await page.waitForLoadState('load');
  await record('callback');
} finally {
  await browser.close();
}
