/**
 * The emulator's replies have VirusTotal's shapes. Always: every key of the documented replies in
 * test/fixtures/vt-shapes (written from VirusTotal's API documentation) is in the emulator's reply for the same
 * kind of object, with the same JSON type. And when ../shared/vt-samples exists, each recorded real reply is
 * compared both ways: the same keys, recursively, and the same JSON value types.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { urlIdBase64 } from '../../src/vt/ids.js';
import { at, fixture, get } from './helpers.js';

const SAMPLES = fileURLToPath(new URL('../../../shared/vt-samples/', import.meta.url));
const DOCUMENTED = fileURLToPath(new URL('../fixtures/vt-shapes/', import.meta.url));
const present = existsSync(SAMPLES);

const file = fixture('files/malicious.json').attributes as { md5: string; sha1: string; sha256: string };
const url = fixture('urls/malicious.json').attributes['url'] as string;

/** Objects keyed by engine or vendor name: only their values' shape is compared, not the names. */
const MAPS = new Set([
  'last_analysis_results',
  'scans',
  'results',
  'categories',
  'popularity_ranks',
  'sandbox_verdicts',
]);

/**
 * Sample keys the emulator does not produce, each for a reason: file-format and sandbox details (PE, .NET,
 * exiftool, Sigma) that no client of this project reads; members VirusTotal adds only on request
 * (`relationships`) or in relationship listings (`context_attributes`); v2 vendor keys with spaces, which vary
 * by vendor and by object.
 */
const NOT_PRODUCED = new Set([
  'exiftool',
  'pe_info',
  'dot_net_assembly',
  'dot_net_guids',
  'signature_info',
  'packers',
  'sigma_analysis_summary',
  'sigma_analysis_stats',
  'sandbox_verdicts',
  'popular_threat_classification',
  'authentihash',
  'favicon',
  'relationships',
  'context_attributes',
]);

/** Keys the emulator adds that a given sample lacks, documented in ../shared/docs/virustotal-api.md. */
const DOCUMENTED_EXTRAS = new Set([
  'links',
  'title',
  'last_http_response_code',
  'last_analysis_date',
  'host_name_last_analysis_stats',
  'ip_address_last_analysis_stats',
  'count',
]);

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** The differences between the sample's shape and the reply's, as readable paths; `union` holds sibling samples' keys. */
function shapeProblems(sample: unknown, reply: unknown, path: string, union: ReadonlySet<string>): string[] {
  // VirusTotal writes null for an absent value of any type (filescan_id, result).
  if (sample === null || reply === null) return [];
  if (typeOf(sample) !== typeOf(reply))
    return [`${path}: ${typeOf(sample)} in the sample, ${typeOf(reply)} in the reply`];
  if (Array.isArray(sample) && Array.isArray(reply)) {
    return sample.length > 0 && reply.length > 0 ? shapeProblems(sample[0], reply[0], `${path}[0]`, union) : [];
  }
  if (typeof sample !== 'object' || typeof reply !== 'object') return [];
  const expected = sample as Record<string, unknown>;
  const actual = reply as Record<string, unknown>;
  const name = path.split('.').at(-1) ?? '';
  if (MAPS.has(name)) {
    const [first] = Object.values(expected);
    const [other] = Object.values(actual);
    return first !== undefined && other !== undefined ? shapeProblems(first, other, `${path}.<name>`, union) : [];
  }
  const problems: string[] = [];
  for (const key of Object.keys(expected)) {
    if (NOT_PRODUCED.has(key) || key.includes(' ')) continue;
    if (!(key in actual)) problems.push(`${path}.${key}: missing from the reply`);
    else problems.push(...shapeProblems(expected[key], actual[key], `${path}.${key}`, union));
  }
  for (const key of Object.keys(actual)) {
    if (!(key in expected) && !key.includes(' ') && !DOCUMENTED_EXTRAS.has(key) && !union.has(`${path}.${key}`)) {
      problems.push(`${path}.${key}: in the reply, not in the sample`);
    }
  }
  return problems;
}

/** Every `path.key` of a value, for the union of a kind's samples. */
function keyPaths(value: unknown, path: string, into: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) keyPaths(item, `${path}[0]`, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      into.add(`${path}.${key}`);
      keyPaths(child, `${path}.${key}`, into);
    }
  }
  return into;
}

let emulator: Emulator;

/** What the emulator answers for each kind of sample. */
const PRODUCERS: Record<string, { kind: string; reply: () => Promise<unknown> }> = {
  'v2/fileresponse.json': {
    kind: 'v2 file',
    reply: async () => (await get(emulator.url, `/vtapi/v2/file/report?apikey=k&resource=${file.md5}`)).json,
  },
  'v2/file-multi_pos.json': {
    kind: 'v2 file',
    reply: async () =>
      (await get(emulator.url, `/vtapi/v2/file/report?apikey=k&resource=${file.md5},${file.sha1},${file.sha256}`)).json,
  },
  'v2/url_pos.json': {
    kind: 'v2 url',
    reply: async () =>
      (await get(emulator.url, `/vtapi/v2/url/report?apikey=k&resource=${encodeURIComponent(url)}`)).json,
  },
  'v2/url_neg.json': {
    kind: 'v2 url',
    reply: async () =>
      (
        await get(
          emulator.url,
          `/vtapi/v2/url/report?apikey=k&resource=${encodeURIComponent('https://www.example.org/')}`,
        )
      ).json,
  },
  'v2/domain_pos.json': {
    kind: 'v2 domain',
    reply: async () => (await get(emulator.url, '/vtapi/v2/domain/report?apikey=k&domain=malware.example.com')).json,
  },
  'v2/domain_neg.json': {
    kind: 'v2 domain',
    reply: async () => (await get(emulator.url, '/vtapi/v2/domain/report?apikey=k&domain=www.example.org')).json,
  },
  'v2/ip-address_neg.json': {
    kind: 'v2 ip',
    reply: async () => (await get(emulator.url, '/vtapi/v2/ip-address/report?apikey=k&ip=45.33.32.156')).json,
  },
  'v3/vt3_file_1.json': {
    kind: 'v3 file data',
    reply: async () => at((await get(emulator.url, `/api/v3/files/${file.sha256}`, 'k')).json, 'data'),
  },
  'v3/vt3_url_0.json': {
    kind: 'v3 url data',
    reply: async () => at((await get(emulator.url, `/api/v3/urls/${urlIdBase64(url)}`, 'k')).json, 'data'),
  },
  'v3/v3_ip_address.json': {
    kind: 'v3 ip',
    reply: async () => (await get(emulator.url, '/api/v3/ip_addresses/45.33.100.66', 'k')).json,
  },
  'v3/v3_domain_with_relationships.json': {
    kind: 'v3 domain',
    reply: async () => (await get(emulator.url, '/api/v3/domains/malware.example.com', 'k')).json,
  },
  'v3/v3_ip_resolutions_page.json': {
    kind: 'v3 resolutions page',
    reply: async () => (await get(emulator.url, '/api/v3/ip_addresses/45.33.32.156/resolutions?limit=2', 'k')).json,
  },
  'v3/v3_resolution_object.json': {
    kind: 'v3 resolution',
    reply: async () => ({
      data: at((await get(emulator.url, '/api/v3/domains/www.example.org/resolutions', 'k')).json, 'data', 0),
    }),
  },
  'v3/v3_relationships_descriptors.json': {
    kind: 'v3 relationship descriptors',
    // The sample is a `relationships` member: each relationship's page has the shape of ours for resolutions.
    reply: async () => {
      const page = (await get(emulator.url, '/api/v3/domains/www.example.org/relationships/resolutions?limit=2', 'k'))
        .json;
      return { communicating_files: page, referrer_files: page };
    },
  },
  'v3/v3_error_auth_required.json': {
    kind: 'v3 error',
    reply: async () => (await get(emulator.url, '/api/v3/domains/malware.example.com')).json,
  },
  'v3/v3_error_not_found.json': {
    kind: 'v3 error',
    reply: async () => (await get(emulator.url, '/api/v3/domains/unknown.example.com', 'k')).json,
  },
};

/** Samples of endpoints the emulator does not serve (analyses, other relationships), with the reason. */
const NOT_SERVED: Record<string, string> = {
  'v3/v3_analysis_file_in_progress.json': 'analyses: the emulator does not take submissions',
  'v3/v3_analysis_url_completed.json': 'analyses: the emulator does not take submissions',
  'v3/vt3_related_links.json': 'relationships other than resolutions are not served',
  'v3/v3_relationship_item_not_found.json': 'relationships other than resolutions are not served',
};

const sampleFiles = present
  ? ['v2', 'v3']
      .flatMap((dir) =>
        readdirSync(`${SAMPLES}${dir}`)
          .filter((name) => name.endsWith('.json'))
          .map((name) => `${dir}/${name}`),
      )
      .sort()
  : [];

function readSample(name: string): unknown {
  return JSON.parse(readFileSync(`${SAMPLES}${name}`, 'utf8')) as unknown;
}

describe('the shape comparison', () => {
  it.each([
    ['a missing key', { a: 1, b: 'x' }, { a: 1 }, ['$.b: missing from the reply']],
    ['a type mismatch', { a: 1 }, { a: '1' }, ['$.a: number in the sample, string in the reply']],
    ['an invented key', { a: 1 }, { a: 1, z: 2 }, ['$.z: in the reply, not in the sample']],
    [
      'a nested array item',
      { a: [{ b: 1 }] },
      { a: [{ b: true }] },
      ['$.a[0].b: number in the sample, boolean in the reply'],
    ],
    [
      'engine maps by value shape',
      { scans: { X: { detected: true } } },
      { scans: { Y: { detected: 'no' } } },
      ['$.scans.<name>.detected: boolean in the sample, string in the reply'],
    ],
    ['null against any type', { a: null, b: 'x' }, { a: 'x', b: null }, []],
  ])('reports %s', (_name, sample, reply, problems) => {
    expect(shapeProblems(sample, reply, '$', new Set())).toEqual(problems);
  });
});

/** The documented replies and the producer (above) of the emulator's reply of that kind; `data`: its member only. */
const DOCUMENTED_PRODUCERS: Record<string, { producer: string; member?: 'data' }> = {
  'v3-file.json': { producer: 'v3/vt3_file_1.json', member: 'data' },
  'v3-url.json': { producer: 'v3/vt3_url_0.json', member: 'data' },
  'v3-domain.json': { producer: 'v3/v3_domain_with_relationships.json' },
  'v3-ip.json': { producer: 'v3/v3_ip_address.json' },
  'v3-resolutions-page.json': { producer: 'v3/v3_ip_resolutions_page.json' },
  'v3-error-not-found.json': { producer: 'v3/v3_error_not_found.json' },
  'v3-error-auth-required.json': { producer: 'v3/v3_error_auth_required.json' },
  'v2-file.json': { producer: 'v2/fileresponse.json' },
  'v2-url.json': { producer: 'v2/url_pos.json' },
  'v2-domain.json': { producer: 'v2/domain_pos.json' },
  'v2-ip.json': { producer: 'v2/ip-address_neg.json' },
};

describe('reply shapes against the documented ones (test/fixtures/vt-shapes)', () => {
  beforeAll(async () => {
    emulator = await startEmulator({ unlimited: true });
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('has a documented reply for each file in the folder', () => {
    const files = readdirSync(DOCUMENTED).filter((name) => name.endsWith('.json'));
    expect(files.sort()).toEqual(Object.keys(DOCUMENTED_PRODUCERS).sort());
  });

  it.each(Object.entries(DOCUMENTED_PRODUCERS))('%s: every documented key, with its type', async (name, entry) => {
    const producer = PRODUCERS[entry.producer];
    if (producer === undefined) throw new Error(`no producer ${entry.producer}`);
    const documented = JSON.parse(readFileSync(`${DOCUMENTED}${name}`, 'utf8')) as unknown;
    const sample = entry.member === undefined ? documented : at(documented, entry.member);
    // The documentation lists some keys of each reply, not all: keys only the emulator has are not problems.
    const problems = shapeProblems(sample, await producer.reply(), '$', new Set());
    expect(problems.filter((problem) => !problem.endsWith(': in the reply, not in the sample'))).toEqual([]);
  });
});

describe.skipIf(!present)('reply shapes against ../shared/vt-samples', () => {
  beforeAll(async () => {
    emulator = await startEmulator({ unlimited: true });
  });
  afterAll(async () => {
    await emulator.close();
  });

  const served = sampleFiles.filter((name) => PRODUCERS[name] !== undefined);
  const skipped = sampleFiles.filter((name) => PRODUCERS[name] === undefined);

  it('knows what to compare with at least the known samples', () => {
    expect(served.length).toBeGreaterThanOrEqual(10);
  });

  it.each(served)('%s: same keys and value types', async (name) => {
    const producer = PRODUCERS[name];
    if (producer === undefined) throw new Error(`no producer for ${name}`);
    const union = new Set<string>();
    for (const [other, { kind }] of Object.entries(PRODUCERS)) {
      if (kind === producer.kind && sampleFiles.includes(other)) keyPaths(readSample(other), '$', union);
    }
    expect(shapeProblems(readSample(name), await producer.reply(), '$', union)).toEqual([]);
  });

  it.skip.each(skipped.map((name) => [name, NOT_SERVED[name] ?? 'no emulator endpoint for this sample']))(
    '%s (%s)',
    () => {},
  );
});
