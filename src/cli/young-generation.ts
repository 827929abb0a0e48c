/**
 * A cap on the young generation of this process's V8 heap, for one-thread batch commands.
 *
 * Why: V8 grows the young generation (two semi-spaces) up to 16 MB a semi-space on a 64-bit machine with this
 * much memory, and on `extract` that alone is about 30 MB of the peak RSS. Measured on 500 MB of dense logs:
 * with semi-spaces of 4 MB (`node --max-semi-space-size=4`) the peak RSS fell from 167 to 131 MB at the same
 * speed; 1 MB ones cost 15 % more CPU. But `--max-semi-space-size` only counts when given to `node` itself (a
 * shebang cannot carry it portably, and V8 reads it once, at start-up).
 *
 * How: `--semi-space-growth-factor` is read each time V8 grows the young generation, so it can be changed while
 * running. V8 doubles the young generation at each growth step; this sets the factor to 1 (no more growth) as
 * soon as the caller's check sees 4 MB semi-spaces reached. The flag is process-wide: the
 * workers of `extract --jobs` size their own young generation (resourceLimits), so commands that start workers
 * do not call this.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** The semi-space size the cap aims at, in MiB. */
const SEMI_SPACE_MB = 4;

function newSpaceBytes(): number {
  for (const space of getHeapSpaceStatistics()) if (space.space_name === 'new_space') return space.space_size;
  return 0;
}

/**
 * Starts the cap; returns the check that stops growth once the target is reached. Call the check often (the
 * extract loop calls it after each part, 256 KiB of input): V8 grows the young generation at a minor
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
