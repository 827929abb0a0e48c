// The young-generation cap of one-thread CLI runs (src/cli/young-generation.ts), in child processes: the V8
// setting is process-wide, so it is never changed in the test runner's own process.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nativeAvailable } from '../../src/native/engine.js';
import { freedThenTrimmed, onGlibc } from '../support/freed-memory.js';

const moduleUrl = pathToFileURL(
  join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'young-generation.js'),
).href;

/**
 * Runs an allocation-heavy loop in which objects survive a while (as a batch of rows does), with the cap's check
 * after each round as the extract loop makes it after each part; prints the largest new space seen, in bytes.
 */
function largestNewSpace(capped: boolean): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    const { capYoungGeneration } = await import(${JSON.stringify(moduleUrl)});
    const check = ${capped} ? capYoungGeneration() : () => undefined;
    const newSpace = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size;
    let largest = 0;
    let kept = [];
    for (let round = 0; round < 2000; round++) {
      for (let index = 0; index < 4000; index++) kept.push({ round, index, text: 'x' + index });
      if (kept.length > 100000) kept = [];
      check();
      largest = Math.max(largest, newSpace());
      if (round % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    process.stdout.write(String(largest));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(child.stderr).toBe('');
  return Number(child.stdout);
}

describe('capYoungGeneration', () => {
  it('stops the young generation at 8 MiB semi-spaces, where V8 alone grows it further', () => {
    const MiB = 1024 * 1024;
    expect(largestNewSpace(false)).toBeGreaterThan(24 * MiB);
    // Two semi-spaces of 8 MiB, with a page of slack for V8's rounding.
    expect(largestNewSpace(true)).toBeLessThanOrEqual(16 * MiB + MiB);
  });
});

describe('trimHeapEverySecond', () => {
  it.skipIf(process.platform !== 'linux' || !nativeAvailable())(
    "trims glibc's free memory at once (then every second, on a timer that keeps no process alive)",
    () => {
      // The child never calls stop: it must still exit.
      const { freed, after } = freedThenTrimmed(
        `const { trimHeapEverySecond } = await import(${JSON.stringify(moduleUrl)});`,
        'trimHeapEverySecond()',
      );
      if (onGlibc()) expect(freed - after).toBeGreaterThan(40);
      else expect(freed - after).toBeLessThan(40);
    },
  );
});
