/** `@playpipe/web`: the player-agnostic core. Adapters live in `@playpipe/web/<player>`. */
export * from './core/index.js';
