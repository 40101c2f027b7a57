// Test media made with ffmpeg at test time: an HLS ladder (3 renditions) and a DASH stream
// (2 renditions), 1 s segments, tiny frames so they encode fast.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const FPS = 24;
export const LADDER = [
  { w: 192, h: 108, kbps: 150 },
  { w: 320, h: 180, kbps: 300 },
  { w: 480, h: 270, kbps: 600 },
];

function ffmpeg(args, cwd) {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { cwd, stdio: 'inherit' });
}

const input = (s) => ['-f', 'lavfi', '-i', `testsrc2=size=480x270:rate=${FPS}:duration=${s}`];
const gop = ['-g', String(FPS), '-keyint_min', String(FPS), '-sc_threshold', '0'];
const x264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-pix_fmt', 'yuv420p'];

function ladder(n) {
  const rungs = LADDER.slice(0, n);
  const split = `[0:v]split=${n}${rungs.map((_, i) => `[s${i}]`).join('')};` +
    rungs.map((r, i) => `[s${i}]scale=${r.w}:${r.h}[v${i}]`).join(';');
  const maps = rungs.flatMap((r, i) => ['-map', `[v${i}]`, `-b:v:${i}`, `${r.kbps}k`, `-maxrate:v:${i}`, `${r.kbps}k`, `-bufsize:v:${i}`, `${r.kbps}k`]);
  return ['-filter_complex', split, ...maps];
}

function hls(dir, seconds) {
  for (let i = 0; i < LADDER.length; i++) mkdirSync(join(dir, `v${i}`), { recursive: true });
  ffmpeg([...input(seconds), ...ladder(LADDER.length), ...x264, ...gop,
    '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod', '-hls_segment_filename', 'v%v/seg%d.ts',
    '-master_pl_name', 'master.m3u8', '-var_stream_map', LADDER.map((_, i) => `v:${i}`).join(' '), 'v%v/index.m3u8'], dir);
}

function dash(dir, seconds) {
  mkdirSync(dir, { recursive: true });
  ffmpeg([...input(seconds), ...ladder(2), ...x264, ...gop,
    '-f', 'dash', '-adaptation_sets', 'id=0,streams=v', '-seg_duration', '1', '-use_template', '1', '-use_timeline', '0',
    '-init_seg_name', 'init-$RepresentationID$.m4s', '-media_seg_name', 'seg-$RepresentationID$-$Number$.m4s',
    'manifest.mpd'], dir);
}

/** Make the media of `seconds` under `root` (once) and return its folder. */
export function makeMedia(root, seconds) {
  const base = join(root, `${seconds}s`);
  if (!existsSync(join(base, 'hls', 'master.m3u8'))) hls(join(base, 'hls'), seconds);
  if (!existsSync(join(base, 'dash', 'manifest.mpd'))) dash(join(base, 'dash'), seconds);
  return base;
}
