// Compare in-browser training speed of two or more page builds (e.g. SIMD128 on and off), served
// one after the other in the same headless Chromium, through the page's `window.latentLabBench`.
// Usage: node scripts/compare-dists.mjs NAME=DIST_DIR NAME=DIST_DIR ...   (see bench/PROFILE.md)
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = createRequire(join(root, 'tests/e2e/package.json'))('playwright-core');
const { serve } = await import(join(root, 'tests/e2e/server.mjs'));
const builds = process.argv.slice(2).map((a) => a.split('='));
if (builds.length < 2 || builds.some((b) => b.length !== 2)) {
  console.error('usage: node scripts/compare-dists.mjs NAME=DIST_DIR NAME=DIST_DIR ...');
  process.exit(2);
}
const browser = await chromium.launch({ executablePath: process.env.CHROME ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
const out = {};
// Each build twice, interleaved (A B A B), so drifting machine load does not favour one.
for (const [name, dir] of [...builds, ...builds]) {
  const server = await serve(dir);
  const page = await browser.newPage();
  await page.goto(server.origin + '/?backend=cpu');
  await page.waitForSelector('[data-state=ready]', { timeout: 120_000 });
  for (const batch of [64, 256]) {
    const p = JSON.parse(await page.evaluate(([b]) => window.latentLabBench('flex', 'ae', 16, b, b === 64 ? 15 : 6), [batch]));
    (out[`${name}_b${batch}`] ??= []).push(Math.round(p.images_per_sec));
  }
  await page.close();
  await server.close();
}
await browser.close();
console.log(JSON.stringify(out));
