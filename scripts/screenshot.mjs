// Open the built page (dist/ served at URL), draw a "7" with pointer events, wait for the
// predictions, and save a screenshot. Usage: node scripts/screenshot.mjs URL OUT.png
// Needs playwright-core (npm) and Debian's chromium.
import { chromium } from 'playwright-core';

const [url = 'http://127.0.0.1:8090/', out = 'docs/screenshot.png'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const page = await browser.newPage({ viewport: { width: 1240, height: 1250 } });
page.on('console', (m) => console.log('console:', m.text()));
await page.goto(url);
await page.waitForSelector('[data-state=ready]', { timeout: 120000 });
const box = await page.locator('[data-testid=draw-canvas]').boundingBox();
const at = (x, y) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];
const stroke = async (pts) => {
  await page.mouse.move(...at(...pts[0]));
  await page.mouse.down();
  for (const p of pts.slice(1)) await page.mouse.move(...at(...p), { steps: 8 });
  await page.mouse.up();
};
await stroke([[70, 60], [210, 60], [150, 150], [115, 240]]);
await page.waitForFunction(() => document.querySelector('[data-testid=odd-even-prob]').textContent.trim() !== '–', null, { timeout: 30000 });
await page.waitForTimeout(1500);
const read = async (id) => (await page.locator(`[data-testid=${id}]`).textContent()).trim();
console.log(JSON.stringify({ p_odd: await read('odd-even-prob'), p_rounded: await read('curvature-prob'), digit: await read('digit-guess'), badge: await read('backend-badge') }));
await page.screenshot({ path: out, fullPage: true });
await browser.close();
