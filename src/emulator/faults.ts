/**
 * Seeded fault injection: one draw per API request decides whether it fails and how. The same seed and the
 * same sequence of requests give the same faults, so reliability tests are reproducible.
 */
import { FAULT_KINDS, type FaultKind } from './options.js';

/** mulberry32: a small, fast 32-bit PRNG; plenty for picking faults, and stable across Node versions. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Draws the fault (or none) of each request. */
export class FaultInjector {
  private readonly random: () => number;
  private readonly enabled: boolean;

  constructor(
    private readonly probabilities: Readonly<Record<FaultKind, number>>,
    seed: number,
  ) {
    this.random = mulberry32(seed);
    this.enabled = FAULT_KINDS.some((kind) => probabilities[kind] > 0);
  }

  /** The fault of the next request, or `undefined`. Draws nothing when no fault is configured. */
  next(): FaultKind | undefined {
    if (!this.enabled) return undefined;
    const draw = this.random();
    let threshold = 0;
    for (const kind of FAULT_KINDS) {
      threshold += this.probabilities[kind];
      if (draw < threshold) return kind;
    }
    return undefined;
  }
}
