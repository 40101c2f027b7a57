// Size benchmark: min+gzip bytes of the core, of each adapter, and of a peer analytics SDK from
// npm (mux-embed, pinned as a devDependency) measured the same way, side by side.
// Goals: core <= 8 KB, each adapter <= 2 KB (its own code; the core is shared).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const KB = 1024;

/** Bundle and minify `entry`; `external` is a path pattern of modules left out. */
async function minified(entry, external) {
  const plugins = external
    ? [{
        name: 'external',
        setup(b) {
          b.onResolve({ filter: external }, (a) => (a.importer ? { path: a.path, external: true } : undefined));
        },
      }]
    : [];
  const r = await build({
    absWorkingDir: root, entryPoints: [entry], bundle: true, minify: true, write: false,
    format: 'esm', target: 'es2020', legalComments: 'none', plugins,
  });
  return r.outputFiles[0].contents;
}

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const fmt = (n) => `${(n / KB).toFixed(2)} KB`.padStart(9);

const CORE = /\/core\//;
const ADAPTER_SHARED = /\/core\/|\.\/(html5|media)(\.js)?$/;
const rows = [['core (@playpipe/web)', await minified('src/index.ts'), 8 * KB]];
rows.push(['html5 adapter', await minified('src/adapters/html5.ts', CORE), 2 * KB]);
for (const name of ['hlsjs', 'dashjs', 'videojs']) {
  rows.push([`${name} adapter`, await minified(`src/adapters/${name}.ts`, ADAPTER_SHARED), 2 * KB]);
}
const full = await minified('src/iife.ts');
rows.push(['everything (IIFE bundle)', full, undefined]);

console.log('playpipe web SDK, min+gzip (esbuild minify, gzip -9)');
console.log(`${'part'.padEnd(28)}${'min'.padStart(9)}${'gzip'.padStart(10)}   goal`);
let failed = 0;
for (const [name, bytes, goal] of rows) {
  const g = gz(bytes);
  const verdict = goal === undefined ? '' : g <= goal ? `<= ${goal / KB} KB ok` : `> ${goal / KB} KB OVER`;
  if (goal !== undefined && g > goal) failed++;
  console.log(`${name.padEnd(28)}${fmt(bytes.length)} ${fmt(g)}   ${verdict}`);
}
console.log('(html5 adapter: own code; hls.js, dash.js and Video.js adapters: own code on top of core and html5)');

const peerDir = `${root}/node_modules/mux-embed`;
const peerPkg = JSON.parse(readFileSync(`${peerDir}/package.json`, 'utf8'));
const peerSrc = readFileSync(`${peerDir}/${peerPkg.main}`, 'utf8');
const peer = (await build({ stdin: { contents: peerSrc, loader: 'js' }, minify: true, write: false, legalComments: 'none' })).outputFiles[0].contents;
const ours = gz(full);
const theirs = gz(peer);
console.log('');
console.log(`peer: mux-embed ${peerPkg.version} (core with its built-in hls.js/dash.js support), same measure`);
console.log(`${'mux-embed'.padEnd(28)}${fmt(peer.length)} ${fmt(theirs)}`);
console.log(`${'playpipe everything'.padEnd(28)}${fmt(full.length)} ${fmt(ours)}`);
console.log(`ratio playpipe / mux-embed: ${(ours / theirs).toFixed(2)}  (mux-embed is ${(theirs / ours).toFixed(1)}x larger)`);
if (failed) {
  console.log(`${failed} part(s) over their size goal`);
  process.exitCode = 1;
}
