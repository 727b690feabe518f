// The benchmark (scripts/bench.sh runs it): training speed natively and in headless Chromium,
// draw-to-outputs latency, input latency while training, start-up time, wasm size and memory.
// Writes bench/results.json (keys documented in bench/README.md) and bench/results.md.
//
// Usage: node scripts/bench.mjs [--quick]   (after `cargo build --release` and `trunk build`)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'tests/e2e/package.json'));
const { chromium } = require('playwright-core');
const { serve } = await import(join(root, 'tests/e2e/server.mjs'));

const quick = process.argv.includes('--quick');
const RUNS = quick ? 2 : 3;
// Longest wait for one in-browser training measurement.
const LIMIT_S = Number(process.env.BENCH_LIMIT_S ?? 600);
const cache = process.env.LATENT_LAB_CACHE ?? join(process.env.HOME, '.cache/latent-lab');
const cli = process.env.LATENT_LAB_BIN ?? join(cache, 'native/release/latent-lab');
const dist = join(root, 'dist');
const log = (...a) => console.error('[bench]', ...a);

const uptime = () => execFileSync('uptime').toString().trim();
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
  return { median, min: s[0], max: s[s.length - 1], p95: q(0.95), runs: s.length };
};
const round = (x, d = 1) => (x == null || !Number.isFinite(x) ? x : Math.round(x * 10 ** d) / 10 ** d);

// Per-step profile (StepProfile JSON): a median over runs of each field.
const summarise = (profiles) => {
  if (!profiles.length) return null;
  const f = (k) => stats(profiles.map((p) => p[k]));
  const ips = f('images_per_sec');
  return {
    backend: profiles[0].backend,
    images_per_sec: round(ips.median),
    images_per_sec_min: round(ips.min),
    images_per_sec_max: round(ips.max),
    runs: profiles.length,
    steps_per_run: profiles[0].steps,
    step_ms: round(f('step_ms').median),
    forward_ms: round(f('forward_ms').median),
    backward_ms: round(f('backward_ms').median),
    optimiser_ms: round(f('optimiser_ms').median),
    read_ms: round(f('read_ms').median),
    loss_falls: profiles.every((p) => p.loss_first_last[1] < p.loss_first_last[0]),
  };
};

const results = {
  schema: 1,
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? '', uptime_before: uptime() },
  quick,
  native: {},
  browser: {},
  size: {},
  notes: [],
};

// ---- native: `latent-lab bench` (same code as the page's hook) --------------------------------
const steps = (backend, batch) => (backend === 'ndarray' ? (batch >= 256 ? 2 : 4) : quick ? 5 : batch >= 256 ? 8 : 20);
for (const model of quick ? ['ae'] : ['ae', 'vae']) {
  for (const batch of [64, 256]) {
    for (const backend of ['flex', 'ndarray', 'wgpu']) {
      if (backend === 'ndarray' && (model === 'vae' || quick)) continue;
      const key = `${model}16_b${batch}_${backend}`;
      log('native', key);
      const r = spawnSync(cli, ['bench', '--backend', backend, '--model', model, '--latent', '16', '--batch', String(batch), '--steps', String(steps(backend, batch)), '--repeats', String(backend === 'ndarray' ? 1 : RUNS)], { cwd: root, encoding: 'utf8', timeout: 900_000 });
      if (r.status !== 0) {
        results.native[key] = { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').slice(-3).join(' ') };
        continue;
      }
      results.native[key] = summarise(r.stdout.trim().split('\n').map((l) => JSON.parse(l)));
    }
  }
}

// ---- browser ----------------------------------------------------------------------------------
const server = await serve(dist);
const args = ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const browser = await chromium.launch({ executablePath: process.env.CHROME ?? '/usr/bin/chromium', args });
const version = browser.version();
results.machine.chromium = version;

async function openPage() {
  const page = await browser.newPage({ viewport: { width: 1240, height: 1100 } });
  page.on('pageerror', (e) => log('page error:', e.message));
  return page;
}

async function drawStroke(page, pts) {
  const box = await page.locator('[data-testid=draw-canvas]').boundingBox();
  const at = (x, y) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];
  await page.mouse.move(...at(...pts[0]));
  await page.mouse.down();
  for (const p of pts.slice(1)) await page.mouse.move(...at(...p), { steps: 6 });
  await page.mouse.up();
}
const SEVEN = [[70, 60], [210, 60], [150, 150], [115, 240]];

// Open-to-first-prediction: from navigation start (performance.now() = 0) to the first shown P(odd),
// for a 7 drawn with synthetic pointer events the moment the page says it is ready (so no
// automation round trips are counted). Timestamps are taken in the page by a MutationObserver.
const STARTUP_PROBE = () => {
  window.__startup = {};
  const seven = () => {
    const c = document.querySelector('[data-testid=draw-canvas]');
    const r = c.getBoundingClientRect();
    const ev = (type, x, y) =>
      c.dispatchEvent(new PointerEvent(type, { bubbles: true, cancelable: true, pointerId: 1, pointerType: 'mouse', isPrimary: true, buttons: type === 'pointerup' ? 0 : 1, clientX: r.left + (x * r.width) / 280, clientY: r.top + (y * r.height) / 280 }));
    ev('pointerdown', 70, 60);
    for (const [x, y] of [[140, 60], [210, 60], [180, 105], [150, 150], [130, 200], [115, 240]]) ev('pointermove', x, y);
    ev('pointerup', 115, 240);
    window.__startup.drawn = performance.now();
  };
  const check = () => {
    const t = window.__startup;
    const app = document.querySelector('[data-testid=app]');
    if (!t.ready && app?.dataset.state === 'ready') {
      t.ready = performance.now();
      seven();
    }
    const p = document.querySelector('[data-testid=odd-even-prob]');
    if (t.drawn && !t.prediction && /^[01]\.\d+$/.test(p?.textContent.trim() ?? '')) t.prediction = performance.now();
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
};
const openTimes = [];
const readyTimes = [];
for (let i = 0; i < RUNS + 1; i++) {
  const page = await openPage();
  await page.addInitScript(STARTUP_PROBE);
  await page.goto(server.origin + '/');
  const t = await (await page.waitForFunction(() => window.__startup?.prediction && window.__startup, null, { timeout: 120_000 })).jsonValue();
  // The first open also compiles the wasm into Chromium's code cache: reported apart, as "cold".
  if (i === 0) results.browser.open_cold_ms = { ready: t.ready, first_prediction: t.prediction };
  else {
    readyTimes.push(t.ready);
    openTimes.push(t.prediction);
  }
  await page.close();
}
results.browser.open_to_ready_ms = stats(readyTimes);
results.browser.open_to_first_prediction_ms = stats(openTimes);

// Training steps through the page's hook (window.latentLabBench: the same profile_steps as native).
const page = await openPage();
await page.goto(server.origin + '/');
await page.waitForSelector('[data-state=ready]', { timeout: 120_000 });
results.browser.backend_badge = (await page.locator('[data-testid=backend-badge]').textContent()).trim();
results.browser.cross_origin_isolated = await page.evaluate(() => self.crossOriginIsolated);
for (const model of quick ? ['ae'] : ['ae', 'vae']) {
  for (const batch of [64, 256]) {
    for (const backend of ['flex', 'ndarray', 'webgpu']) {
      if (backend === 'ndarray' && (model === 'vae' || quick)) continue;
      // The VAE differs from the AE by one linear layer: on SwiftShader one AE figure says enough.
      if (backend === 'webgpu' && model === 'vae') continue;
      const key = `${model}16_b${batch}_${backend}`;
      log('browser', key);
      const runs = [];
      try {
        // ndarray and SwiftShader's WebGPU are 20-100x slower than flex here: one run each.
        for (let r = 0; r < (backend === 'flex' ? RUNS : 1); r++) {
          // SwiftShader's WebGPU runs on the CPU and is slow: fewer steps, and a time limit.
          const s = backend === 'webgpu' ? 2 : steps(backend, batch);
          const json = await Promise.race([
            page.evaluate(([b, m, bs, st]) => window.latentLabBench(b, m, 16, bs, st), [backend, model, batch, s]),
            new Promise((_, fail) => setTimeout(() => fail(new Error(`no result within ${LIMIT_S} s`)), LIMIT_S * 1000)),
          ]);
          runs.push(JSON.parse(json));
        }
        results.browser[`train_${key}`] = summarise(runs);
      } catch (e) {
        results.browser[`train_${key}`] = { error: String(e.message ?? e).split('\n')[0] };
      }
    }
  }
}

// Draw-to-outputs latency and input latency while training: the page's own timings
// (window.__latentLab, filled by the page on every prediction and pointer event).
const readHooks = () =>
  page.evaluate(() => {
    const h = window.__latentLab ?? {};
    const pick = (o) => (o ? { p50: o.p50, p95: o.p95, max: o.max, count: o.count } : null);
    return { drawToOutputs: pick(h.drawToOutputs), drawLast: h.drawToOutputs?.last ?? null, inputLatency: pick(h.inputLatency), inputLatencyIdle: pick(h.inputLatencyIdle) };
  });
await page.click('[data-testid=clear-button]');
for (let i = 0; i < (quick ? 10 : 30); i++) {
  const dx = (i % 5) * 6;
  await drawStroke(page, SEVEN.map(([x, y]) => [x + dx, y]));
  await page.waitForTimeout(60);
  await page.click('[data-testid=clear-button]');
}
results.browser.hooks_idle = await readHooks();
// Train a few batches in the page and draw meanwhile.
const set = async (label, v) => {
  const input = page.locator(`label:has-text("${label}") input`);
  await input.fill(String(v));
  await input.dispatchEvent('change');
};
await set('epochs', 1);
await set('batch', 64);
await set('training images', 1280);
await page.click('[data-testid=train-button]');
await page.waitForSelector('[data-state=training]', { timeout: 60_000 });
for (let i = 0; i < (quick ? 10 : 25) && (await page.getAttribute('[data-testid=app]', 'data-state')) === 'training'; i++) {
  await drawStroke(page, SEVEN.map(([x, y]) => [x, y + (i % 4) * 5]));
  await page.waitForTimeout(100);
}
results.browser.hooks_training = await readHooks();
await page.waitForSelector('[data-state=ready]', { timeout: 600_000 });
results.browser.wasm_memory_bytes = await page.evaluate(() => window.latentLabMemoryBytes?.() ?? null);
// Training runs in a Web Worker with its own wasm memory: its size at the end of the run.
results.browser.worker_wasm_memory_bytes = await page.evaluate(() => window.latentLabWorkerMemoryBytes ?? null);

// Whole training runs through the page's UI, as a user starts them: the CPU backends train in
// Web Workers; with N workers each computes the gradient of its share of every batch. The
// figure is the trainer's own images/s (progress text) at the end of one epoch of 2,560 images.
results.browser.page_runs = {};
for (const workers of [1, 2]) {
  for (const batch of [64, 256]) {
    const key = `ae16_b${batch}_flex_${workers}w`;
    log('page run', key);
    const ips = [];
    const p = await openPage();
    try {
      await p.goto(`${server.origin}/?backend=cpu&workers=${workers}`);
      await p.waitForSelector('[data-state=ready]', { timeout: 120_000 });
      const setIn = async (label, v) => {
        const input = p.locator(`label:has-text("${label}") input`);
        await input.fill(String(v));
        await input.dispatchEvent('change');
      };
      await setIn('epochs', 1);
      await setIn('batch', batch);
      await setIn('training images', 2560);
      for (let r = 0; r < RUNS; r++) {
        await p.click('[data-testid=train-button]');
        await p.waitForSelector('[data-state=training]', { timeout: 60_000 });
        let last = null;
        const t0 = Date.now();
        while ((await p.getAttribute('[data-testid=app]', 'data-state')) === 'training' && Date.now() - t0 < LIMIT_S * 1000) {
          const text = (await p.locator('.progress-text').textContent()) ?? '';
          const m = text.match(/([0-9.]+) images\/s/);
          if (m) last = Number(m[1]);
          await p.waitForTimeout(200);
        }
        if (last != null) ips.push(last);
      }
      results.browser.page_runs[key] = { ...stats(ips), where: (await p.locator('[data-testid=train-where]').textContent())?.trim() };
    } catch (e) {
      results.browser.page_runs[key] = { error: String(e.message ?? e).split('\n')[0] };
    }
    await p.close();
  }
}

await browser.close();
await server.close();

// ---- sizes ------------------------------------------------------------------------------------
const files = readdirSync(dist);
const wasm = files.find((f) => f.endsWith('.wasm'));
const js = files.find((f) => f.endsWith('.js'));
const gz = (p) => gzipSync(readFileSync(p), { level: 9 }).length;
const walk = (d) => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
const shipped = walk(dist);
results.size = {
  wasm_raw_bytes: statSync(join(dist, wasm)).size,
  wasm_gzip_bytes: gz(join(dist, wasm)),
  js_gzip_bytes: js ? gz(join(dist, js)) : 0,
  page_total_raw_bytes: shipped.reduce((a, f) => a + statSync(f).size, 0),
  // MNIST is already gzip; weights compress little: the total a browser downloads.
  page_total_gzip_bytes: shipped.reduce((a, f) => a + (f.endsWith('.gz') ? statSync(f).size : gz(f)), 0),
  startup_download_bytes: ['index.html', wasm, js, 'assets/mnist/t10k-images-idx3-ubyte.gz', 'assets/mnist/t10k-labels-idx1-ubyte.gz', 'assets/models/ae-16.llab']
    .filter(Boolean)
    .reduce((a, f) => a + (f.endsWith('.gz') ? statSync(join(dist, f)).size : gz(join(dist, f))), 0),
};
results.machine.uptime_after = uptime();
results.machine.loadavg_after = loadavg();

mkdirSync(join(root, 'bench'), { recursive: true });
writeFileSync(join(root, 'bench/results.json'), JSON.stringify(results, null, 2) + '\n');
writeFileSync(join(root, 'bench/results.md'), markdown(results));
log('wrote bench/results.json and bench/results.md');

function markdown(r) {
  const L = [];
  const n = r.native, b = r.browser;
  const ips = (x) => (x ? (x.error ? `– (${x.error.slice(0, 60)})` : `${x.images_per_sec} (${x.images_per_sec_min}–${x.images_per_sec_max}, ${x.runs} runs)`) : '–');
  L.push(`Benchmark of ${r.date.slice(0, 16)}Z, ${r.machine.cpus} cores, Chromium ${r.machine.chromium}${r.quick ? ', quick' : ''}.`);
  L.push(`Load before: \`${r.machine.uptime_before}\`; after: \`${r.machine.uptime_after}\`.`, '');
  L.push('| training, images/s (median, range, runs) | native | in the browser | browser / native |', '|---|---|---|---|');
  for (const key of Object.keys(n)) {
    const [model, batch, backend] = key.split('_');
    const bk = backend === 'wgpu' ? key.replace('wgpu', 'webgpu') : key;
    const br = b[`train_${bk}`];
    const ratio = n[key]?.images_per_sec && br?.images_per_sec ? round(br.images_per_sec / n[key].images_per_sec, 2) : '–';
    L.push(`| ${model.toUpperCase()} ${batch.slice(1) === '64' ? 'batch 64' : 'batch ' + batch.slice(1)}, ${backend === 'wgpu' ? 'wgpu / WebGPU' : backend} | ${ips(n[key])} | ${ips(br)} | ${ratio} |`);
  }
  L.push('', '| step phase, ms (median) | forward | backward | optimiser | read-back |', '|---|---|---|---|---|');
  for (const [where, set] of [['native', n], ['browser', Object.fromEntries(Object.entries(b).filter(([k]) => k.startsWith('train_')))]]) {
    for (const [k, v] of Object.entries(set)) {
      if (v && !v.error) L.push(`| ${where} ${k.replace('train_', '')} | ${v.forward_ms} | ${v.backward_ms} | ${v.optimiser_ms} | ${v.read_ms} |`);
    }
  }
  L.push('', '| training through the page (Web Workers), AE-16 flex, images/s (median, range, runs) | 1 worker | 2 workers, data-parallel |', '|---|---|---|');
  for (const batch of [64, 256]) {
    const c = (w) => { const x = b.page_runs?.[`ae16_b${batch}_flex_${w}w`]; return x ? (x.error ? `– (${x.error.slice(0, 60)})` : `${round(x.median, 0)} (${round(x.min, 0)}–${round(x.max, 0)}, ${x.runs} runs)`) : '–'; };
    L.push(`| batch ${batch} | ${c(1)} | ${c(2)} |`);
  }
  const h = b.hooks_idle ?? {}, t = b.hooks_training ?? {};
  L.push('', '| page | figure |', '|---|---|');
  L.push(`| open to ready, ms (median of ${b.open_to_ready_ms.runs}) | ${round(b.open_to_ready_ms.median, 0)} |`);
  L.push(`| open to first prediction, ms | ${round(b.open_to_first_prediction_ms.median, 0)} (${round(b.open_to_first_prediction_ms.min, 0)}–${round(b.open_to_first_prediction_ms.max, 0)}) |`);
  L.push(`| first open (cold wasm compile): ready / first prediction, ms | ${round(b.open_cold_ms.ready, 0)} / ${round(b.open_cold_ms.first_prediction, 0)} |`);
  const pp = (o) => (o && o.count ? `${round(o.p50)} / ${round(o.p95)} (${o.count} events)` : '–');
  L.push(`| draw to outputs, ms p50 / p95 (idle, ${b.backend_badge.split(' ·')[0]}) | ${pp(h.drawToOutputs)} |`);
  L.push(`| draw to outputs while training, ms p50 / p95 | ${pp(t.drawToOutputs)} |`);
  L.push(`| input latency idle, ms p50 / p95 | ${pp(h.inputLatencyIdle)} |`);
  L.push(`| input latency while training, ms p50 / p95 | ${pp(t.inputLatency)} |`);
  L.push(`| wasm code, raw / gzip | ${(r.size.wasm_raw_bytes / 1e6).toFixed(2)} MB / ${(r.size.wasm_gzip_bytes / 1e6).toFixed(2)} MB |`);
  L.push(`| start-up download (html, js, wasm, test set, AE-16), gzip | ${(r.size.startup_download_bytes / 1e6).toFixed(2)} MB |`);
  L.push(`| whole page with training set and all weights, gzip | ${(r.size.page_total_gzip_bytes / 1e6).toFixed(2)} MB |`);
  L.push(`| wasm memory after training: page | ${b.wasm_memory_bytes ? (b.wasm_memory_bytes / 1e6).toFixed(0) + ' MB' : '–'} |`);
  L.push(`| wasm memory after training: training worker | ${b.worker_wasm_memory_bytes ? (b.worker_wasm_memory_bytes / 1e6).toFixed(0) + ' MB' : '–'} |`);
  return L.join('\n') + '\n';
}
