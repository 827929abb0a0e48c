/**
 * Seeded fault injection: one draw per API request decides whether it fails and how. The same seed and the
 * same sequence of requests give the same faults, so reliability tests are reproducible.
 */
import { FAULT_KINDS, type FaultKind } from './options.js';
import { mulberry32 } from './random.js';

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
