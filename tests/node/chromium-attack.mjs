// A real browser attacked by another origin (issue 14 item 1): Debian's Chromium,
// headless, driven by playwright-core. In one browser profile:
//  1. the victim opens the development AS's consent page ($CONSENT_URL);
//  2. a page on another origin ($ATTACKER_URL) runs its script, given the worst case
//     (it knows the request id and CSRF value), and submits the decision form;
//  3. the victim then clicks Approve on the real page.
// Prints one JSON object: what the attacker's script saw, where its form POST
// landed (status, text), and where the victim's click landed.
import { chromium } from 'playwright-core';

const consentUrl = process.env.CONSENT_URL;
const attackerUrl = process.env.ATTACKER_URL;
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = {};
try {
  const context = await browser.newContext();
  const victim = await context.newPage();
  await victim.goto(consentUrl, { waitUntil: 'load', timeout: 20000 });
  const fields = {
    request_id: await victim.getAttribute('input[name=request_id]', 'value'),
    csrf: await victim.getAttribute('input[name=csrf]', 'value'),
  };
  out.victimCookies = (await context.cookies()).map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite, path: c.path }));

  const attacker = await context.newPage();
  await attacker.goto(attackerUrl + '#' + encodeURIComponent(JSON.stringify(fields)), { waitUntil: 'load', timeout: 20000 });
  await attacker.waitForSelector('#out[data-done]', { state: 'attached', timeout: 20000 });
  out.script = JSON.parse(await attacker.textContent('#out'));
  const [response] = await Promise.all([attacker.waitForNavigation({ timeout: 20000 }), attacker.click('#go')]);
  out.formPost = { url: response.url(), status: response.status(), text: await attacker.innerText('body') };

  await Promise.all([victim.waitForURL(/\/oauth\/callback/, { timeout: 20000 }), victim.click('button#approve')]);
  out.victim = { url: victim.url() };
} catch (err) {
  out.error = String(err);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
