/**
 * A virtual clock shared by the emulator (`now`) and the client (`clock`): sleeping advances time at once, so
 * an hour of quota pacing runs in milliseconds while both sides agree on what time it is.
 */
export interface VirtualClock {
  // Function-typed properties (like Clock's): tests pass `clock.now` on its own.
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  advance: (ms: number) => void;
  /** Total virtual time slept. */
  slept: () => number;
}

/** A virtual clock starting at `start` (epoch ms); default 2026-11-22T10:00:00Z. */
export function virtualClock(start = Date.UTC(2026, 10, 22, 10, 0, 0)): VirtualClock {
  let time = start;
  let slept = 0;
  return {
    now: () => time,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted === true) return;
      const step = Math.max(0, ms);
      time += step;
      slept += step;
      // Yield to the event loop so that concurrent requests interleave as they would in real time.
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
    advance: (ms: number) => {
      time += ms;
    },
    slept: () => slept,
  };
}
