// The device flow's verification page (RFC 8628 §3.3) in a real browser: Debian's
// Chromium, headless, driven by playwright-core. Usage:
//   node chromium-device.mjs VERIFICATION_URI USER_CODE approve|deny
// Opens the page, types the code as a user would (lower case, no dash), continues,
// then clicks Approve or Deny and prints each page's text (entry, confirm, result)
// on stdout, separated by "--- NAME" lines. Exit 0 when the result page was reached.
import { chromium } from 'playwright-core';

const [url, userCode, decision = 'approve'] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let code = 1;
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  const errors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  await page.goto(url, { waitUntil: 'load', timeout: 20000 });
  console.log(`--- entry\n${await page.innerText('body')}`);
  await page.fill('#user_code', userCode.toLowerCase().replace('-', ''));
  await Promise.all([page.waitForLoadState('load'), page.click('#continue')]);
  await page.waitForSelector(`button#${decision}`, { timeout: 20000 });
  console.log(`--- confirm\n${await page.innerText('body')}`);
  await Promise.all([page.waitForSelector('#result', { timeout: 20000 }), page.click(`button#${decision}`)]);
  console.log(`--- result\n${await page.innerText('body')}`);
  if (errors.length) console.log(`--- console errors\n${errors.join('\n')}`);
  code = 0;
} finally {
  await browser.close();
}
process.exit(code);
