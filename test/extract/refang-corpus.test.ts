// The 1,017 line-aligned pairs of ioc-fanger's sample texts (defanged vs fanged), when ../shared is present.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { extractCandidates, refang } from '../../src/extract/index.js';

const folder = join(dirname(fileURLToPath(import.meta.url)), '../../../shared/corpora/refang');
const present =
  existsSync(join(folder, 'sample_text_defanged.txt')) && existsSync(join(folder, 'sample_text_fanged.txt'));

function lines(name: string): string[] {
  const text = readFileSync(join(folder, name), 'utf8');
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

describe.skipIf(!present)('refang corpus (ioc-fanger samples)', () => {
  const defanged = present ? lines('sample_text_defanged.txt') : [];
  const fanged = present ? lines('sample_text_fanged.txt') : [];

  it('has 1,017 line-aligned pairs', () => {
    expect(defanged).toHaveLength(1017);
    expect(fanged).toHaveLength(1017);
  });

  it('refangs every defanged line to its fanged line', () => {
    const mismatches = defanged
      .map((line, index) => ({ line: index + 1, got: refang(line), want: fanged[index] }))
      .filter(({ got, want }) => got !== want);
    expect(mismatches).toEqual([]);
  });

  it('extracts the same observables from both sides, at least one per line', () => {
    const mismatches: Array<{ line: number; defanged: string[]; fanged: string[] }> = [];
    let empty = 0;
    defanged.forEach((line, index) => {
      const fromDefanged = extractCandidates(line).map((candidate) => `${candidate.type}:${candidate.value}`);
      const fromFanged = extractCandidates(fanged[index] ?? '').map(
        (candidate) => `${candidate.type}:${candidate.value}`,
      );
      if (fromDefanged.join(' ') !== fromFanged.join(' ')) {
        mismatches.push({ line: index + 1, defanged: fromDefanged, fanged: fromFanged });
      }
      if (fromFanged.length === 0) empty += 1;
    });
    expect(mismatches).toEqual([]);
    expect(empty).toBe(0);
  });

  it('flags the candidates of changed lines as defanged and keeps their original text', () => {
    defanged.forEach((line, index) => {
      const changed = line !== fanged[index];
      for (const candidate of extractCandidates(line)) {
        expect(candidate.defanged).toBe(changed);
        expect(line).toContain(candidate.original);
      }
    });
  });
});
