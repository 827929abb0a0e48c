import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stixBundle, stixBundleJson, type StixBundle } from '../../src/export/stix.js';
import { TLP_LEVELS } from '../../src/export/tlp.js';
import { DigestBuilder, type RunInfo } from '../../src/report/digest.js';
import type { EnrichedRow } from '../../src/types.js';
import {
  SIEM_ROWS,
  enrichAgainstEmulator,
  siemRecords,
  typedRecords,
  type EnrichRun,
} from '../support/enrich-results.js';
import { parsePattern, validateBundle } from './stix-validator.js';

/** A detected URL row, as enrich writes it. */
const ROW = {
  Observable: 'http://malware.example.com/payload.exe',
  IoCType: 'url',
  Status: 'Success',
  ResponseCode: 1,
  RawResponse: '',
  Resource: '',
  SourceIndex: '0',
  VerboseMsg: '',
  ScanId: '',
  Permalink: '',
  Positives: 9,
  MD5: '',
  SHA1: '',
  SHA256: '',
  ResolvedDomains: '',
  ResolvedIPs: '',
  DetectedUrls: '',
  Suspicious: 0,
  Total: 64,
  Severity: 'high',
  Reputation: '',
  LastAnalysisDate: '',
  Tags: '',
  CacheHit: false,
  FetchedAt: '',
  SourceField: 'Message',
  SourceText: 'x',
  ContactedDomains: '',
  ContactedIPs: '',
  ContactedUrls: '',
  CommunicatingFiles: '',
  Submitted: '',
  Note: '',
} satisfies EnrichedRow;

const RUN: RunInfo = {
  source: 'firewall.csv',
  startedAt: new Date('2026-11-30T08:00:00.000Z'),
  finishedAt: new Date('2026-11-30T08:10:00.000Z'),
};

/**
 * UUIDv5 per RFC 4122 section 4.3, written here apart from the code under test: SHA-1 over the namespace's 16
 * bytes and the name, version nibble 5, variant bits 10.
 */
function referenceUuidV5(namespace: string, name: string): string {
  const bytes = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(Buffer.from(name, 'utf8'))
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20, 32)].join('-');
}
const STIX_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';

/** The spec's deterministic id, with the canonical JSON of the contributing properties written out by hand. */
function expectedScoId(type: string, value: string, hashes?: Record<string, string>): string {
  if (type !== 'file') return `${type}--${referenceUuidV5(STIX_NAMESPACE, `{"value":${JSON.stringify(value)}}`)}`;
  const [name, hash] = ['MD5', 'SHA-1', 'SHA-256'].map((key) => [key, hashes?.[key]]).find(([, v]) => v)!;
  return `file--${referenceUuidV5(STIX_NAMESPACE, `{"hashes":{"${name}":"${hash}"}}`)}`;
}

function bundleOf(rows: readonly EnrichedRow[], options: Partial<Parameters<typeof stixBundle>[1]> = {}): StixBundle {
  const builder = new DigestBuilder();
  for (const row of rows) builder.addRow(row);
  const bundle = stixBundle(builder.finish(), { run: RUN, ...options });
  // What a consumer gets: the JSON text, parsed.
  return JSON.parse(JSON.stringify(bundle)) as StixBundle;
}

type Obj = Record<string, unknown>;
const ofType = (bundle: StixBundle, type: string): Obj[] => bundle.objects.filter((o) => o['type'] === type);

/** Checks a bundle against the rows it was made from, computing every expectation from the rows. */
function checkAgainstRows(bundle: StixBundle, rows: readonly EnrichedRow[], minPositives = 1): void {
  expect(validateBundle(bundle)).toEqual([]);
  const detectedRows = rows.filter((row) => typeof row.Positives === 'number' && row.Positives >= minPositives);
  // One SCO per file (its hashes together) or per other observable.
  const expected = new Map<string, { rows: number; values: Set<string> }>();
  for (const row of detectedRows) {
    const hashes: Record<string, string> = {};
    if (row.MD5 !== '') hashes['MD5'] = String(row.MD5);
    if (row.SHA1 !== '') hashes['SHA-1'] = String(row.SHA1);
    if (row.SHA256 !== '') hashes['SHA-256'] = String(row.SHA256);
    const stixType = { ipv4: 'ipv4-addr', ipv6: 'ipv6-addr', dns: 'domain-name', url: 'url' }[String(row.IoCType)];
    const id = expectedScoId(stixType ?? 'file', String(row.Observable), hashes);
    const entry = expected.get(id) ?? { rows: 0, values: new Set<string>() };
    entry.rows++;
    entry.values.add(String(row.Observable));
    expected.set(id, entry);
  }
  const scos = bundle.objects.filter((o) =>
    ['ipv4-addr', 'ipv6-addr', 'domain-name', 'url', 'file'].includes(String(o['type'])),
  );
  expect(new Set(scos.map((sco) => sco['id']))).toEqual(new Set(expected.keys()));
  const indicators = ofType(bundle, 'indicator');
  expect(indicators).toHaveLength(expected.size);
  for (const indicator of indicators) {
    const basedOn = ofType(bundle, 'relationship').filter((r) => r['source_ref'] === indicator['id']);
    expect(basedOn).toHaveLength(1);
    expect(basedOn[0]?.['relationship_type']).toBe('based-on');
    const scoIdValue = String(basedOn[0]?.['target_ref']);
    const entry = expected.get(scoIdValue)!;
    expect(entry, `indicator ${String(indicator['pattern'])} points to an expected SCO`).toBeDefined();
    // The pattern matches the observable: every comparison's literal is one of the SCO's values.
    const sco = scos.find((candidate) => candidate['id'] === scoIdValue)!;
    const literals = parsePattern(String(indicator['pattern'])).map((comparison) => comparison.value);
    const scoValues = sco['type'] === 'file' ? Object.values(sco['hashes'] as Obj) : [sco['value']];
    expect(new Set(literals)).toEqual(new Set(scoValues));
    for (const value of entry.values) expect(scoValues).toContain(value);
    expect(indicator['valid_from']).toBe(RUN.finishedAt.toISOString());
    const reference = (indicator['external_references'] as Obj[])[0]!;
    expect(String(reference['url'])).toMatch(
      /^https:\/\/www\.virustotal\.com\/gui\/(file|url|domain|ip-address)\/[^/]+$/,
    );
    const sightings = ofType(bundle, 'sighting').filter((s) => s['sighting_of_ref'] === indicator['id']);
    expect(sightings).toHaveLength(1);
    expect(sightings[0]).toMatchObject({
      count: entry.rows,
      first_seen: RUN.startedAt.toISOString(),
      last_seen: RUN.finishedAt.toISOString(),
    });
  }
}

// Screening rejects URLs with markup, quotes or backslashes; single quotes and a javascript: query pass it.
const HOSTILE_URL = "http://xss.example.com/a?q='x'+OR+1=1&next=javascript:alert(1)";

describe('stixBundle from a v3 run', () => {
  let run: EnrichRun;
  it('is valid STIX 2.1 with an SCO, indicator, based-on relationship and sighting per detection', async () => {
    run = await enrichAgainstEmulator(
      [...siemRecords(SIEM_ROWS), ...typedRecords([[HOSTILE_URL, 'url']], 100)],
      {},
      {
        maliciousRate: 1,
        notFoundRate: 0,
      },
    );
    expect(run.summary.topFindings.length).toBeGreaterThan(4);
    const bundle = bundleOf(run.rows);
    checkAgainstRows(bundle, run.rows);
    // The md5 and the sha256 of one file in the input are one file object, their rows counted together.
    const files = ofType(bundle, 'file').filter(
      (file) => (file['hashes'] as Obj)['MD5'] === 'e85bcfce6f59e0c96ea44b4c59d00ea1',
    );
    expect(files).toHaveLength(1);
    expect(files[0]?.['hashes']).toEqual({
      MD5: 'e85bcfce6f59e0c96ea44b4c59d00ea1',
      'SHA-1': '77827bb6644bde1dbb526f321857b03be85b7d6e',
      'SHA-256': '339c2570f5872b6c6755c6c3867413f64be48b09d3393f882d0f6eaa6a2e6306',
    });
    // A URL with quotes survives the pattern's escaping exactly.
    const hostile = ofType(bundle, 'indicator').find((indicator) => indicator['name'] === HOSTILE_URL);
    expect(hostile, 'the hostile URL is a detection').toBeDefined();
    expect(parsePattern(String(hostile?.['pattern']))).toEqual([
      { objectType: 'url', path: ['value'], operator: '=', value: HOSTILE_URL },
    ]);
  });

  it('is written as text (what the CLI writes) with the same objects, one per line, and counts them', () => {
    const builder = new DigestBuilder();
    for (const row of run.rows) builder.addRow(row);
    const digest = builder.finish();
    const pieces = stixBundleJson(digest, { run: RUN, tlp: 'amber' });
    let text = '';
    let next = pieces.next();
    for (; next.done !== true; next = pieces.next()) text += next.value;
    const bundle = JSON.parse(text) as StixBundle;
    expect(validateBundle(bundle)).toEqual([]);
    checkAgainstRows(bundle, run.rows);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(bundle.objects.length + 2);
    for (const [index, object] of bundle.objects.entries()) {
      expect(JSON.parse(lines[index + 1]!.replace(/,$/, ''))).toEqual(object);
    }
    expect(next.value).toEqual({ objects: bundle.objects.length, indicators: ofType(bundle, 'indicator').length });
    // The objects API gives the same objects, but for the random (v4) ids.
    const randomIds = (json: string): string =>
      json.replace(/(bundle|indicator|relationship|sighting)--[0-9a-f-]{36}/g, '$1--(random)');
    expect(randomIds(JSON.stringify(stixBundle(digest, { run: RUN, tlp: 'amber' }).objects))).toBe(
      randomIds(JSON.stringify(bundle.objects)),
    );
  });

  it('exports only observables with at least --min-positives engines', () => {
    const bundle = bundleOf(run.rows, { minPositives: 9 });
    checkAgainstRows(bundle, run.rows, 9);
    const fewer = ofType(bundle, 'indicator').length;
    expect(fewer).toBeGreaterThan(0);
    expect(fewer).toBeLessThan(ofType(bundleOf(run.rows), 'indicator').length);
  });

  it('sets validity, confidence and producer', () => {
    const bundle = bundleOf(run.rows, { validForMs: 7 * 86_400_000 });
    const identity = ofType(bundle, 'identity');
    expect(identity).toHaveLength(1);
    expect(identity[0]).toMatchObject({ name: 'ioc-enrich', identity_class: 'system' });
    for (const indicator of ofType(bundle, 'indicator')) {
      expect(Date.parse(String(indicator['valid_until'])) - Date.parse(String(indicator['valid_from']))).toBe(
        7 * 86_400_000,
      );
      expect([15, 50, 85]).toContain(indicator['confidence']);
      expect(indicator['created_by_ref']).toBe(identity[0]?.['id']);
      expect(indicator['indicator_types']).toEqual(['malicious-activity']);
    }
  });

  const PUBLISHED_TLP_IDS: Record<string, string> = {
    clear: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
    green: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
    amber: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
    'amber+strict': 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
    red: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
  };

  it.each(TLP_LEVELS.map((level) => [level]))(
    '--tlp %s adds the published TLP 2.0 marking to every object',
    (level) => {
      const bundle = bundleOf(run.rows, { tlp: level });
      expect(validateBundle(bundle)).toEqual([]);
      const markings = ofType(bundle, 'marking-definition');
      expect(markings).toEqual([
        {
          type: 'marking-definition',
          spec_version: '2.1',
          id: PUBLISHED_TLP_IDS[level],
          created: '2022-10-01T00:00:00.000Z',
          name: `TLP:${level.toUpperCase()}`,
          extensions: {
            'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d': {
              extension_type: 'property-extension',
              tlp_2_0: level,
            },
          },
        },
      ]);
      for (const object of bundle.objects.filter((o) => o['type'] !== 'marking-definition')) {
        expect(object['object_marking_refs']).toEqual([PUBLISHED_TLP_IDS[level]]);
      }
    },
  );
});

describe('stixBundle from other runs', () => {
  it('is valid for a v2 run', async () => {
    const run = await enrichAgainstEmulator(siemRecords(SIEM_ROWS), { api: 'v2', tier: 'public' });
    expect(run.rows.some((row) => typeof row.Positives === 'number' && row.Positives > 0)).toBe(true);
    checkAgainstRows(bundleOf(run.rows), run.rows);
  });

  it('leaves failed and not-submitted observables out', async () => {
    const values = Array.from({ length: 24 }, (_, index) => [`host-${index}.example.org`, 'dns'] as const);
    const run = await enrichAgainstEmulator(
      typedRecords(values),
      { maxRetries: 0, concurrency: 1 },
      { maliciousRate: 1, notFoundRate: 0, perDay: 16, faults: { transient: 0.3 }, seed: 3 },
    );
    const statuses = new Set(run.rows.map((row) => String(row.Status).split(':')[0]));
    expect(statuses).toEqual(new Set(['Success', 'Failed', 'NotSubmitted']));
    const bundle = bundleOf(run.rows);
    checkAgainstRows(bundle, run.rows);
    const exported = new Set(ofType(bundle, 'indicator').map((indicator) => indicator['name']));
    const successes = run.rows.filter((row) => row.Status === 'Success').map((row) => row.Observable);
    expect(exported).toEqual(new Set(successes));
  });

  it('is an empty but valid bundle when nothing was detected', async () => {
    const run = await enrichAgainstEmulator(
      typedRecords([
        ['https://www.example.org/', 'url'],
        ['45.33.32.156', 'ipv4'],
        ['unknown.example.com', 'dns'],
        ['10.1.2.3', 'ipv4'],
      ]),
    );
    const bundle = bundleOf(run.rows, { tlp: 'green' });
    expect(validateBundle(bundle)).toEqual([]);
    expect(bundle.objects.map((object) => object['type'])).toEqual(['marking-definition', 'identity']);
  });
});

describe('patterns', () => {
  it('escape quotes and backslashes (from a results file written by another tool)', () => {
    const value = "http://odd.example.com/a\\b'c";
    const builder = new DigestBuilder();
    builder.addRow({ ...ROW, Observable: value });
    const bundle = JSON.parse(JSON.stringify(stixBundle(builder.finish(), { run: RUN }))) as StixBundle;
    const [indicator] = ofType(bundle, 'indicator');
    expect(indicator?.['pattern']).toBe("[url:value = 'http://odd.example.com/a\\\\b\\'c']");
    expect(parsePattern(String(indicator?.['pattern']))[0]?.value).toBe(value);
  });

  it.each([
    "[ipv4-addr:value = '1.2.3.4'",
    "[url:value = 'it's']",
    "[file:hashes.SHA-256 = 'ab']",
    "[domain-name:value = 'a' AND]",
  ])('rejects the malformed pattern %s', (pattern) => {
    expect(() => parsePattern(pattern)).toThrow();
  });
});

describe('the bundle validator', () => {
  const builder = new DigestBuilder();
  builder.addRow(ROW);
  builder.addRow({
    ...ROW,
    Observable: 'e85bcfce6f59e0c96ea44b4c59d00ea1',
    IoCType: 'md5_hash',
    MD5: 'e85bcfce6f59e0c96ea44b4c59d00ea1',
  });
  const valid = (): StixBundle =>
    JSON.parse(JSON.stringify(stixBundle(builder.finish(), { run: RUN, tlp: 'red' }))) as StixBundle;
  const first = (bundle: StixBundle, type: string): Obj => ofType(bundle, type)[0]!;

  it('accepts the unmodified bundle', () => {
    expect(validateBundle(valid())).toEqual([]);
  });

  it.each<[string, (bundle: StixBundle) => void, string]>([
    [
      'an indicator without pattern',
      (b) => delete first(b, 'indicator')['pattern'],
      'missing required property pattern',
    ],
    ['a bad id', (b) => (first(b, 'url')['id'] = 'url--1234'), 'not an identifier'],
    [
      'an id of another type',
      (b) => (first(b, 'url')['id'] = String(first(b, 'indicator')['id'])),
      'must reference url',
    ],
    [
      'a dangling reference',
      (b) => (first(b, 'sighting')['sighting_of_ref'] = `indicator--${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`),
      'not in the bundle',
    ],
    [
      'valid_until before valid_from',
      (b) => (first(b, 'indicator')['valid_until'] = '2000-01-01T00:00:00Z'),
      'later than valid_from',
    ],
    ['an unknown hash algorithm', (b) => ((first(b, 'file')['hashes'] as Obj)['SHA256'] = 'ab'), 'hash-algorithm-ov'],
    ['a timestamp without Z', (b) => (first(b, 'indicator')['created'] = '2026-11-30T08:10:00.000'), 'RFC 3339'],
    ['a count over the limit', (b) => (first(b, 'sighting')['count'] = 1e9), 'count must be'],
    ['an empty list', (b) => (first(b, 'indicator')['labels'] = []), 'empty list'],
    [
      'an unquoted hyphenated hash key',
      (b) => (first(b, 'indicator')['pattern'] = "[file:hashes.SHA-256 = 'ab']"),
      'pattern:',
    ],
    [
      'a marking without its extension type',
      (b) => ((Object.values(first(b, 'marking-definition')['extensions'] as Obj)[0] as Obj)['extension_type'] = 'x'),
      'extension_type',
    ],
  ])('rejects %s', (_name, mutate, problem) => {
    const bundle = valid();
    mutate(bundle);
    expect(validateBundle(bundle).join('\n')).toContain(problem);
  });
});
