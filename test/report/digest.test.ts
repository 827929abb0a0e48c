import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readResultRows } from '../../src/io/result-rows.js';
import {
  DIGEST_COLUMNS,
  DigestBuilder,
  SAMPLE_CHARS,
  readDigest,
  virusTotalLink,
  type RunDigest,
} from '../../src/report/digest.js';
import {
  SIEM_ROWS,
  enrichAgainstEmulator,
  siemRecords,
  typedRecords,
  writeRows,
  type EnrichRun,
} from '../support/enrich-results.js';

let dir: string;
let run: EnrichRun;
let digest: RunDigest;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ioc-digest-'));
  const flaky = Array.from({ length: 12 }, (_, index) => [`edge-${index}.example.org`, 'dns'] as const);
  run = await enrichAgainstEmulator(
    [...siemRecords(SIEM_ROWS), ...typedRecords([...flaky, ['not a hash', 'md5_hash'], ['x', 'mac']], 50)],
    { maxRetries: 0, concurrency: 1 },
    { perDay: 14, faults: { transient: 0.2 }, seed: 5 },
  );
  const builder = new DigestBuilder();
  for (const row of run.rows) builder.addRow(row);
  digest = builder.finish();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the digest of a run', () => {
  it('has the accounting, counts by Status and Severity of the run summary', () => {
    const { summary } = run;
    expect(summary.failed).toBeGreaterThan(0);
    expect(summary.notSubmitted).toBeGreaterThan(0);
    expect(digest.accounting).toEqual({
      occurrences: summary.occurrences,
      rejected: summary.rejected,
      allowlisted: summary.allowlisted,
      duplicates: summary.duplicates,
      lookedUp: summary.lookedUp,
      notSubmitted: summary.notSubmitted,
      failed: summary.failed,
    });
    expect(digest.byStatus).toEqual(summary.byStatus);
    expect(digest.bySeverity).toEqual(summary.bySeverity);
    const rejected = Object.values(digest.rejectedByReason).reduce((sum, count) => sum + count, 0);
    expect(rejected).toBe(summary.rejected);
    expect(digest.lookupsSent).toBe(summary.lookup!.lookedUp - summary.lookup!.answeredBefore);
  });

  it('has each distinct observable once, with the rows it appears in', () => {
    const keys = new Set(
      run.rows
        .filter(
          (row) =>
            row.ResponseCode !== '' ||
            String(row.Status).startsWith('N') ||
            String(row.Status).startsWith('F') ||
            row.Status === 'Duplicate',
        )
        .map((row) => `${String(row.IoCType)}:${String(row.Observable)}`),
    );
    expect(new Set(digest.observables.map((observable) => `${observable.type}:${observable.value}`))).toEqual(keys);
    for (const observable of digest.observables) {
      const rows = run.rows.filter((row) => row.Observable === observable.value && row.IoCType === observable.type);
      expect(observable.occurrences).toBe(rows.length);
      expect(observable.samples).toEqual(
        rows.slice(0, 3).map((row) => ({ sourceIndex: row.SourceIndex, field: row.SourceField, text: row.SourceText })),
      );
    }
    const ip = digest.observables.find((observable) => observable.value === '45.33.100.66');
    expect(ip).toMatchObject({ status: 'Success', positives: 8, occurrences: 3, severity: 'high' });
  });

  it.each(['csv', 'jsonl', 'json'] as const)('is the same when read back from the %s output', async (format) => {
    const path = await writeRows(run.rows, format, join(dir, `results.${format}`));
    expect(await readDigest(path)).toEqual(digest);
  });

  it('counts rows from two readers (numbered apart) as the same observables', async () => {
    const path = await writeRows(run.rows, 'csv', join(dir, 'twice.csv'));
    const builder = new DigestBuilder();
    // Reversed, so that the numbers the two readers give the same values differ.
    for (const row of [...run.rows].reverse()) builder.addRow(row);
    await readResultRows(path, { columns: DIGEST_COLUMNS, required: [] }, (row) => builder.add(row));
    for (const row of run.rows) builder.addRow(row);
    const thrice = builder.finish();
    const key = (o: { type: string; value: string }): string => `${o.type}:${o.value}`;
    expect(new Set(thrice.observables.map(key))).toEqual(new Set(digest.observables.map(key)));
    const once = new Map(digest.observables.map((o) => [key(o), o]));
    for (const observable of thrice.observables) {
      expect(observable.occurrences).toBe(3 * once.get(key(observable))!.occurrences);
      expect(observable.status).toBe(once.get(key(observable))!.status);
      expect(observable.severity).toBe(once.get(key(observable))!.severity);
    }
    expect(thrice.accounting.occurrences).toBe(3 * digest.accounting.occurrences);
    expect(thrice.byStatus).toEqual(Object.fromEntries(Object.entries(digest.byStatus).map(([k, v]) => [k, 3 * v])));
  });

  it('keeps one value seen with two types as two observables', async () => {
    const template = run.rows.find((row) => row.Observable === '45.33.100.66')!;
    const rows = ['dns', 'url', 'dns', 'url', 'url'].map((type, index) => ({
      ...template,
      Observable: 'evil.example',
      IoCType: type,
      Status: index < 2 ? 'Success' : 'Duplicate',
      SourceIndex: String(index),
    }));
    const path = await writeRows(rows, 'csv', join(dir, 'two-types.csv'));
    const observables = (await readDigest(path)).observables;
    expect(observables.map((o) => [o.type, o.value, o.occurrences, o.status])).toEqual([
      ['dns', 'evil.example', 2, 'Success'],
      ['url', 'evil.example', 3, 'Success'],
    ]);
    expect(observables[1]?.samples.map((sample) => sample.sourceIndex)).toEqual(['1', '3', '4']);
  });

  it('keeps the first three SourceTexts, truncated', () => {
    const builder = new DigestBuilder();
    const long = `${'a'.repeat(SAMPLE_CHARS + 50)} 45.33.100.66`;
    for (let index = 0; index < 5; index++) {
      builder.addRow({
        ...run.rows.find((row) => row.Observable === '45.33.100.66')!,
        SourceIndex: String(index),
        SourceText: long,
      });
    }
    const [observable] = builder.finish().observables;
    expect(observable?.occurrences).toBe(5);
    expect(observable?.samples.map((sample) => sample.sourceIndex)).toEqual(['0', '1', '2']);
    expect(observable?.samples[0]?.text).toHaveLength(SAMPLE_CHARS);
    expect(observable?.samples[0]?.text.endsWith('…')).toBe(true);
  });

  it('names the file and line of a results file that is not an enrich output', async () => {
    const path = join(dir, 'other.csv');
    writeFileSync(path, 'a,b\n1,2\n');
    await expect(readDigest(path)).rejects.toMatchObject({ code: 'BAD_INPUT', line: 1 });
    const jsonl = join(dir, 'other.jsonl');
    writeFileSync(jsonl, '{"Observable":"x"}\n');
    await expect(readDigest(jsonl)).rejects.toMatchObject({ code: 'BAD_INPUT', line: 1 });
  });
});

describe('virusTotalLink', () => {
  it.each([
    [{ type: 'ipv4', value: '45.33.100.66', sha256: '' }, 'https://www.virustotal.com/gui/ip-address/45.33.100.66'],
    [
      { type: 'ipv6', value: '2600:3c01::1', sha256: '' },
      'https://www.virustotal.com/gui/ip-address/2600%3A3c01%3A%3A1',
    ],
    [
      { type: 'dns', value: 'malware.example.com', sha256: '' },
      'https://www.virustotal.com/gui/domain/malware.example.com',
    ],
    [
      { type: 'md5_hash', value: 'e85bcfce6f59e0c96ea44b4c59d00ea1', sha256: 'ab'.repeat(32) },
      `https://www.virustotal.com/gui/file/${'ab'.repeat(32)}`,
    ],
    [
      { type: 'url', value: 'http://malware.example.com/payload.exe', sha256: '' },
      // VirusTotal names a URL object by the SHA-256 of the (canonical) URL
      `https://www.virustotal.com/gui/url/${createHash('sha256').update('http://malware.example.com/payload.exe').digest('hex')}`,
    ],
    [{ type: 'mac', value: 'javascript:alert(1)', sha256: '' }, ''],
    [
      { type: 'dns', value: 'a/../../x?<script>', sha256: '' },
      'https://www.virustotal.com/gui/domain/a%2F..%2F..%2Fx%3F%3Cscript%3E',
    ],
  ])('%j links to %s', (observable, link) => {
    expect(virusTotalLink(observable)).toBe(link);
  });
});
