// Build: ESM entry points (shared code split into chunks) and one minified IIFE for <script>.
// Types are emitted afterwards by `tsc -p tsconfig.build.json`.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(`${root}/dist`, { recursive: true, force: true });

export const ENTRIES = {
  index: 'src/index.ts',
  html5: 'src/adapters/html5.ts',
  hlsjs: 'src/adapters/hlsjs.ts',
  dashjs: 'src/adapters/dashjs.ts',
  videojs: 'src/adapters/videojs.ts',
};

const common = { absWorkingDir: root, bundle: true, target: 'es2020', logLevel: 'warning', legalComments: 'none' };

await build({
  ...common,
  entryPoints: ENTRIES,
  outdir: 'dist/esm',
  format: 'esm',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});

await build({
  ...common,
  entryPoints: ['src/iife.ts'],
  outfile: 'dist/playpipe.iife.js',
  format: 'iife',
  globalName: 'playpipe',
  minify: true,
});

console.log('built dist/esm/*.js and dist/playpipe.iife.js');
