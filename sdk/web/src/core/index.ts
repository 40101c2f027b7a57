/**
 * Public entry of the core: `createMonitor(options)`.
 *
 * Every method of the returned monitor is wrapped so that nothing throws into the host page.
 * Bad options log one warning and give a monitor whose methods do nothing.
 */

import { MonitorCore } from './monitor.js';
import { resolveOptions, type Options } from './options.js';
import { safe, warnOnce } from './util.js';

const METHODS = [
  'setContent', 'setPlayer', 'setCustom', 'detect', 'addFluxProvider', 'ready', 'newView',
  'source', 'endView', 'play', 'playing', 'pause', 'waiting', 'progress', 'seeking', 'seeked',
  'ended', 'error', 'rateChange', 'volumeChange', 'rendition', 'segment', 'trackEvent',
  'milestone', 'ad', 'flush', 'destroy',
] as const;

/** A monitor of one player. The methods after `flush` form the integration API used by adapters. */
export type Monitor = Pick<MonitorCore, (typeof METHODS)[number]> & {
  /** False when the options were invalid: every method is then a no-op. */
  readonly enabled: boolean;
};

function facade(core: MonitorCore | undefined): Monitor {
  const m: Record<string, unknown> = { enabled: !!core };
  let dead = !core;
  for (const name of METHODS) {
    m[name] = (...args: unknown[]): unknown => {
      if (dead) return name === 'addFluxProvider' ? () => undefined : undefined;
      if (name === 'destroy') dead = true;
      const r = safe(() => (core![name] as (...a: unknown[]) => unknown)(...args));
      return name === 'addFluxProvider' ? (r ?? (() => undefined)) : undefined;
    };
  }
  return m as unknown as Monitor;
}

/** Create a monitor for one player. Never throws; see the README for the options. */
export function createMonitor(options: Options): Monitor {
  const core = safe(() => {
    const { config, problems } = resolveOptions(options);
    if (!config) {
      warnOnce('config', `disabled, invalid options: ${problems.join('; ')}`);
      return undefined;
    }
    return new MonitorCore(config);
  });
  return facade(core);
}

export type { Options } from './options.js';
export type { AdEventType, ErrorReport, FluxProvider } from './monitor.js';
export type * from './types.js';
export { SDK_VERSION } from './version.js';
