// Local test server on 127.0.0.1 (random port): the test page, the player libraries and the
// SDK bundle, the media with injected faults, and a capture endpoint that answers like the
// collector (202 with per-index rejections, CORS for a page on another origin).
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t', '.mpd': 'application/dash+xml',
  '.m4s': 'video/iso.segment', '.mp4': 'video/mp4',
};

/** Fault rules by the first path segment after /media/. */
const FAULTS = {
  ok: () => undefined,
  // the first request of the segment at 4 s (HLS seg4.ts, DASH number 5) is held back
  stall: (path, state) => (/(seg4\.ts|seg-\d+-5\.m4s)$/.test(path) && !state.stalled ? ((state.stalled = true), { delay: state.stallMs }) : undefined),
  // the segment at 3 s is missing in every rendition
  missing: (path) => (/(seg3\.ts|seg-\d+-4\.m4s)$/.test(path) ? { status: 404 } : undefined),
  // manifests are not manifests
  bad: (path) => (/\.(m3u8|mpd)$/.test(path) ? { body: 'this is not a manifest\n' } : undefined),
};

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type',
  'Access-Control-Expose-Headers': 'Retry-After',
};

function sendFile(req, res, file) {
  let size;
  try { size = statSync(file).size; } catch { return end(res, 404, 'not found'); }
  const headers = { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-store' };
  const m = /bytes=(\d*)-(\d*)/.exec(req.headers.range ?? '');
  if (m) {
    const start = m[1] ? Number(m[1]) : Math.max(0, size - Number(m[2]));
    const last = m[1] && m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
    res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${last}/${size}`, 'Content-Length': last - start + 1 });
    return createReadStream(file, { start, end: last }).pipe(res);
  }
  res.writeHead(200, { ...headers, 'Content-Length': size });
  createReadStream(file).pipe(res);
}

function end(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/plain', ...headers });
  res.end(body);
}

function capture(req, res, received) {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    let events;
    try { events = JSON.parse(body); } catch { return end(res, 400, 'malformed JSON', CORS); }
    if (!Array.isArray(events)) return end(res, 400, 'expected a JSON array', CORS);
    received.push({ url: req.url, contentType: req.headers['content-type'], events });
    res.writeHead(202, { 'Content-Type': 'application/json', ...CORS });
    res.end(JSON.stringify({ accepted: events.length, rejected: [] }));
  });
}

/**
 * Start the server. `files` maps URL paths to files; `mediaRoot` is served under
 * /media/<fault>/. Returns { url, received, reset(), close() }.
 */
export async function startServer({ files, mediaRoot, stallMs = 2000 }) {
  const received = [];
  const state = { stalled: false, stallMs };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path === '/v1/events') {
      if (req.method === 'OPTIONS') return end(res, 204, '', CORS);
      if (req.method === 'POST') return capture(req, res, received);
      return end(res, 405, 'method not allowed', CORS);
    }
    if (files[path]) return sendFile(req, res, files[path]);
    const m = /^\/media\/([a-z]+)\/(.+)$/.exec(path);
    const rule = m && FAULTS[m[1]];
    if (!rule) return end(res, 404, 'not found');
    const rel = normalize(m[2]);
    if (rel.startsWith('..')) return end(res, 403, 'forbidden');
    const fault = rule(rel, state) ?? {};
    if (fault.status) return end(res, fault.status, 'injected fault');
    if (fault.body) return end(res, 200, fault.body, { 'Content-Type': TYPES[extname(rel)] ?? 'text/plain' });
    setTimeout(() => sendFile(req, res, join(mediaRoot, rel)), fault.delay ?? 0);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    reset: () => { state.stalled = false; },
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

export const readText = (file) => readFileSync(file, 'utf8');
