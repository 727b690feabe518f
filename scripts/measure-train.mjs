// Rough in-browser training speed: open the built page, pick a backend, train one epoch on a
// small subset and read images/s from the progress line. Usage:
//   node scripts/measure-train.mjs URL BACKEND(flex|ndarray|webgpu) IMAGES BATCH
import { chromium } from 'playwright-core';

const [url = 'http://127.0.0.1:8090/', backend = 'flex', images = '640', batch = '64'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const page = await browser.newPage();
await page.goto(url);
await page.waitForSelector('[data-state=ready]', { timeout: 120000 });
if (backend !== 'flex') {
  await page.selectOption('[data-testid=backend-select]', backend);
  await page.waitForFunction((b) => document.querySelector('[data-testid=backend-badge]').textContent.toLowerCase().includes(b === 'webgpu' ? 'webgpu (burn' : b), backend, { timeout: 120000 });
}
const set = async (label, v) => page.locator(`label:has-text("${label}") input`).fill(String(v)).then(() => page.locator(`label:has-text("${label}") input`).dispatchEvent('change'));
await set('epochs', 1);
await set('batch', batch);
await set('training images', images);
const t0 = Date.now();
await page.click('[data-testid=train-button]');
let last = '';
const batches = Math.ceil(Number(images) / Number(batch));
const handle = await page.waitForFunction((n) => {
  const t = document.querySelector('.progress-text').textContent;
  return t.includes(`batch ${n}/${n}`) ? t : false;
}, batches, { timeout: 600000, polling: 20 });
last = await handle.jsonValue();
await page.waitForFunction(() => document.querySelector('.progress-text').textContent === 'done', null, { timeout: 600000 });
console.log(JSON.stringify({ backend, images: Number(images), batch: Number(batch), progress: last, wall_s: (Date.now() - t0) / 1000 }));
await browser.close();
