// End-to-end test of the built page (issue 3, item 9): serve dist/ on 127.0.0.1, drive Debian's
// headless Chromium with playwright-core, draw a digit with real pointer events, check the
// predictions and the reconstruction, train a few batches, upload a corrupt weights file, check the
// CPU fallback without WebGPU, and save a screenshot. Run by scripts/e2e.sh (`node --test tests/e2e/`).
//
// Environment:
//   E2E_DIST            directory to serve (default: dist/ at the repository root)
//   E2E_OUT             screenshot path (default: target/e2e/page.png); timings.json goes beside it
//   E2E_CHROMIUM        browser binary (default: /usr/bin/chromium)
//   E2E_READY_MS        how long the page may take to become ready (default 90000)
//   E2E_READY_BUDGET_MS if set, fail when the page took longer than this to become ready
//   E2E_TRAIN_MS        how long training a few batches may take (default 300000)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './server.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = resolve(ROOT, process.env.E2E_DIST ?? 'dist');
const OUT = resolve(ROOT, process.env.E2E_OUT ?? 'target/e2e/page.png');
const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const READY_MS = Number(process.env.E2E_READY_MS ?? 90_000);
const TRAIN_MS = Number(process.env.E2E_TRAIN_MS ?? 300_000);
// Issue 3 asks for "ready to draw within 2 s on localhost"; set this (e.g. 2000) to enforce it.
const READY_BUDGET_MS = process.env.E2E_READY_BUDGET_MS ? Number(process.env.E2E_READY_BUDGET_MS) : null;

// webdriver.json's flags. The fallback browser drops --enable-unsafe-webgpu and turns WebGPU off.
const COMMON_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];
const WEBGPU_ARGS = [...COMMON_ARGS, '--enable-unsafe-webgpu'];
const NO_WEBGPU_ARGS = [...COMMON_ARGS, '--disable-features=WebGPU,Vulkan', '--disable-blink-features=WebGPU', '--disable-gpu'];

const timings = {};
let server;
const pageRequests = []; // every request any page made: { browser, url }

// Records, from before the page's own scripts run, every change of the app root's data-state and
// of the progress bar's aria-valuenow, with performance.now() (ms since navigation start).
const RECORDER = () => {
  window.__e2e = { states: [], progress: [], longTasks: [] };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__e2e.longTasks.push({ start: Math.round(e.startTime), ms: Math.round(e.duration) });
    }).observe({ type: 'longtask', buffered: true });
  } catch {}
  new MutationObserver((records) => {
    for (const r of records) {
      const v = r.target.getAttribute(r.attributeName);
      if (r.attributeName === 'data-state') window.__e2e.states.push({ state: v, t: performance.now() });
      else if (r.target.getAttribute('role') === 'progressbar') window.__e2e.progress.push({ value: Number(v), t: performance.now() });
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state', 'aria-valuenow'] });
};

async function openBrowser(name, args) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args, timeout: 60_000 });
  const page = await browser.newPage({ viewport: { width: 1240, height: 1250 } });
  const log = [];
  page.on('console', (m) => {
    const line = `[${name} console.${m.type()}] ${m.text()}`;
    log.push(line);
    console.log(line);
  });
  page.on('pageerror', (e) => {
    const line = `[${name} pageerror] ${e.message}`;
    log.push(line);
    console.log(line);
  });
  page.on('request', (r) => pageRequests.push({ browser: name, url: r.url() }));
  await page.addInitScript(RECORDER);
  return { browser, page, log };
}

const testid = (page, id) => page.locator(`[data-testid=${id}]`);
const text = async (page, id) => ((await testid(page, id).textContent({ timeout: 5000 })) ?? '').trim();

/** Open the page and wait (bounded) for data-state=ready; returns ms from navigation start. */
async function openPage(page) {
  const t0 = Date.now();
  // With a query string, as shared links carry one: the page and its training workers must
  // resolve assets/ against the path, not append to the query (a bug this caught).
  await page.goto(server.origin + '/?from=e2e', { waitUntil: 'load', timeout: 60_000 });
  await page
    .waitForSelector('[data-testid=app][data-state=ready]', { timeout: READY_MS })
    .catch(async () => {
      const state = await page.locator('[data-testid=app]').getAttribute('data-state').catch(() => 'no app root');
      const banner = await page.locator('[data-testid=error-banner]').textContent().catch(() => '');
      throw new Error(`page not ready after ${READY_MS} ms: data-state=${state}; error banner: ${JSON.stringify(banner?.trim())}`);
    });
  const wall = Date.now() - t0;
  const states = await page.evaluate(() => window.__e2e.states);
  const ready = states.find((s) => s.state === 'ready');
  return { wallMs: wall, sinceNavigationMs: ready ? Math.round(ready.t) : null, states };
}

/** Draw a "7" on the 280x280 canvas with real mouse (pointer) events. */
async function drawSeven(page) {
  const canvas = testid(page, 'draw-canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  assert.ok(box && box.width > 50 && box.height > 50, `draw-canvas has no usable size: ${JSON.stringify(box)}`);
  const at = (x, y) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];
  const stroke = async (pts) => {
    await page.mouse.move(...at(...pts[0]));
    await page.mouse.down();
    for (const p of pts.slice(1)) await page.mouse.move(...at(...p), { steps: 8 });
    await page.mouse.up();
  };
  await stroke([[70, 60], [210, 60], [150, 150], [115, 240]]);
}

/**
 * Wait until the three outputs show values and stay the same for 600 ms (predictions run once per
 * animation frame, asynchronously); returns them as text.
 */
async function settledOutputs(page, timeout = 30_000) {
  const read = async () => ({
    pOdd: await text(page, 'odd-even-prob'),
    pRounded: await text(page, 'curvature-prob'),
    digit: await text(page, 'digit-guess'),
  });
  const end = Date.now() + timeout;
  let last = await read();
  let since = Date.now();
  while (Date.now() < end) {
    await page.waitForTimeout(150);
    const now = await read();
    const filled = [now.pOdd, now.pRounded, now.digit].every((s) => s !== '' && s !== '–' && s !== '-');
    if (JSON.stringify(now) !== JSON.stringify(last)) {
      last = now;
      since = Date.now();
    } else if (filled && Date.now() - since >= 600) {
      return now;
    }
  }
  throw new Error(`predictions did not appear (or kept changing) within ${timeout} ms after drawing; last seen ${JSON.stringify(last)}`);
}

function assertProbability(s, what) {
  assert.match(s, /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/, `${what} should be a number, got ${JSON.stringify(s)}`);
  const p = Number(s);
  assert.ok(p >= 0 && p <= 1, `${what} should be in [0, 1], got ${p}`);
  return p;
}

function assertPredictions(out) {
  const pOdd = assertProbability(out.pOdd, 'odd-even-prob (P(odd))');
  const pRounded = assertProbability(out.pRounded, 'curvature-prob (P(rounded))');
  assert.match(out.digit, /^[0-9]$/, `digit-guess should be one digit, got ${JSON.stringify(out.digit)}`);
  return { pOdd, pRounded, digit: Number(out.digit) };
}

/** Pixel statistics of a canvas, read in the page with getImageData. */
const canvasInk = (page, id) =>
  page.evaluate((id) => {
    const c = document.querySelector(`[data-testid=${id}]`);
    if (!c) return { error: `no [data-testid=${id}]` };
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let bright = 0;
    let dark = 0;
    for (let i = 0; i < d.length; i += 4) {
      const m = Math.max(d[i], d[i + 1], d[i + 2]);
      if (m > 64) bright++;
      if (m < 16) dark++;
    }
    return { width: c.width, height: c.height, bright, dark };
  }, id);

/** Clear the drawing and wait until the outputs are blank again. */
async function clearDrawing(page) {
  await testid(page, 'clear-button').click();
  await page
    .waitForFunction(() => ['', '–', '-'].includes(document.querySelector('[data-testid=odd-even-prob]').textContent.trim()), null, { timeout: 10_000 })
    .catch(() => {
      throw new Error('after clear-button the odd-even-prob text did not go blank ("–") within 10 s');
    });
}

/** Garbage that starts like a weights bundle: "LATENTLAB" and 4 KiB of deterministic noise. */
function corruptBundle() {
  const noise = Buffer.alloc(4096);
  let x = 0x2545f491;
  for (let i = 0; i < noise.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    noise[i] = x & 0xff;
  }
  return Buffer.concat([Buffer.from('LATENTLAB'), noise]);
}

async function bannerText(page) {
  const banner = testid(page, 'error-banner');
  return { visible: await banner.isVisible(), text: ((await banner.textContent()) ?? '').trim() };
}

function assertSentence(s, what) {
  const words = s.split(/\s+/).filter((w) => /[A-Za-z]{2,}/.test(w));
  assert.ok(words.length >= 3, `${what} should be a sentence in words, got ${JSON.stringify(s)}`);
}

const PANIC = /panicked at|RuntimeError: unreachable|unreachable executed/i;

before(async () => {
  assert.ok(existsSync(resolve(DIST, 'index.html')), `no ${DIST}/index.html: build the page first (scripts/e2e.sh runs trunk build)`);
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM} (scripts/setup.sh installs Debian's chromium)`);
  server = await serve(DIST);
  console.log(`serving ${DIST} at ${server.origin}`);
});

after(async () => {
  await server?.close();
  mkdirSync(dirname(OUT), { recursive: true });
  const file = resolve(dirname(OUT), 'timings.json');
  writeFileSync(file, JSON.stringify(timings, null, 2) + '\n');
  console.log(`timings (${file}): ${JSON.stringify(timings)}`);
});

test('the static server sends the page with the right MIME types and COOP/COEP headers', async () => {
  const index = await fetch(server.origin + '/');
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.equal(index.headers.get('cross-origin-opener-policy'), 'same-origin');
  assert.equal(index.headers.get('cross-origin-embedder-policy'), 'require-corp');
  const html = await index.text();
  const wasm = html.match(/["']([^"']+\.wasm)["']/)?.[1];
  assert.ok(wasm, 'index.html names no .wasm file (is dist/ a trunk build?)');
  const w = await fetch(new URL(wasm, server.origin + '/'));
  assert.equal(w.status, 200, `${wasm} not served`);
  assert.equal(w.headers.get('content-type'), 'application/wasm');
  assert.equal(w.headers.get('cross-origin-embedder-policy'), 'require-corp');
  await w.arrayBuffer();
  const missing = await fetch(server.origin + '/no-such-file.bin');
  assert.equal(missing.status, 404);
  await missing.text();
});

describe('Chromium with WebGPU allowed (--enable-unsafe-webgpu)', () => {
  let b;
  let ready = false;
  let keptOutputs = null;
  let readyMs = null;
  const needReady = (t) => {
    if (!ready) t.skip('the page never became ready');
    return ready;
  };

  before(async () => {
    b = await openBrowser('webgpu', WEBGPU_ARGS);
  });
  after(async () => {
    await b?.browser.close();
  });

  test('opens and becomes ready (data-state=ready)', { timeout: READY_MS + 70_000 }, async () => {
    const r = await openPage(b.page);
    timings.ready_wall_ms = r.wallMs;
    timings.ready_since_navigation_ms = r.sinceNavigationMs;
    console.log(`time to ready: ${r.sinceNavigationMs} ms since navigation start (${r.wallMs} ms wall, from goto); states ${JSON.stringify(r.states.map((s) => s.state))}`);
    assert.equal(await b.page.locator('[data-testid=app]').getAttribute('data-state'), 'ready');
    ready = true;
    readyMs = r.sinceNavigationMs;
    // Where the time went: when the wasm and the shipped assets had arrived.
    const loads = await b.page.evaluate(() =>
      performance.getEntriesByType('resource').map((e) => ({ name: new URL(e.name).pathname, end: Math.round(e.responseEnd), bytes: e.encodedBodySize })),
    );
    const wasm = loads.find((l) => l.name.endsWith('.wasm'));
    timings.wasm_loaded_ms = wasm?.end ?? null;
    console.log(`loaded before ready: ${JSON.stringify(loads)}`);
    const long = await b.page.evaluate((t) => window.__e2e.longTasks.filter((l) => l.start <= t), r.sinceNavigationMs ?? 0);
    console.log(`main-thread tasks over 50 ms before ready: ${JSON.stringify(long)}`);
    const banner = await bannerText(b.page);
    assert.ok(!banner.visible, `error banner shown at start-up: ${JSON.stringify(banner.text)}`);
    assert.notEqual(await text(b.page, 'backend-badge'), '', 'backend-badge is empty');
  });

  test('is ready within E2E_READY_BUDGET_MS (issue 3: 2 s on localhost)', { skip: READY_BUDGET_MS === null && 'set E2E_READY_BUDGET_MS to check' }, (t) => {
    if (!needReady(t)) return;
    assert.ok(readyMs !== null && readyMs <= READY_BUDGET_MS, `ready ${readyMs} ms after navigation start, over E2E_READY_BUDGET_MS=${READY_BUDGET_MS}`);
  });

  test('drawing a digit with pointer events gives predictions and a reconstruction', { timeout: 60_000 }, async (t) => {
    if (!needReady(t)) return;
    const before = await canvasInk(b.page, 'recon-canvas');
    assert.ok(!before.error, before.error);
    await drawSeven(b.page);
    const out = await settledOutputs(b.page);
    const drawn = assertPredictions(out);
    console.log(`drawn 7 -> ${JSON.stringify(drawn)}`);
    const recon = await canvasInk(b.page, 'recon-canvas');
    assert.ok(recon.bright >= 10, `recon-canvas should show the reconstruction (>= 10 non-black pixels), got ${JSON.stringify(recon)}`);
    assert.ok(recon.dark >= 100, `recon-canvas should be a digit on black, not a blob (>= 100 black pixels), got ${JSON.stringify(recon)}`);
    const preview = await canvasInk(b.page, 'preview-28');
    assert.ok(!preview.error && preview.bright >= 10, `preview-28 should show the 28x28 input, got ${JSON.stringify(preview)}`);
  });

  test('saves a screenshot of the page after drawing', { timeout: 30_000 }, async (t) => {
    if (!needReady(t)) return;
    mkdirSync(dirname(OUT), { recursive: true });
    await b.page.screenshot({ path: OUT, fullPage: true });
    const png = readFileSync(OUT);
    assert.ok(png.length > 10_000, `screenshot ${OUT} is only ${png.length} bytes`);
    assert.equal(png.subarray(1, 4).toString(), 'PNG', `${OUT} is not a PNG`);
    console.log(`screenshot: ${OUT} (${png.length} bytes)`);
  });

  test('trains a few batches (epochs 1, batch 32, 128 images): state and progress move, then ready again', { timeout: TRAIN_MS + 30_000 }, async (t) => {
    if (!needReady(t)) return;
    const page = b.page;
    // The inputs' test ids where the page has them, else their labels.
    const set = async (id, label, v) => {
      let input = testid(page, id);
      if ((await input.count()) === 0) input = page.locator('label').filter({ hasText: new RegExp(`^\\s*${label}\\s*$`, 'i') }).locator('input');
      assert.equal(await input.count(), 1, `expected one input [data-testid=${id}] or labelled "${label}", found ${await input.count()}`);
      await input.fill(String(v));
      await input.dispatchEvent('change');
      assert.equal(await input.inputValue(), String(v), `input "${label}" did not take ${v}`);
    };
    await set('epochs-input', 'epochs', 1);
    await set('batch-input', 'batch', 32);
    await set('train-size-input', 'training images', 128);
    const mark = await page.evaluate(() => ({ states: window.__e2e.states.length, progress: window.__e2e.progress.length, t: performance.now() }));
    await testid(page, 'train-button').click();
    await page
      .waitForFunction((n) => window.__e2e.states.slice(n).some((s) => s.state === 'training'), mark.states, { timeout: 15_000, polling: 50 })
      .catch(async () => {
        const banner = await bannerText(page);
        throw new Error(`data-state never became "training" within 15 s of clicking train-button; error banner: ${JSON.stringify(banner)}`);
      });
    await page
      .waitForFunction((n) => window.__e2e.states.slice(n).some((s) => s.state === 'training') && window.__e2e.states.at(-1).state !== 'training', mark.states, { timeout: TRAIN_MS, polling: 250 })
      .catch(async () => {
        const p = await testid(page, 'progress').getAttribute('aria-valuenow').catch(() => '?');
        throw new Error(`training did not finish within ${TRAIN_MS} ms (aria-valuenow ${p})`);
      });
    const rec = await page.evaluate((m) => ({ states: window.__e2e.states.slice(m.states), progress: window.__e2e.progress.slice(m.progress), now: performance.now() }), mark);
    const start = rec.states.find((s) => s.state === 'training');
    const end = rec.states.at(-1);
    timings.train_ms = Math.round(end.t - start.t);
    const values = rec.progress.map((p) => p.value);
    console.log(`training: states ${JSON.stringify(rec.states.map((s) => s.state))}, ${timings.train_ms} ms; aria-valuenow went ${JSON.stringify(values.slice(0, 40))}`);
    assert.equal(end.state, 'ready', `after training data-state should be "ready", got "${end.state}" (error banner: ${JSON.stringify(await bannerText(page))})`);
    const during = rec.progress.filter((p) => p.t >= start.t && p.t <= end.t).map((p) => p.value);
    assert.ok(during.some((v) => v > 0), `progress aria-valuenow never rose above 0 while training: ${JSON.stringify(during)}`);
    assert.ok(during.every((v) => Number.isFinite(v) && v >= 0 && v <= 100), `aria-valuenow outside 0..100: ${JSON.stringify(during)}`);
    const rising = during.filter((v) => v > 0);
    assert.ok(rising.length >= 2 && rising.at(-1) > rising[0], `progress should increase during training, saw ${JSON.stringify(during)}`);
    const banner = await bannerText(page);
    assert.ok(!banner.visible, `error banner after training: ${JSON.stringify(banner.text)}`);
    // Built by trunk, the page can start its training worker: the CPU run must have used it.
    const where = (await testid(page, 'train-where').textContent()) ?? '';
    console.log(`training ran: ${JSON.stringify(where)}`);
    assert.match(where, /background worker/i, `the CPU run should train in the background worker, the page says: ${JSON.stringify(where)}`);
  });

  test('a corrupt weights file shows the error banner and keeps the model', { timeout: 90_000 }, async (t) => {
    if (!needReady(t)) return;
    const page = b.page;
    const clear = () => clearDrawing(page);
    // The current model's answer for a fixed drawing.
    await clear();
    await drawSeven(page);
    const kept = await settledOutputs(page);
    console.log(`after training, the drawn 7 -> ${JSON.stringify(assertPredictions(kept))}`);
    const pre = await bannerText(page);
    assert.ok(!pre.visible, `error banner already shown before the upload: ${JSON.stringify(pre.text)}`);

    await testid(page, 'weights-upload').setInputFiles({ name: 'corrupt.llab', mimeType: 'application/octet-stream', buffer: corruptBundle() });
    await testid(page, 'error-banner')
      .waitFor({ state: 'visible', timeout: 15_000 })
      .catch(() => {
        throw new Error('error-banner did not become visible within 15 s of uploading a corrupt weights file');
      });
    const banner = await bannerText(page);
    console.log(`error banner after the corrupt upload: ${JSON.stringify(banner.text)}`);
    assertSentence(banner.text, 'the error banner');
    assert.equal(await page.locator('[data-testid=app]').getAttribute('data-state'), 'ready', 'a bad upload should leave the page ready');

    // Same drawing, same model: the same answer.
    await clear();
    await drawSeven(page);
    const again = await settledOutputs(page);
    assertPredictions(again);
    assert.deepEqual(again, kept, 'after the failed upload the same drawing should give the same predictions (the model must be kept)');
    keptOutputs = kept;
  });

  test('a shipped bundle with one byte flipped, and a bundle of another model, are refused too', { timeout: 90_000 }, async (t) => {
    if (!needReady(t)) return;
    if (!keptOutputs) return t.skip('needs the previous test');
    const page = b.page;
    const shipped = readFileSync(resolve(DIST, 'assets/models/ae-16.llab'));
    const flipped = Buffer.from(shipped);
    flipped[flipped.length >> 1] ^= 0x40;
    const other = readFileSync(resolve(DIST, 'assets/models/vae-2.llab'));
    for (const [name, buffer] of [['flipped-byte.llab', flipped], ['other-model-vae-2.llab', other]]) {
      const previous = await bannerText(page);
      const dismiss = testid(page, 'error-banner').locator('button');
      if (previous.visible && (await dismiss.count()) > 0) {
        await dismiss.first().click();
        await testid(page, 'error-banner').waitFor({ state: 'hidden', timeout: 5000 });
      }
      const now = await bannerText(page);
      await testid(page, 'weights-upload').setInputFiles({ name, mimeType: 'application/octet-stream', buffer });
      await page
        .waitForFunction(
          (prev) => {
            const el = document.querySelector('[data-testid=error-banner]');
            return el && !el.hidden && el.offsetParent !== null && el.textContent.trim() !== prev;
          },
          now.visible ? now.text : null,
          { timeout: 15_000, polling: 100 },
        )
        .catch(() => {
          throw new Error(`uploading ${name} showed no (new) error in the error banner within 15 s`);
        });
      const banner = await bannerText(page);
      console.log(`error banner after uploading ${name}: ${JSON.stringify(banner.text)}`);
      assertSentence(banner.text, `the error banner for ${name}`);
    }
    await clearDrawing(page);
    await drawSeven(page);
    const again = await settledOutputs(page);
    assert.deepEqual(again, keptOutputs, 'after the refused uploads the same drawing should give the same predictions (the model must be kept)');
  });

  test('no panics in the console', (t) => {
    if (!needReady(t)) return;
    const bad = b.log.filter((l) => PANIC.test(l));
    assert.deepEqual(bad.slice(0, 5), [], `the page panicked (${bad.length} messages)`);
  });
});

describe('Chromium without WebGPU (CPU fallback)', () => {
  let b;
  let ready = false;

  before(async () => {
    b = await openBrowser('no-webgpu', NO_WEBGPU_ARGS);
  });
  after(async () => {
    await b?.browser.close();
  });

  test('becomes ready on the CPU and says why not WebGPU', { timeout: READY_MS + 90_000 }, async () => {
    const r = await openPage(b.page);
    timings.fallback_ready_wall_ms = r.wallMs;
    timings.fallback_ready_since_navigation_ms = r.sinceNavigationMs;
    console.log(`fallback: time to ready ${r.sinceNavigationMs} ms since navigation start`);
    ready = true;
    // Precondition: this browser really has no usable WebGPU.
    const gpu = await b.page.evaluate(async () => {
      if (!('gpu' in navigator) || !navigator.gpu) return 'navigator.gpu missing';
      try {
        const a = await navigator.gpu.requestAdapter();
        return a ? 'adapter' : 'no adapter';
      } catch (e) {
        return `requestAdapter threw: ${e}`;
      }
    });
    assert.notEqual(gpu, 'adapter', 'test set-up: the fallback browser still has a WebGPU adapter');
    // The badge settles once the WebGPU probe has failed: CPU plus a reason.
    const reason = /missing|unavailable|not available|no adapter|no webgpu|gave no|disabled|failed|unsupported|not supported/i;
    await b.page
      .waitForFunction((src) => {
        const t = document.querySelector('[data-testid=backend-badge]')?.textContent ?? '';
        return /cpu/i.test(t) && new RegExp(src, 'i').test(t);
      }, reason.source, { timeout: 30_000, polling: 100 })
      .catch(async () => {
        throw new Error(`backend-badge should name the CPU and why WebGPU is not used (navigator: ${gpu}); it says ${JSON.stringify(await text(b.page, 'backend-badge'))}`);
      });
    console.log(`fallback badge: ${JSON.stringify(await text(b.page, 'backend-badge'))} (navigator: ${gpu})`);
    const banner = await bannerText(b.page);
    assert.ok(!banner.visible, `error banner shown at start-up without WebGPU: ${JSON.stringify(banner.text)}`);
  });

  test('choosing WebGPU shows an error and the page keeps working on the CPU', { timeout: 90_000 }, async (t) => {
    if (!ready) return t.skip('the page never became ready');
    const page = b.page;
    await testid(page, 'backend-select').selectOption('webgpu');
    await testid(page, 'error-banner')
      .waitFor({ state: 'visible', timeout: 30_000 })
      .catch(() => {
        throw new Error('choosing "webgpu" in backend-select without WebGPU showed no error banner within 30 s');
      });
    const banner = await bannerText(page);
    console.log(`fallback: error banner after choosing webgpu: ${JSON.stringify(banner.text)}`);
    assertSentence(banner.text, 'the error banner');
    assert.match(banner.text, /webgpu/i, 'the error should say that WebGPU is the problem');
    assert.match(await text(page, 'backend-badge'), /cpu/i, 'the backend badge should still say CPU');
    assert.equal(await page.locator('[data-testid=app]').getAttribute('data-state'), 'ready', 'data-state should stay ready');
    await drawSeven(page);
    const out = assertPredictions(await settledOutputs(page));
    console.log(`fallback: drawn 7 -> ${JSON.stringify(out)}`);
    const recon = await canvasInk(page, 'recon-canvas');
    assert.ok(recon.bright >= 10, `recon-canvas should show the reconstruction on the CPU, got ${JSON.stringify(recon)}`);
  });

  test('no panics in the console', (t) => {
    if (!ready) return t.skip('the page never became ready');
    const bad = b.log.filter((l) => PANIC.test(l));
    assert.deepEqual(bad.slice(0, 5), [], `the page panicked (${bad.length} messages)`);
  });
});

test('every request went to the test server (no other origin) and none failed', () => {
  assert.ok(pageRequests.length > 0, 'no requests were recorded');
  const foreign = pageRequests.filter((r) => {
    const u = new URL(r.url);
    return !['data:', 'blob:'].includes(u.protocol) && u.origin !== server.origin;
  });
  assert.deepEqual(foreign, [], `requests to other origins than ${server.origin}`);
  const failed = server.requests.filter((r) => r.status >= 400 && r.path !== '/favicon.ico' && r.path !== '/no-such-file.bin');
  assert.deepEqual(failed, [], 'requests the server could not answer');
  const wasm = server.requests.filter((r) => r.path.endsWith('.wasm'));
  assert.ok(wasm.length >= 2 && wasm.every((r) => r.type === 'application/wasm'), `the page's wasm should be served as application/wasm: ${JSON.stringify(wasm)}`);
  timings.requests = pageRequests.length;
});
