// Opens doctor's HTML report (a file) in Debian's Chromium, headless, driven by
// playwright-core, and prints what a reader would meet as one JSON document:
// every request the page made, console errors and page errors, the SVG steps
// (class, mark, bounding box, arrow colour), which checks are shown at first,
// after clicking a step (argv[3], a step key), the first evidence there (opened),
// after Enter on a focused step (argv[5]), and after "Show every step's checks".
// A screenshot of the first screen goes to argv[4] when given.
// Usage: node doctor-report.mjs /path/report.html STEP [screenshot.png [STEP-BY-KEYBOARD]]
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [file, clickStep, shot, keyStep] = process.argv.slice(2);
const url = pathToFileURL(file).href;
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const report = { url, requests: [], console: [], pageErrors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('request', (r) => report.requests.push(r.url()));
  page.on('console', (m) => report.console.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => report.pageErrors.push(String(e)));
  await page.goto(url, { waitUntil: 'load', timeout: 20000 });
  const visible = () => page.$$eval('section.checks', (ss) => ss.filter((s) => !s.hidden && s.getBoundingClientRect().height > 0).map((s) => ({ step: s.dataset.step, checks: Array.from(s.querySelectorAll('article.check')).map((a) => a.dataset.check) })));
  report.svg = await page.$eval('#flow-svg', (svg) => { const b = svg.getBoundingClientRect(); return { width: b.width, height: b.height }; });
  report.steps = await page.$$eval('g.step', (gs) => gs.map((g) => {
    const b = g.getBoundingClientRect();
    const line = g.querySelector('line.request');
    return { key: g.dataset.step, mark: g.dataset.mark, className: g.getAttribute('class'), pressed: g.getAttribute('aria-pressed'), box: { x: b.x, y: b.y, width: b.width, height: b.height }, stroke: getComputedStyle(line).stroke, badge: getComputedStyle(g.querySelector('circle.badge')).fill };
  }));
  report.initial = await visible();
  if (shot) await page.screenshot({ path: shot });
  if (clickStep) {
    await page.click(`g.step[data-step="${clickStep}"]`);
    report.afterClick = await visible();
    report.pressedAfterClick = await page.$$eval('g.step[aria-pressed="true"]', (gs) => gs.map((g) => g.dataset.step));
  }
  const evidence = page.locator('section.checks:not([hidden]) details.evidence').first();
  if (await evidence.count()) {
    await evidence.locator('summary').click();
    report.evidence = await evidence.locator('pre').innerText();
  }
  if (keyStep) {  // the keyboard reaches a step too (tabindex, Enter)
    await page.focus(`g.step[data-step="${keyStep}"]`);
    await page.keyboard.press('Enter');
    report.afterEnter = await visible();
  }
  await page.click('#show-all');
  report.afterShowAll = await visible();
  report.text = await page.innerText('body');
  report.csp = await page.$eval('meta[http-equiv="Content-Security-Policy"]', (m) => m.content);
  report.scriptsRun = await page.evaluate(() => window.__hostile === undefined ? 0 : 1);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report));
