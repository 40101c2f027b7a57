/** The `<script>` bundle: everything on `window.playpipe`. */
export { createMonitor, SDK_VERSION } from './core/index.js';
export { attachHtml5 } from './adapters/html5.js';
export { attachHls } from './adapters/hlsjs.js';
export { attachDash } from './adapters/dashjs.js';
export { attachVideojs } from './adapters/videojs.js';
