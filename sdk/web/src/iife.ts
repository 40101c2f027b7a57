/** The `<script>` bundle: everything on `window.playpipe`. */
export { createMonitor, SDK_VERSION } from './core/index';
export { attachHtml5 } from './adapters/html5';
export { attachHls } from './adapters/hlsjs';
export { attachDash } from './adapters/dashjs';
export { attachVideojs } from './adapters/videojs';
