// A tiny static server for the end-to-end test: serves a directory (the trunk build, dist/) on
// 127.0.0.1 at a free port, with the MIME types the page needs (application/wasm for streaming
// compilation) and the cross-origin isolation headers Trunk.toml sets for `trunk serve`
// (COOP same-origin, COEP require-corp). It records every request it answers.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  // MNIST files: served as bytes, never with Content-Encoding (the page gunzips them itself).
  '.gz': 'application/gzip',
  '.llab': 'application/octet-stream',
};

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * Serve `root` on 127.0.0.1 at a free port.
 * @returns {Promise<{ origin: string, requests: {method: string, path: string, status: number, type: string}[], close: () => Promise<void> }>}
 */
export async function serve(root) {
  const base = resolve(root);
  const requests = [];
  const server = createServer(async (req, res) => {
    const entry = { method: req.method, path: req.url, status: 0, type: '' };
    requests.push(entry);
    const send = (status, headers, body) => {
      entry.status = status;
      entry.type = headers['Content-Type'] ?? '';
      res.writeHead(status, { ...ISOLATION_HEADERS, 'Cache-Control': 'no-store', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return send(405, { 'Content-Type': 'text/plain' }, 'method not allowed');
      }
      let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      if (path.endsWith('/')) path += 'index.html';
      const file = normalize(join(base, path));
      if (file !== base && !file.startsWith(base + sep)) {
        return send(403, { 'Content-Type': 'text/plain' }, 'forbidden');
      }
      const info = await stat(file).catch(() => null);
      if (!info || !info.isFile()) return send(404, { 'Content-Type': 'text/plain' }, `not found: ${path}`);
      const body = await readFile(file);
      const type = MIME[extname(file).toLowerCase()] ?? 'application/octet-stream';
      send(200, { 'Content-Type': type, 'Content-Length': String(body.length) }, body);
    } catch (e) {
      send(500, { 'Content-Type': 'text/plain' }, String(e));
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}
