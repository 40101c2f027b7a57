/**
 * The per-view state machine. It turns player signals into dictionary events and nothing else:
 * no timers, no I/O. Buffering before the first frame is startup and buffering during a seek
 * is seek time; only a stall while the viewer expects playback is a rebuffer.
 */

import type { ErrorNode, EventDetails, EventType, Fluxdata, ViewEndReason } from './types.js';
import { uuid } from './util.js';

export type State =
  | 'idle' // view started, no play intent yet
  | 'starting' // play requested, waiting for the first frame
  | 'playing'
  | 'paused'
  | 'seeking'
  | 'resuming' // play requested after a pause or a seek, frames not moving yet
  | 'rebuffering'
  | 'done'; // view_end sent

export type Emit = (type: EventType, details?: EventDetails, flux?: Fluxdata) => void;

export class View {
  readonly id = uuid();
  seq = 0;
  state: State = 'idle';
  firstFrame = false;
  /** A play intent or an error happened: the view is no longer just a loaded source. */
  engaged = false;
  private afterSeek = false;
  private beforeSeek: State = 'idle';

  constructor(private readonly emit: Emit, readonly sampled: boolean) {}

  /** Heartbeats are due in these states. */
  get beating(): boolean {
    return this.state === 'playing' || this.state === 'rebuffering';
  }

  /** Play intent. Returns false when the view is over and a new one must take it. */
  play(): boolean {
    const s = this.state;
    if (s === 'done') return false;
    if (s === 'playing' || s === 'starting' || s === 'rebuffering' || s === 'resuming') return true;
    this.engaged = true;
    this.emit('play_requested');
    if (s === 'seeking') this.beforeSeek = 'resuming';
    else this.state = this.firstFrame ? 'resuming' : 'starting';
    return true;
  }

  /** Frames are moving. */
  playing(): void {
    const s = this.state;
    if (s === 'done' || s === 'seeking' || s === 'playing') return;
    if (!this.firstFrame) {
      if (s !== 'starting') this.emit('play_requested');
      this.engaged = this.firstFrame = true;
      this.emit('first_frame');
    } else if (s === 'rebuffering') {
      this.emit('rebuffer_end');
    }
    this.emit('playing');
    this.state = 'playing';
    this.afterSeek = false;
  }

  /** The playhead advanced while not paused: ends a resume that never announced `playing`. */
  progress(): void {
    if (this.state === 'resuming') this.playing();
  }

  pause(): void {
    const s = this.state;
    if (s === 'done' || s === 'idle' || s === 'paused') return;
    if (s === 'rebuffering') this.emit('rebuffer_end');
    this.emit('paused');
    if (s === 'seeking') this.beforeSeek = 'paused';
    else this.state = 'paused';
  }

  /** The player waits for data. Only a rebuffer when the viewer expects frames to move. */
  waiting(): void {
    const s = this.state;
    if (s === 'playing' || (s === 'resuming' && !this.afterSeek)) {
      this.emit('rebuffer_start');
      this.state = 'rebuffering';
    }
  }

  /** A seek began; `fromMs` is the playhead before it. Ignored before the first frame. */
  seeking(fromMs?: number): void {
    const s = this.state;
    if (!this.firstFrame || s === 'done' || s === 'seeking') return;
    if (s === 'rebuffering') this.emit('rebuffer_end');
    this.beforeSeek = s === 'rebuffering' ? 'playing' : s;
    this.emit('seek_start', undefined, fromMs === undefined ? undefined : { playhead_ms: fromMs });
    this.state = 'seeking';
  }

  /** The seek completed; `paused` tells whether the player stays paused. */
  seeked(paused: boolean): void {
    if (this.state !== 'seeking') return;
    this.emit('seek_end');
    if (paused) {
      if (this.beforeSeek !== 'paused') this.emit('paused');
      this.state = 'paused';
    } else {
      this.state = 'resuming';
      this.afterSeek = true;
    }
  }

  ended(): void {
    const s = this.state;
    if (s === 'done') return;
    if (s === 'rebuffering') this.emit('rebuffer_end');
    if (s === 'seeking') this.emit('seek_end');
    this.emit('ended');
    this.end('ended');
  }

  error(error: ErrorNode): void {
    if (this.state === 'done') return;
    this.engaged = true;
    this.emit('error', { error });
    if (error.severity === 'fatal') this.end('error');
  }

  /** A heartbeat while playing or rebuffering, or a keep-alive one while paused. */
  heartbeat(): void {
    if (this.beating || this.state === 'paused') this.emit('heartbeat');
  }

  end(reason: ViewEndReason): void {
    if (this.state === 'done') return;
    this.emit('view_end', { reason });
    this.state = 'done';
  }
}
