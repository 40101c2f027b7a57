// Test media made with ffmpeg at test time: an 8 s, 3-rendition HLS ladder (1 s segments),
// an 8 s, 2-rendition DASH stream (1 s segments) and an 8 s MP4, all tiny so they encode fast.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const DURATION_S = 8;
const FPS = 24;
const LADDER = [
  { w: 192, h: 108, kbps: 150 },
  { w: 320, h: 180, kbps: 300 },
  { w: 480, h: 270, kbps: 600 },
];

function ffmpeg(args, cwd) {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { cwd, stdio: 'inherit' });
}

const input = (seconds) => ['-f', 'lavfi', '-i', `testsrc2=size=480x270:rate=${FPS}:duration=${seconds}`];
const source = input(DURATION_S);
const gop = ['-g', String(FPS), '-keyint_min', String(FPS), '-sc_threshold', '0'];
const x264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-pix_fmt', 'yuv420p'];

/** The HLS ladder, `seconds` long (1 s segments), written under `dir`. */
export function hls(dir, seconds = DURATION_S) {
  const split = `[0:v]split=${LADDER.length}${LADDER.map((_, i) => `[s${i}]`).join('')};` +
    LADDER.map((r, i) => `[s${i}]scale=${r.w}:${r.h}[v${i}]`).join(';');
  const maps = LADDER.flatMap((r, i) => ['-map', `[v${i}]`, `-b:v:${i}`, `${r.kbps}k`, `-maxrate:v:${i}`, `${r.kbps}k`, `-bufsize:v:${i}`, `${r.kbps}k`]);
  for (let i = 0; i < LADDER.length; i++) mkdirSync(join(dir, `v${i}`), { recursive: true });
  ffmpeg([...input(seconds), '-filter_complex', split, ...maps, ...x264, ...gop,
    '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod', '-hls_segment_filename', 'v%v/seg%d.ts',
    '-master_pl_name', 'master.m3u8', '-var_stream_map', LADDER.map((_, i) => `v:${i}`).join(' '), 'v%v/index.m3u8'], dir);
}

function dash(dir) {
  mkdirSync(dir, { recursive: true });
  const rungs = LADDER.slice(0, 2);
  const split = `[0:v]split=2[s0][s1];` + rungs.map((r, i) => `[s${i}]scale=${r.w}:${r.h}[v${i}]`).join(';');
  const maps = rungs.flatMap((r, i) => ['-map', `[v${i}]`, `-b:v:${i}`, `${r.kbps}k`]);
  ffmpeg([...source, '-filter_complex', split, ...maps, ...x264, ...gop,
    '-f', 'dash', '-adaptation_sets', 'id=0,streams=v', '-seg_duration', '1', '-use_template', '1', '-use_timeline', '0',
    '-init_seg_name', 'init-$RepresentationID$.m4s', '-media_seg_name', 'seg-$RepresentationID$-$Number$.m4s',
    'manifest.mpd'], dir);
}

function mp4(dir) {
  mkdirSync(dir, { recursive: true });
  ffmpeg([...source, '-vf', 'scale=320:180', ...x264, ...gop, '-movflags', '+faststart', 'video.mp4'], dir);
}

/** Make the media under `root` (once) and return its folder. */
export function makeMedia(root) {
  if (!existsSync(join(root, 'hls', 'master.m3u8'))) hls(join(root, 'hls'));
  if (!existsSync(join(root, 'dash', 'manifest.mpd'))) dash(join(root, 'dash'));
  if (!existsSync(join(root, 'mp4', 'video.mp4'))) mp4(join(root, 'mp4'));
  return root;
}
