/**
 * A cap on the young generation of this process's V8 heap, for one-thread batch commands; and the trimming of the C
 * library's free memory for `enrich` (at the end).
 *
 * Why: V8 grows the young generation (two semi-spaces) up to 16 MB a semi-space on a 64-bit machine with this
 * much memory, and on `extract` that alone is about 30 MB of the peak RSS. Measured on 500 MB of dense logs,
 * peak RSS and time, text / CSV: 16 MB semi-spaces (V8's default) 167 / 167 MB, 17.9 / 21.4 s; 8 MB 142 / 142 MB,
 * 18.3 / 20.8 s; 4 MB 134 / 130 MB, 17.7 / 23.5 s (CSV's records then outlive collections); 1 MB cost 15 % more
 * CPU on text. 8 MB it is. But `--max-semi-space-size` only counts when given to `node` itself (a shebang
 * cannot carry it portably, and V8 reads it once, at start-up).
 *
 * How: `--semi-space-growth-factor` is read each time V8 grows the young generation, so it can be changed while
 * running. V8 doubles the young generation at each growth step; this sets the factor to 1 (no more growth) as
 * soon as the caller's check sees 8 MB semi-spaces reached. The flag is process-wide.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { trimNativeHeap } from '../native/engine.js';

/** The semi-space size the cap aims at, in MiB. */
const SEMI_SPACE_MB = 8;

function newSpaceBytes(): number {
  for (const space of getHeapSpaceStatistics()) if (space.space_name === 'new_space') return space.space_size;
  return 0;
}

/**
 * Starts the cap; returns the check that stops growth once the target is reached. Call the check often (the
 * extract loop calls it after each part, 128 KiB of input): V8 grows the young generation at a minor
 * collection, so a check that waited for a timer could come after a second growth (a test saw that happen).
 */
export function capYoungGeneration(): () => void {
  const target = 2 * SEMI_SPACE_MB * 1024 * 1024;
  let capped = false;
  const check = (): void => {
    if (capped || newSpaceBytes() < target) return;
    setFlagsFromString('--semi-space-growth-factor=1');
    capped = true;
  };
  check();
  return check;
}

/** How often {@link trimHeapEverySecond} trims. */
const TRIM_INTERVAL_MS = 1000;

/**
 * Gives the C library's free memory back to the system every second (src/native/engine.ts trimNativeHeap) until
 * the returned stop is called; nothing where it cannot. For `enrich`, which holds its distinct observables for
 * minutes to hours.
 *
 * Why: glibc keeps what its threads' arenas freed (V8's compiler and collector threads, libuv's pool) and gives it
 * back only when asked: about 17 MB in four thread arenas during `enrich`'s lookups and pass two. Trimming every
 * second (about 0.5 ms a call) took the peak RSS of the enrich bench's million occurrences from 154-157 MB to
 * 136-145 MB (a memory sampler preloaded; 138-141 MB without it), at the same CPU. Not for `extract`: there the
 * freed memory is taken again at once, and trimming it cost 0.1-0.4 s more system time per 500 MB for 2-3 MB less
 * peak RSS.
 */
export function trimHeapEverySecond(): () => void {
  if (!trimNativeHeap()) return () => undefined;
  const timer = setInterval(trimNativeHeap, TRIM_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
