// Extraction quality on the generated corpus: precision and recall of extract + screen, per type, against the
// generator's truth, for text lines and for CSV rows (parsed with csv-parse, every field scanned).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { generateCorpus, writeCorpus } from '../bench/corpus-generator.mjs';
import { extractCandidates } from '../src/extract/index.js';
import { screenValue } from '../src/screen.js';
import { IOC_TYPES } from '../src/types.js';

interface Truth {
  readonly line: number;
  readonly type: string;
  readonly value: string;
}

interface Scores {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
}

/** Per-type counts over multisets of `line|type|value`. */
function score(found: readonly Truth[], truth: readonly Truth[]): Map<string, Scores> {
  const count = (items: readonly Truth[]) => {
    const counts = new Map<string, number>();
    for (const item of items) {
      const key = `${item.line}|${item.type}|${item.value}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  };
  const got = count(found);
  const want = count(truth);
  const scores = new Map<string, Scores>(
    IOC_TYPES.map((type) => [type, { truePositives: 0, falsePositives: 0, falseNegatives: 0 }]),
  );
  for (const key of new Set([...got.keys(), ...want.keys()])) {
    const type = key.split('|')[1] ?? '';
    const entry = scores.get(type);
    if (entry === undefined) throw new Error(`unexpected type in ${key}`);
    const g = got.get(key) ?? 0;
    const w = want.get(key) ?? 0;
    entry.truePositives += Math.min(g, w);
    entry.falsePositives += Math.max(0, g - w);
    entry.falseNegatives += Math.max(0, w - g);
  }
  return scores;
}

function accepted(line: number, text: string): Truth[] {
  const out: Truth[] = [];
  for (const candidate of extractCandidates(text)) {
    const outcome = screenValue(candidate.type, candidate.value);
    if (outcome.accepted) out.push({ line, type: outcome.type, value: outcome.value });
  }
  return out;
}

function expectQuality(scores: Map<string, Scores>): void {
  for (const [type, { truePositives, falsePositives, falseNegatives }] of scores) {
    expect(truePositives, `${type} has examples`).toBeGreaterThan(50);
    expect(truePositives / (truePositives + falsePositives), `${type} precision`).toBeGreaterThanOrEqual(0.99);
    expect(truePositives / (truePositives + falseNegatives), `${type} recall`).toBeGreaterThanOrEqual(0.99);
  }
}

describe('generated corpus', () => {
  it('is deterministic for a seed', () => {
    expect(generateCorpus({ seed: 3, lines: 50 })).toEqual(generateCorpus({ seed: 3, lines: 50 }));
    expect(generateCorpus({ seed: 3, lines: 50 }).text).not.toBe(generateCorpus({ seed: 4, lines: 50 }).text);
  });

  it('streams a corpus of about the asked size to a file, deterministically', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'corpus-'));
    try {
      const first = await writeCorpus(join(folder, 'a.csv'), { seed: 5, bytes: 200_000, format: 'csv' });
      await writeCorpus(join(folder, 'b.csv'), { seed: 5, bytes: 200_000, format: 'csv' });
      const text = readFileSync(join(folder, 'a.csv'), 'utf8');
      expect(text).toBe(readFileSync(join(folder, 'b.csv'), 'utf8'));
      expect(first.bytes).toBe(Buffer.byteLength(text));
      expect(first.bytes).toBeGreaterThanOrEqual(200_000);
      expect(first.bytes).toBeLessThan(202_000);
      expect(parse(text, { from_line: 2 })).toHaveLength(first.lines);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('reaches precision and recall ≥ 0.99 per type on text lines', () => {
    const { text, truth } = generateCorpus({ seed: 11, lines: 8000, format: 'text' });
    const lines = text.split('\n');
    const found = lines.flatMap((line, index) => accepted(index, line));
    expectQuality(score(found, truth));
  });

  it('reaches precision and recall ≥ 0.99 per type on CSV rows', () => {
    const { text, truth } = generateCorpus({ seed: 12, lines: 8000, format: 'csv' });
    const rows = parse(text, { from_line: 2 });
    expect(rows).toHaveLength(8000);
    const found = rows.flatMap((fields, index) => fields.flatMap((field) => accepted(index, field)));
    expectQuality(score(found, truth));
  });
});
