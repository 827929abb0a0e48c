/**
 * Issue 13 §3 and §4 through the built CLI, against the emulator on 127.0.0.1 (real clock, an analysis that
 * takes 1.5 s, polls every second): the context columns, unknown URLs submitted (v3 and v2), Queued never
 * cached, the dry run's worst case, a public key's refused relationship, and the options' usage errors.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { ENRICH_COLUMNS } from '../../src/types.js';
import { spawnCli } from '../support/spawn-cli.js';

type Row = Record<string, string>;

const KEY = 'cli-context-key-0123456789abcdef';
const MALICIOUS_FILE = '339c2570f5872b6c6755c6c3867413f64be48b09d3393f882d0f6eaa6a2e6306';
const UNKNOWN_URL = 'https://unknown.example.org/never-seen';
const INPUT = `source,indicator\nedr,${MALICIOUS_FILE}\nproxy,malware.example.com\nfirewall,45.33.100.66\nmail,${UNKNOWN_URL}\n`;

let work: string;
const emulators: Emulator[] = [];

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'ioc-enrich-context-'));
  writeFileSync(join(work, 'export.csv'), INPUT);
});
afterEach(async () => {
  await Promise.all(emulators.splice(0).map((emulator) => emulator.close()));
});

async function emulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const started = await startEmulator({ tier: 'premium', unlimited: true, analysisDelayMs: 1_500, ...options });
  emulators.push(started);
  return started;
}

async function enrich(server: Emulator, args: readonly string[], output = 'out.csv') {
  const result = await spawnCli(
    ['enrich', '--vt-url', server.url, '--tier', 'premium', ...args, 'export.csv', '-o', output],
    { cwd: work, env: { VT_API_KEY: KEY } },
  );
  const rows: Row[] = result.code === 0 ? parse<Row>(readFileSync(join(work, output), 'utf8'), { columns: true }) : [];
  return { ...result, rows: new Map(rows.map((row) => [row['Observable'] ?? '', row])) };
}

function row(rows: Map<string, Row>, observable: string): Row {
  const found = rows.get(observable);
  if (found === undefined) throw new Error(`no row for ${observable}`);
  return found;
}

const SUBMIT = ['--submit-unknown-urls', '--analysis-poll', '1', '--analysis-timeout', '20'];

describe('enrich --context --resolutions --submit-unknown-urls (v3)', () => {
  it('fills the context columns, submits the unknown URL, and a second run answers all from the cache', async () => {
    const server = await emulator();
    const cache = ['--cache', join(work, 'vt.db')];
    const first = await enrich(server, ['--context', '--resolutions', ...SUBMIT, ...cache]);
    expect(first.code).toBe(0);
    // The new columns come after every existing one, in ENRICH_COLUMNS' order.
    const header = readFileSync(join(work, 'out.csv'), 'utf8').split(/\r?\n/)[0];
    expect(header).toBe(ENRICH_COLUMNS.join(','));
    expect(
      header?.endsWith('SourceText,ContactedDomains,ContactedIPs,ContactedUrls,CommunicatingFiles,Submitted,Note'),
    ).toBe(true);
    const file = row(first.rows, MALICIOUS_FILE);
    expect(file['ContactedDomains']).not.toBe('');
    expect(file['ContactedIPs']).not.toBe('');
    expect(file['ContactedUrls']).toMatch(/^http:\/\//);
    expect(row(first.rows, 'malware.example.com')['CommunicatingFiles']).toMatch(/^[0-9a-f]{64}/);
    expect(row(first.rows, 'malware.example.com')['DetectedUrls']).toContain('http://malware.example.com/payload.exe');
    expect(row(first.rows, '45.33.100.66')['ResolvedDomains']).toContain('malware.example.com');
    expect(row(first.rows, UNKNOWN_URL)).toMatchObject({
      Status: 'Success',
      Submitted: 'true',
      VerboseMsg: 'Submitted for analysis in this run: analysis completed',
      CacheHit: 'false',
    });
    expect(row(first.rows, UNKNOWN_URL)['Total']).toMatch(/^\d+$/);
    expect(first.stderr).toMatch(/URLs submitted\s+1/);
    expect(first.stderr).toMatch(/context requests\s+3/);
    const submitted = server.stats().byEndpoint['v3/submit'];
    expect(submitted).toBe(1);

    const second = await enrich(server, ['--context', ...SUBMIT, ...cache], 'again.csv');
    expect(second.code).toBe(0);
    for (const again of second.rows.values()) expect(again['CacheHit']).toBe('true');
    // From the cache: the context is there, and the URL was not submitted by this run.
    expect(row(second.rows, MALICIOUS_FILE)['ContactedDomains']).toBe(file['ContactedDomains']);
    expect(row(second.rows, UNKNOWN_URL)).toMatchObject({ Status: 'Success', Submitted: 'false' });
    expect(server.stats().byEndpoint['v3/submit']).toBe(submitted);
  });

  it('an analysis that outlasts --analysis-timeout is Queued, not cached: the next run asks again', async () => {
    const server = await emulator({ analysisDelayMs: 60_000 });
    const args = ['--submit-unknown-urls', '--analysis-poll', '1', '--analysis-timeout', '1', '--cache', 'vt.db'];
    const first = await enrich(server, args);
    expect(first.code).toBe(0);
    expect(row(first.rows, UNKNOWN_URL)).toMatchObject({ Status: 'Queued', ResponseCode: '-2', Submitted: 'true' });
    expect(first.stderr).toMatch(/still queued\s+1/);
    const lookups = server.stats().byEndpoint['v3/urls'] ?? 0;
    const second = await enrich(server, args, 'again.csv');
    expect(row(second.rows, UNKNOWN_URL)).toMatchObject({ Status: 'Queued', CacheHit: 'false' });
    expect(server.stats().byEndpoint['v3/urls']).toBe(lookups + 1);
  });

  it('a URL the cache holds as not found is asked again and submitted once the flag is given', async () => {
    const server = await emulator();
    const cache = ['--cache', join(work, 'vt.db')];
    const without = await enrich(server, cache);
    expect(row(without.rows, UNKNOWN_URL)).toMatchObject({ Status: 'NotFound', Submitted: 'false' });
    const withFlag = await enrich(server, [...SUBMIT, ...cache], 'again.csv');
    expect(row(withFlag.rows, UNKNOWN_URL)).toMatchObject({ Status: 'Success', Submitted: 'true', CacheHit: 'false' });
    // Everything else came from the cache.
    expect(row(withFlag.rows, MALICIOUS_FILE)['CacheHit']).toBe('true');
  });

  it('without the flags: nothing submitted, no context, the URL NotFound', async () => {
    const server = await emulator();
    const plain = await enrich(server, []);
    expect(plain.code).toBe(0);
    expect(row(plain.rows, UNKNOWN_URL)).toMatchObject({ Status: 'NotFound', Submitted: 'false' });
    expect(row(plain.rows, MALICIOUS_FILE)['ContactedDomains']).toBe('');
    expect(server.stats().byEndpoint['v3/submit']).toBeUndefined();
  });

  it('a public key: the Enterprise-only relationship is refused, its cells empty and noted, no row fails', async () => {
    const server = await emulator({ tier: 'public', unlimited: true });
    const result = await enrich(server, ['--rate', '1000', '--context']);
    expect(result.code).toBe(0);
    for (const value of result.rows.values()) expect(value['Status']).not.toMatch(/^Failed/);
    expect(result.stderr).toContain('context the key may not read (empty cells): urls of');
    expect(row(result.rows, 'malware.example.com')['DetectedUrls']).toBe('');
    expect(row(result.rows, 'malware.example.com')['CommunicatingFiles']).not.toBe('');
  });
});

describe('enrich --submit-unknown-urls (v2)', () => {
  it('submits with scan=1 and polls the report until it has a verdict', async () => {
    const server = await emulator();
    const result = await enrich(server, ['--api', 'v2', ...SUBMIT]);
    expect(result.code).toBe(0);
    expect(row(result.rows, UNKNOWN_URL)).toMatchObject({ Status: 'Success', ResponseCode: '1', Submitted: 'true' });
    expect(row(result.rows, UNKNOWN_URL)['Positives']).toMatch(/^\d+$/);
    expect(server.stats().byEndpoint['v3/submit']).toBeUndefined();
  });
});

describe('the dry run and the options', () => {
  it('counts the worst case: a page of resolutions per IP and domain, context per non-URL, submission and polls per URL', async () => {
    const result = await spawnCli(
      [
        'enrich',
        '--dry-run',
        '--resolutions',
        '--context',
        '--submit-unknown-urls',
        '--analysis-timeout',
        '60',
        '--analysis-poll',
        '20',
        'export.csv',
      ],
      { cwd: work, env: {} },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/lookups needed\s+4\n/);
    expect(result.stdout).toMatch(/resolutions pages, at most \(--resolutions\)\s+2\n/);
    expect(result.stdout).toMatch(/context requests, at most \(--context\)\s+3\n/);
    expect(result.stdout).toMatch(/URL submissions, at most \(--submit-unknown-urls\)\s+1\n/);
    expect(result.stdout).toMatch(/analysis polls, at most \(--analysis-timeout\)\s+3\n/);
    expect(result.stdout).toMatch(/quota items\s+13\n/);
  });

  it.each([
    [['--api', 'v2', '--context'], '--context'],
    [['--analysis-timeout', '60'], '--analysis-timeout'],
    [['--context-min-positives', '3'], '--context-min-positives'],
    [['--submit-unknown-urls', '--analysis-poll', '0'], '--analysis-poll'],
  ])('refuses %j with a usage error naming %s', async (args, option) => {
    const result = await spawnCli(['enrich', '--dry-run', ...args, 'export.csv'], { cwd: work, env: {} });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(option.replace(/^--/, ''));
  });
});
