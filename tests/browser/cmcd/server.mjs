// Local servers on 127.0.0.1 (random ports): the test page, the player libraries and the media
// (one segment can be held back), plus a gateway in front of the real collector that answers
// 503 to the first N reports and forwards everything else (so clients' retries can be seen).
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t', '.mpd': 'application/dash+xml',
  '.m4s': 'video/iso.segment',
};

function sendFile(res, file) {
  let size;
  try { size = statSync(file).size; } catch { res.writeHead(404).end('not found'); return; }
  res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': size, 'Cache-Control': 'no-store' });
  createReadStream(file).pipe(res);
}

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

/** Pages and media. `/media/stall/...` holds back the first request of the segment at
 * `stallAt` s in each rendition (a player that gives up and asks another rendition waits too). */
export async function startMedia({ files, mediaRoot, stallMs, stallAt }) {
  const state = { stalled: new Set() };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (files[path]) return sendFile(res, files[path]);
    const m = /^\/media\/(ok|stall)\/(.+)$/.exec(path);
    if (!m) return res.writeHead(404).end('not found');
    const rel = normalize(m[2]);
    if (rel.startsWith('..')) return res.writeHead(403).end('forbidden');
    // HLS seg<N>.ts starts at N s; DASH seg-<rep>-<N>.m4s starts at N-1 s.
    const hit = new RegExp(`(seg${stallAt}\\.ts|seg-\\d+-${stallAt + 1}\\.m4s)$`).test(rel);
    const key = rel;
    let delay = 0;
    if (m[1] === 'stall' && hit && !state.stalled.has(key)) {
      state.stalled.add(key);
      delay = stallMs;
    }
    setTimeout(() => sendFile(res, join(mediaRoot, rel)), delay);
  });
  const url = await listen(server);
  return { url, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

/** A gateway to `collector`: the first `refuse` POSTs get 503 (with CORS, as the collector
 * would answer), the rest is forwarded as is. Records what it refused and forwarded. */
export async function startGateway({ collector, refuse }) {
  const log = { refused: [], forwarded: [] };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const origin = req.headers.origin;
      if (req.method === 'POST' && log.refused.length < refuse) {
        log.refused.push(body.toString());
        const cors = origin ? { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true' } : {};
        res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1', ...cors });
        return res.end('{"error":"unavailable (test gateway)"}');
      }
      const headers = { ...req.headers };
      delete headers.host;
      delete headers['content-length'];
      try {
        const answer = await fetch(collector + req.url, { method: req.method, headers, body: ['GET', 'HEAD'].includes(req.method) ? undefined : body });
        if (req.method === 'POST') log.forwarded.push({ status: answer.status, body: body.toString() });
        const out = {};
        answer.headers.forEach((v, k) => { if (k !== 'content-length' && k !== 'content-encoding') out[k] = v; });
        res.writeHead(answer.status, out);
        res.end(Buffer.from(await answer.arrayBuffer()));
      } catch (e) {
        res.writeHead(502).end(String(e));
      }
    });
  });
  const url = await listen(server);
  return { url, log, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}
