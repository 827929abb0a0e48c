/**
 * No reply can abort a run (issue 13, section 0): a hostile or broken server, through the built CLI with the
 * cache and --raw on, gives one row per observable, never an exception; the cache keeps only what normalises,
 * and a later run on that cache works with the server gone. The key a server echoes reaches no output.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnCli } from '../support/spawn-cli.js';
import { cannedServer, KEY, v3Object, type Canned } from './support.js';

type Row = Record<string, string>;

let work: string;
const servers: Array<{ close(): Promise<void> }> = [];

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'ioc-enrich-hostile-'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: Canned): Promise<{ url: string; paths: string[]; close(): Promise<void> }> {
  const server = await cannedServer(handler);
  servers.push(server);
  return server;
}

function rowsOf(csv: string): Row[] {
  return parse<Row>(csv, { columns: true, skip_empty_lines: true });
}

function byObservable(rows: Row[]): Map<string, Row> {
  return new Map(rows.map((row) => [row['Observable'] ?? '', row]));
}

/** The domain a v3 request asked for. */
function domainOf(request: IncomingMessage): string {
  return decodeURIComponent((request.url ?? '').split('?')[0]?.split('/')[4] ?? '');
}

function deeplyNested(id: string, depth: number): string {
  return `{"data":{"type":"domain","id":"${id}","attributes":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}}`;
}

const BIG = 3 * 1024 * 1024;

/** One hostile reply per domain. */
const v3Hostile: Canned = (request) => {
  if (request.url?.includes('/overall_quotas') === true)
    return { status: 404, body: { error: { code: 'NotFoundError' } } };
  const domain = domainOf(request);
  switch (domain) {
    case 'date-huge.example.com':
      return { status: 200, body: v3Object('domain', domain, { last_analysis_date: 1e300 }) };
    case 'date-negative.example.com':
      return { status: 200, body: v3Object('domain', domain, { last_analysis_date: -1e20 }) };
    case 'numbers.example.com':
      // 1e400 parses as Infinity; a reputation that is text; tags that are not a list.
      return {
        status: 200,
        text: `{"data":{"type":"domain","id":"${domain}","attributes":{"last_analysis_stats":{"harmless":1e400,"malicious":-3,"suspicious":0.5,"undetected":2},"reputation":"high","tags":"not-a-list","last_analysis_date":"yesterday"}}}`,
      };
    case 'no-object.example.com':
      return { status: 200, body: { data: 'not an object' } };
    case 'deep.example.com':
      return { status: 200, text: deeplyNested(domain, 5000) };
    case 'huge.example.com':
      return { status: 200, text: `{"data":{"id":"${'a'.repeat(BIG)}"}}` };
    case 'huge-chunked.example.com':
      return { status: 200, chunked: true, text: `{"data":{"id":"${'a'.repeat(BIG)}"}}` };
    case 'echo.example.com':
      return {
        status: 200,
        body: v3Object('domain', domain, { tags: [`seen-with-${KEY}`], whois: `apikey=${KEY}` }),
      };
    default:
      return { status: 200, body: v3Object('domain', domain) };
  }
};

const HOSTILE_DOMAINS = [
  'date-huge.example.com',
  'date-negative.example.com',
  'numbers.example.com',
  'no-object.example.com',
  'deep.example.com',
  'huge.example.com',
  'huge-chunked.example.com',
  'echo.example.com',
  'fine.example.com',
];

/** Everything runs left behind, as one text: stdout, stderr, every file in the work folder but the inputs. */
function everything(...texts: string[]): string {
  const files = readdirSync(work, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !/\.(txt|log)$/.test(entry.name))
    .map((entry) => readFileSync(join(entry.parentPath, entry.name)).toString('latin1'));
  return [...texts, ...files].join('\n');
}

describe('no reply aborts a run (v3, cache and --raw on)', () => {
  it('each hostile reply is a row of its own; the cache serves the good ones with the server gone', async () => {
    const server = await serve(v3Hostile);
    const input = join(work, 'report.txt');
    writeFileSync(input, `${HOSTILE_DOMAINS.join('\n')}\n`);
    const common = ['--tier', 'premium', '--cache', join(work, 'cache.db'), '--raw', '--max-reply-size', '1MiB'];
    const first = await spawnCli(['enrich', '--vt-url', server.url, ...common, input, '-o', 'first.csv'], {
      cwd: work,
      env: { VT_API_KEY: KEY },
    });
    expect(first.stderr).not.toMatch(/unexpected failure|Invalid time value|Maximum call stack/);
    expect(first.code).toBe(0);
    const rows = byObservable(rowsOf(readFileSync(join(work, 'first.csv'), 'utf8')));
    expect(rows.size).toBe(HOSTILE_DOMAINS.length);

    for (const domain of ['date-huge.example.com', 'date-negative.example.com']) {
      expect(rows.get(domain)).toMatchObject({
        Status: 'Success',
        LastAnalysisDate: '',
        ScanId: domain,
        Positives: '2',
      });
    }
    // Every field that is not what it should be is an empty cell; the valid ones stay.
    expect(rows.get('numbers.example.com')).toMatchObject({
      Status: 'Success',
      Positives: '',
      Suspicious: '',
      Total: '',
      Reputation: '',
      Tags: '',
      LastAnalysisDate: '',
    });
    expect(rows.get('deep.example.com')).toMatchObject({ Status: 'Failed: malformed reply', RawResponse: '' });
    expect(rows.get('no-object.example.com')?.['Status']).toBe('Failed: malformed reply');
    expect(rows.get('huge.example.com')?.['Status']).toBe('Failed: reply too large');
    expect(rows.get('huge-chunked.example.com')?.['Status']).toBe('Failed: reply too large');
    // A deep or oversized reply is not asked again (it would be the same): one request each.
    const object = (path: string): string => path.split('?')[0] ?? '';
    expect(server.paths.filter((path) => object(path).endsWith('/deep.example.com'))).toHaveLength(1);
    expect(server.paths.filter((path) => object(path).endsWith('/huge.example.com'))).toHaveLength(1);
    const echo = rows.get('echo.example.com');
    expect(echo?.['Tags']).toBe('seen-with-[redacted]');
    expect(echo?.['RawResponse']).toContain('apikey=[redacted]');

    // The server is gone: what was cached answers, what failed is not in the cache.
    await server.close();
    const second = await spawnCli(
      ['enrich', '--vt-url', server.url, ...common, '--retries', '0', input, '-o', 'second.csv'],
      { cwd: work, env: { VT_API_KEY: KEY } },
    );
    expect(second.stderr).not.toMatch(/unexpected failure/);
    expect(second.code).toBe(0);
    const again = byObservable(rowsOf(readFileSync(join(work, 'second.csv'), 'utf8')));
    for (const domain of [
      'date-huge.example.com',
      'date-negative.example.com',
      'numbers.example.com',
      'echo.example.com',
    ]) {
      expect(again.get(domain)).toMatchObject({ CacheHit: 'true', Status: rows.get(domain)?.['Status'] });
    }
    // Fresh and cached rows read the same, the redacted tag included.
    expect(again.get('echo.example.com')?.['Tags']).toBe(echo?.['Tags']);
    // What did not normalise was never cached: it is asked again (and the server is gone).
    for (const domain of ['deep.example.com', 'huge.example.com', 'no-object.example.com'])
      expect(again.get(domain)?.['Status']).toMatch(/^Failed: network error/);

    expect(everything(first.stdout, first.stderr, second.stdout, second.stderr)).not.toContain(KEY);
  });
});

describe('the key, wherever it comes from, reaches no output', () => {
  it('v2: echoed in verbose_msg, detected URLs and resolutions, it is redacted in every cell', async () => {
    const server = await serve((request) => {
      const url = new URL(request.url ?? '/', 'http://x');
      const domain = url.searchParams.get('domain') ?? '';
      return {
        status: 200,
        body: {
          response_code: 1,
          verbose_msg: `Domain found for key ${KEY}`,
          detected_urls: [{ url: `http://${domain}/?k=${KEY}`, positives: 3 }],
          resolutions: [{ ip_address: '203.0.113.9', last_resolved: '2026-01-01 00:00:00' }],
          subdomains: [KEY],
        },
      };
    });
    const input = join(work, 'domains.txt');
    writeFileSync(input, 'v2-echo.example.com\n');
    const result = await spawnCli(
      ['enrich', '--api', 'v2', '--vt-url', server.url, '--tier', 'premium', '--raw', input],
      {
        cwd: work,
        env: { VT_API_KEY: KEY },
      },
    );
    expect(result.code).toBe(0);
    const [row] = rowsOf(result.stdout);
    expect(row).toMatchObject({
      Status: 'Success',
      VerboseMsg: 'Domain found for key [redacted]',
      DetectedUrls: 'http://v2-echo.example.com/?k=[redacted]',
      Positives: '3',
    });
    expect(everything(result.stdout, result.stderr)).not.toContain(KEY);
  });

  it('an input line holding the key gives an observable with the key cut out, looked up and written so', async () => {
    const server = await serve((request) => ({ status: 200, body: v3Object('url', domainOf(request)) }));
    const input = join(work, 'proxy.log');
    // A proxy log of the user's own calls: VirusTotal's (the link stands for its hash, the key is in its
    // SourceText) and another service's with the same key in its query (a url observable).
    writeFileSync(
      input,
      `GET https://www.virustotal.com/vtapi/v2/file/report?apikey=${KEY}&resource=44d88612fea8a8f36de82e1278abb02f 200\n` +
        `GET https://intel.example-corp.com/v1/lookup?apikey=${KEY}&q=1 200\n`,
    );
    const cache = join(work, 'cache.db');
    const extract = await spawnCli(['extract', input], { cwd: work, env: { VT_API_KEY: KEY } });
    expect(extract.code).toBe(0);
    expect(extract.stdout).toContain('apikey=[redacted]&resource=');
    const enrich = await spawnCli(['enrich', '--vt-url', server.url, '--tier', 'premium', '--cache', cache, input], {
      cwd: work,
      env: { VT_API_KEY: KEY },
    });
    expect(enrich.code).toBe(0);
    const rows = rowsOf(enrich.stdout);
    const hash = rows.find((row) => row['IoCType'] === 'md5_hash');
    expect(hash?.['Observable']).toBe('44d88612fea8a8f36de82e1278abb02f');
    expect(hash?.['SourceText']).toBe(
      'https://www.virustotal.com/vtapi/v2/file/report?apikey=[redacted]&resource=44d88612fea8a8f36de82e1278abb02f',
    );
    const url = rows.find((row) => row['IoCType'] === 'url');
    expect(url?.['Observable']).toBe('https://intel.example-corp.com/v1/lookup?apikey=[redacted]&q=1');
    // What was sent for the URL (its base64 id in the path) does not hold the key either.
    const sent = server.paths.map((path) => Buffer.from(path.split('/').pop() ?? '', 'base64url').toString('latin1'));
    expect(sent.join('\n')).not.toContain(KEY);
    expect(everything(extract.stdout, extract.stderr, enrich.stdout, enrich.stderr)).not.toContain(KEY);
  });
});
