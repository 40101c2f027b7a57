/** Who is watching: a viewer id kept in first-party storage and a per-page session id. */

import { uuid } from './util.js';

const VIEWER_KEY = 'playpipe_viewer_id';
let sessionId: string | undefined;

/**
 * The viewer id: read from localStorage, or made and stored there. Without storage (or when
 * `persist` is false) there is no viewer id rather than a new one per page, which would
 * inflate unique-viewer counts.
 */
export function viewerId(persist: boolean): string | undefined {
  if (!persist) return undefined;
  try {
    const store = (globalThis as { localStorage?: Storage }).localStorage;
    if (!store) return undefined;
    let id = store.getItem(VIEWER_KEY);
    if (!id || id.length > 128) {
      id = uuid();
      store.setItem(VIEWER_KEY, id);
    }
    return id;
  } catch {
    return undefined; // storage blocked (privacy mode, sandboxed iframe)
  }
}

/** One id per page load, shared by every monitor of the page; never stored. */
export function pageSessionId(): string {
  return (sessionId ??= uuid());
}
