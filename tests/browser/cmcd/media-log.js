// What the browser itself saw of the <video>, to compare with playpipe's view record:
// watchMedia(v) keeps in window.__log the click (set by the page), the first `playing`, the
// `ended`, each wait (`waiting` → `playing` after the first frame, seeks aside), and the
// renditions and player errors the page adds.
window.watchMedia = (v, extra = {}) => {
  const L = (window.__log = { click: null, playing: null, ended: null, waits: [], renditions: [], errors: [], duration: null, ...extra });
  let waitingAt = null;
  v.addEventListener('playing', () => {
    const t = Date.now();
    if (L.playing === null) L.playing = t;
    else if (waitingAt !== null) L.waits.push([waitingAt, t]);
    waitingAt = null;
  });
  v.addEventListener('waiting', () => { if (L.playing !== null && !v.seeking && waitingAt === null) waitingAt = Date.now(); });
  v.addEventListener('ended', () => { L.ended = Date.now(); L.duration = v.duration; });
  return L;
};
