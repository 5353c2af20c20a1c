// The device flow's verification page (RFC 8628 §3.3, §3.3.1) of oidc-provider
// (tests/node/oidc-as.mjs with DEVICE_FLOW=1) in a real browser: Debian's Chromium,
// headless, driven by playwright-core (as chromium-device.mjs does for serve's
// development AS, whose page is different). Usage:
//   node chromium-oidc-device.mjs VERIFICATION_URI USER_CODE continue|abort
//       opens the verification URI and types the code as a user would (lower case,
//       no dash: oidc-provider normalises it) into the user-code form;
//   node chromium-oidc-device.mjs VERIFICATION_URI_COMPLETE - continue|abort
//       opens the complete URI (§3.3.1): oidc-provider posts the code in it from the
//       page's own script (no entry page is printed then).
// Then clicks Continue on the user-code form, Continue or [ Abort ] on the
// "Confirm Device" page, and whatever sign-in and consent oidc-as.mjs asks for:
// none with INTERACTION=auto (its redirects sign the test user in), the
// devInteractions forms with INTERACTION=forms (any login and password, Sign-in,
// then Continue on the consent page). Prints each page's text on stdout, in
// sections headed "--- NAME" (entry, confirm, sign-in, consent, result).
// Only loopback is reached: the pages' Google Fonts import is refused.
// Exit 0 when a final page (success, or the aborted/error page) was reached.
import { chromium } from 'playwright-core';

const [url, userCode = '-', decision = 'continue'] = process.argv.slice(2);
if (!url || !['continue', 'abort'].includes(decision)) {
  console.error('usage: chromium-oidc-device.mjs URL USER_CODE|- continue|abort');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let code = 1;
const TIMEOUT = 20000;
try {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    return ['127.0.0.1', 'localhost', '[::1]'].includes(host) ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  const show = async (name) => console.log(`--- ${name}\n${await page.innerText('body')}`);
  // Click a button and wait for the page its form submission navigates to.
  const submit = async (button) => {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load', timeout: TIMEOUT }), button.click()]);
  };

  await page.goto(url, { waitUntil: 'load', timeout: TIMEOUT });
  if (userCode !== '-') {
    const input = page.locator('form#op\\.deviceInputForm input[name="user_code"]');
    await input.waitFor({ timeout: TIMEOUT });
    await input.click();
    await page.keyboard.type(userCode.toLowerCase().replace(/-/g, ''), { delay: 20 });
    await show('entry');
    await submit(page.getByRole('button', { name: 'Continue', exact: true }));
  }
  // With the complete URI, oidc-provider answers with a form carrying the code that its
  // script posts at once: the browser lands on the confirm page without a click.
  await page.getByRole('heading', { name: 'Confirm Device' }).waitFor({ timeout: TIMEOUT });
  await show('confirm');
  await submit(page.getByRole('button', { name: decision === 'abort' ? '[ Abort ]' : 'Continue', exact: true }));

  // The interaction, if any, then the final page.
  for (let step = 0; step < 5; step += 1) {
    if (await page.locator('input[name="login"]').count()) {
      await show('sign-in');
      await page.fill('input[name="login"]', 'dev@example.test');
      await page.fill('input[name="password"]', 'any password');
      await submit(page.getByRole('button', { name: 'Sign-in', exact: true }));
    } else if (await page.locator('input[name="prompt"][value="consent"]').count()) {
      await show('consent');
      await submit(page.getByRole('button', { name: 'Continue', exact: true }));
    } else {
      break;
    }
  }
  await show('result');
  if (errors.length) console.log(`--- page errors\n${errors.join('\n')}`);
  code = 0;
} catch (err) {
  console.error(String(err && err.stack ? err.stack : err));
} finally {
  await browser.close();
}
process.exit(code);
