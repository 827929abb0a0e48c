// Line-aligned pairs of defanged and fanged text: the project's own (test/fixtures/refang, threat-report and mail
// gateway lines, every defang form the refanger handles), always; and ioc-fanger's 1,017 sample pairs when
// ../shared is present.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { extractCandidates, refang } from '../../src/extract/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const OWN = join(here, '../fixtures/refang');
const SHARED = join(here, '../../../shared/corpora/refang');
const sharedPresent =
  existsSync(join(SHARED, 'sample_text_defanged.txt')) && existsSync(join(SHARED, 'sample_text_fanged.txt'));

/**
 * Every form the refanger documents (src/extract/refang.ts), as it is written in the project's fixture: the
 * fixture must keep covering each of them. (`meows` is documented too but is not refanged today.)
 */
const FORMS = [
  ...['[.]', '(.)', '{.}', '[dot]', '(dot)', '{dot}', '[DOT]', '(DOT)', '[ . ]', '( . )', ' [.] ', ' [dot] '],
  ...['[.)', '(.]', '[at]', '(at)', '{at}', '[AT]', '[@]', '(@)', '[:]', '(:)', '{:}', '[://]', '(://)', '{://}'],
  ...['[/]', '(/)', '[//]', '(//)', 'hxxp:', 'hXXp[', 'hxxps', 'HXXPS', 'hxtp:', 'hxtps:', 'htxp:', 'htxps['],
  ...['h**p:', 'h**ps:', 'h__p:', 'h__ps:', 'h[tt]p:', 'h[tt]ps:', 'meow:', 'fxp:', 'fxps:', 'sfxp:', 'FXP['],
];

function lines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

function observables(line: string): string[] {
  return extractCandidates(line).map((candidate) => `${candidate.type}:${candidate.value}`);
}

function pairTests(defanged: string[], fanged: string[], pairs: number): void {
  it(`has ${pairs} line-aligned pairs`, () => {
    expect(defanged).toHaveLength(pairs);
    expect(fanged).toHaveLength(pairs);
  });

  it('refangs every defanged line to its fanged line', () => {
    const mismatches = defanged
      .map((line, index) => ({ line: index + 1, got: refang(line), want: fanged[index] }))
      .filter(({ got, want }) => got !== want);
    expect(mismatches).toEqual([]);
  });

  it('extracts the same observables from both sides, at least one per line', () => {
    const mismatches = defanged
      .map((line, index) => ({
        line: index + 1,
        defanged: observables(line),
        fanged: observables(fanged[index] ?? ''),
      }))
      .filter((pair) => pair.defanged.join(' ') !== pair.fanged.join(' ') || pair.fanged.length === 0);
    expect(mismatches).toEqual([]);
  });

  it('flags exactly the defanged candidates, keeping their original text', () => {
    defanged.forEach((line, index) => {
      const candidates = extractCandidates(line);
      for (const candidate of candidates) {
        expect(line).toContain(candidate.original);
        expect(candidate.defanged).toBe(refang(candidate.original) !== candidate.original);
      }
      if (line !== fanged[index]) expect(candidates.some((candidate) => candidate.defanged)).toBe(true);
    });
  });
}

describe('refang pairs (test/fixtures/refang)', () => {
  const defanged = lines(join(OWN, 'defanged.txt'));
  const fanged = lines(join(OWN, 'fanged.txt'));
  pairTests(defanged, fanged, 55);

  it('covers every documented defang form, and has lines that must stay as they are', () => {
    const text = defanged.join('\n');
    expect(FORMS.filter((form) => !text.includes(form))).toEqual([]);
    expect(defanged.filter((line, index) => line === fanged[index]).length).toBeGreaterThanOrEqual(3);
  });
});

describe.skipIf(!sharedPresent)('refang pairs (ioc-fanger samples in ../shared)', () => {
  pairTests(
    sharedPresent ? lines(join(SHARED, 'sample_text_defanged.txt')) : [],
    sharedPresent ? lines(join(SHARED, 'sample_text_fanged.txt')) : [],
    1017,
  );
});
