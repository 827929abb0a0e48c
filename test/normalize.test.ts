import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { failedResult, normalizeReply, severity } from '../src/normalize.js';
import type { ApiVersion, IocType, LookupResult, VtReply } from '../src/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, 'vt', 'fixtures');
const samples = join(here, '..', '..', 'shared', 'vt-samples');
const FETCHED_AT = Date.UTC(2026, 10, 22, 10, 0, 0);

function load(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

function reply(api: ApiVersion, type: IocType, value: string, body: unknown, resolutions?: unknown[]): VtReply {
  return { api, type, value, body, fetchedAt: FETCHED_AT, ...(resolutions === undefined ? {} : { resolutions }) };
}

function resolutionsOf(path: string): unknown[] {
  return (load(path) as { data: unknown[] }).data;
}

describe('severity', () => {
  it.each([
    [0, 'information'],
    [1, 'warning'],
    [2, 'high'],
    [65, 'high'],
    ['', ''],
  ] as const)('Positives %s → %s', (positives, expected) => {
    expect(severity(positives)).toBe(expected);
  });
});

describe('failedResult', () => {
  it('carries the status and leaves every other field empty', () => {
    const result = failedResult('Failed: ForbiddenError');
    expect(result.status).toBe('Failed: ForbiddenError');
    expect(result.responseCode).toBe('');
    expect(result.positives).toBe('');
    expect(result.rawResponse).toBe('');
    expect(result.cacheHit).toBe(false);
  });
});

describe('normalizeReply on the project fixtures (v3)', () => {
  it('maps a file: Positives = malicious, Total = engines that answered, ScanId, GUI link, hashes', () => {
    const result = normalizeReply(
      reply('v3', 'md5_hash', '7657fcb7d772448a6d8504e4b20168b8', load(join(fixtures, 'v3/file.json'))),
      { raw: false },
    );
    expect(result).toMatchObject({
      status: 'Success',
      responseCode: 1,
      resource: '7657fcb7d772448a6d8504e4b20168b8',
      positives: 40,
      suspicious: 2,
      // harmless 0 + malicious 40 + suspicious 2 + undetected 26; timeout, failure, type-unsupported left out
      total: 68,
      md5: '7657fcb7d772448a6d8504e4b20168b8',
      sha1: '84c7201f7e59cb416280fd69a2e7f2e349ec8242',
      sha256: '54bc950d46a0d1aa72048a17c8275743209e6c17bdacfc4cb9601c9ce3ec9a71',
      scanId: '54bc950d46a0d1aa72048a17c8275743209e6c17bdacfc4cb9601c9ce3ec9a71-1545942061',
      permalink: 'https://www.virustotal.com/gui/file/54bc950d46a0d1aa72048a17c8275743209e6c17bdacfc4cb9601c9ce3ec9a71',
      reputation: -12,
      tags: 'peexe, overlay',
      lastAnalysisDate: '2018-12-27T20:21:01Z',
      rawResponse: '',
      fetchedAt: '2026-11-22T10:00:00.000Z',
      detectedUrls: '',
    });
  });

  it('maps a url to its GUI link by the id VirusTotal returned', () => {
    const result = normalizeReply(reply('v3', 'url', 'http://www.microsoft.com', load(join(fixtures, 'v3/url.json'))), {
      raw: false,
    });
    expect(result).toMatchObject({
      positives: 1,
      suspicious: 0,
      total: 66,
      md5: '',
      sha256: '',
      reputation: 5,
      tags: '',
    });
    expect(result.permalink).toBe(
      'https://www.virustotal.com/gui/url/01e5e2a9f10d16606f167941c517caf591c45558ce4ed68253b6adcf5c6e292b',
    );
  });

  it('gives a domain its A/AAAA records as ResolvedIPs, distinct, then the fetched resolutions', () => {
    const body = load(join(fixtures, 'v3/domain.json'));
    expect(normalizeReply(reply('v3', 'dns', 'club-fox.ru', body), { raw: false }).resolvedIps).toBe(
      '90.156.201.20, 2001:4860:4860::8888',
    );
    const withResolutions = normalizeReply(
      reply('v3', 'dns', 'club-fox.ru', body, resolutionsOf(join(fixtures, 'v3/domain-resolutions.json'))),
      {
        raw: false,
      },
    );
    expect(withResolutions.resolvedIps).toBe('90.156.201.20, 2001:4860:4860::8888, 90.156.201.21');
    expect(withResolutions.resolvedDomains).toBe('');
  });

  it('gives an IP its resolutions as ResolvedDomains, and none without them', () => {
    const body = load(join(fixtures, 'v3/ip.json'));
    expect(normalizeReply(reply('v3', 'ipv4', '23.129.64.215', body), { raw: false }).resolvedDomains).toBe('');
    const result = normalizeReply(
      reply('v3', 'ipv4', '23.129.64.215', body, resolutionsOf(join(fixtures, 'v3/ip-resolutions.json'))),
      { raw: false },
    );
    expect(result).toMatchObject({
      resolvedDomains: 'foo.com, bar.foo.com',
      positives: 5,
      suspicious: 2,
      total: 87,
      reputation: -4,
    });
    // No last_analysis_date: the ScanId is the bare id and the date is empty.
    expect(result.scanId).toBe('23.129.64.215');
    expect(result.lastAnalysisDate).toBe('');
  });

  it.each([
    ['v3', 'sha256_hash'],
    ['v2', 'md5_hash'],
    ['v2', 'url'],
    ['v3', 'dns'],
  ] as const)('%s %s with no body is NotFound with ResponseCode 0', (api, type) => {
    const result = normalizeReply(reply(api, type, 'x', null), { raw: true });
    expect(result).toMatchObject({
      status: 'NotFound',
      responseCode: 0,
      resource: 'x',
      positives: '',
      rawResponse: '',
    });
  });

  it.each([
    ['no data member', { error: { code: 'X' } }],
    ['data without attributes', { data: { id: 'a' } }],
    ['an array', []],
  ])('marks a v3 body with %s Failed: malformed reply', (_name, body) => {
    expect(normalizeReply(reply('v3', 'dns', 'example.com', body), { raw: false }).status).toBe(
      'Failed: malformed reply',
    );
  });

  it('keeps the raw JSON only when asked, with the key redacted', () => {
    const body = {
      data: {
        id: 'example.com',
        type: 'domain',
        attributes: { whois: 'echo SECRET-KEY-123', last_analysis_stats: {} },
      },
    };
    const quiet = normalizeReply(reply('v3', 'dns', 'example.com', body), { raw: false });
    expect(quiet.rawResponse).toBe('');
    const raw = normalizeReply(reply('v3', 'dns', 'example.com', body), { raw: true, redact: 'SECRET-KEY-123' });
    expect(raw.rawResponse).not.toContain('SECRET-KEY-123');
    expect(JSON.parse(raw.rawResponse)).toMatchObject({ data: { attributes: { whois: 'echo [redacted]' } } });
  });
});

describe('normalizeReply on the project fixtures (v2, as msticpy fills it)', () => {
  it('fills a file report, SHA-256 included', () => {
    const result = normalizeReply(
      reply('v2', 'md5_hash', '7657fcb7d772448a6d8504e4b20168b8', load(join(fixtures, 'v2/file.json'))),
      { raw: false },
    );
    expect(result).toMatchObject({
      status: 'Success',
      responseCode: 1,
      resource: '7657fcb7d772448a6d8504e4b20168b8',
      verboseMsg: 'Scan finished, information embedded',
      positives: 65,
      total: 71,
      suspicious: '',
      sha256: '54bc950d46a0d1aa72048a17c8275743209e6c17bdacfc4cb9601c9ce3ec9a71',
      md5: '7657fcb7d772448a6d8504e4b20168b8',
      sha1: '84c7201f7e59cb416280fd69a2e7f2e349ec8242',
      scanId: '54bc950d46a0d1aa72048a17c8275743209e6c17bdacfc4cb9601c9ce3ec9a71-1545942061',
      permalink:
        'https://www.virustotal.com/file/54bc950d46a0d1aa72048a17c8275743209e6c17bdacfc4cb9601c9ce3ec9a71/analysis/1545942061/',
      lastAnalysisDate: '2018-12-27T20:21:01Z',
      reputation: '',
      tags: '',
    });
  });

  it('keeps a queued URL (response_code -2) a Success with ResponseCode -2', () => {
    const result = normalizeReply(
      reply('v2', 'url', 'http://example.com/new', load(join(fixtures, 'v2/url-queued.json'))),
      { raw: false },
    );
    expect(result).toMatchObject({ status: 'Success', responseCode: -2, positives: '', md5: '', sha256: '' });
  });

  it('sums detected_urls positives for a domain and lists its resolutions and detected URLs', () => {
    const result = normalizeReply(reply('v2', 'dns', 'club-fox.ru', load(join(fixtures, 'v2/domain.json'))), {
      raw: false,
    });
    expect(result).toMatchObject({
      positives: 19,
      total: '',
      resolvedIps: '90.156.201.20, 90.156.201.21',
      resolvedDomains: '',
      detectedUrls: 'http://club-fox.ru/favicon.ico, http://club-fox.ru/img/login.php',
      resource: 'club-fox.ru',
      verboseMsg: 'Domain found in dataset',
    });
  });

  it('gives an IP with no detected URLs Positives 0 and its host names', () => {
    const result = normalizeReply(reply('v2', 'ipv4', '23.253.135.79', load(join(fixtures, 'v2/ip.json'))), {
      raw: false,
    });
    expect(result).toMatchObject({
      positives: 0,
      detectedUrls: '',
      resolvedDomains: 'Python.org, www.python.org',
      resolvedIps: '',
    });
    expect(severity(result.positives)).toBe('information');
  });

  it('reads response_code 0 as NotFound and keeps VirusTotal’s message', () => {
    const result = normalizeReply(
      reply('v2', 'md5_hash', '0123456789abcdef0123456789abcdee', load(join(fixtures, 'v2/not-found.json'))),
      { raw: false },
    );
    expect(result).toMatchObject({
      status: 'NotFound',
      responseCode: 0,
      verboseMsg: 'The requested resource is not among the finished, queued or pending scans',
    });
  });
});

// The recorded real replies in ../shared/vt-samples: used when present, skipped when the project stands alone.
describe.skipIf(!existsSync(samples))('normalizeReply on the recorded VirusTotal replies', () => {
  const sample = (path: string): unknown => load(join(samples, path));
  // Some v3 samples are the bare `data` member: wrap them as a reply carries them.
  const asReply = (value: unknown): unknown =>
    typeof value === 'object' && value !== null && 'data' in value ? value : { data: value };

  const cases: Array<[string, () => LookupResult, Partial<LookupResult>]> = [
    [
      'v2/fileresponse.json',
      () =>
        normalizeReply(reply('v2', 'md5_hash', '7657fcb7d772448a6d8504e4b20168b8', sample('v2/fileresponse.json')), {
          raw: false,
        }),
      {
        status: 'Success',
        positives: 65,
        total: 71,
        sha256: '54bc950d46a0d1aa72048a17c8275743209e6c17bdacfc4cb9601c9ce3ec9a71',
        lastAnalysisDate: '2018-12-27T20:21:01Z',
      },
    ],
    [
      'v2/url_pos.json',
      () =>
        normalizeReply(
          reply(
            'v2',
            'url',
            'http://club-fox.ru/img/www.loginalibaba.com/alibaba/alibaba/login.alibaba.com.php?email=biuro',
            sample('v2/url_pos.json'),
          ),
          { raw: false },
        ),
      {
        status: 'Success',
        positives: 12,
        total: 66,
        md5: '',
        scanId: '700994c09c45224fd5d6cb938e043ce648baa2231401e74cf77a5fe8c2351002-1544782435',
      },
    ],
    [
      'v2/url_neg.json',
      () => normalizeReply(reply('v2', 'url', 'http://www.microsoft.com', sample('v2/url_neg.json')), { raw: false }),
      { status: 'Success', positives: 0, total: 66, resource: 'http://www.microsoft.com' },
    ],
    [
      'v2/domain_pos.json',
      () => normalizeReply(reply('v2', 'dns', 'club-fox.ru', sample('v2/domain_pos.json')), { raw: false }),
      {
        positives: 655,
        resolvedIps: '90.156.201.20, 90.156.201.27, 90.156.201.34, 90.156.201.41, 90.156.201.65, 90.156.201.80',
      },
    ],
    [
      'v2/domain_neg.json',
      () => normalizeReply(reply('v2', 'dns', 'python.org', sample('v2/domain_neg.json')), { raw: false }),
      { positives: 2, verboseMsg: 'Domain found in dataset' },
    ],
    [
      'v2/ip-address_neg.json',
      () => normalizeReply(reply('v2', 'ipv4', '23.253.135.79', sample('v2/ip-address_neg.json')), { raw: false }),
      { positives: 0, detectedUrls: '', verboseMsg: 'IP address in dataset' },
    ],
    [
      'v3/vt3_file_1.json',
      () =>
        normalizeReply(
          reply(
            'v3',
            'sha256_hash',
            '03bd9a94482f180bb047626cb2f27ccf8daa0e201345480b43585580e09c311b',
            asReply(sample('v3/vt3_file_1.json')),
          ),
          { raw: false },
        ),
      {
        positives: 40,
        total: 68,
        md5: 'b61a4b8883ba9b9d4d85bdaecab71722',
        scanId: '03bd9a94482f180bb047626cb2f27ccf8daa0e201345480b43585580e09c311b-1633789226',
        lastAnalysisDate: '2021-10-09T14:20:26Z',
        tags: 'obfuscated, peexe, runtime-modules, detect-debug-environment, checks-network-adapters, calls-wmi, direct-cpu-clock-access, 64bits, long-sleeps',
      },
    ],
    [
      'v3/vt3_url_0.json',
      () =>
        normalizeReply(reply('v3', 'url', 'http://218.54.47.77/', asReply(sample('v3/vt3_url_0.json'))), {
          raw: false,
        }),
      {
        positives: 0,
        total: 66,
        permalink:
          'https://www.virustotal.com/gui/url/380269259e1f607fb07769fee779f0dc3144924f865e76a3c05c8898295d02f8',
      },
    ],
    [
      'v3/v3_ip_address.json + v3_ip_resolutions_page.json',
      () =>
        normalizeReply(
          reply(
            'v3',
            'ipv4',
            '23.129.64.215',
            sample('v3/v3_ip_address.json'),
            (sample('v3/v3_ip_resolutions_page.json') as { data: unknown[] }).data,
          ),
          { raw: false },
        ),
      { positives: 5, suspicious: 2, total: 87, reputation: -4, resolvedDomains: 'foo.com, bar.foo.com' },
    ],
    [
      'v3/v3_domain_with_relationships.json',
      () =>
        normalizeReply(reply('v3', 'dns', 'down.mykings.pw', sample('v3/v3_domain_with_relationships.json')), {
          raw: false,
        }),
      { positives: 8, total: 98, resolvedIps: ':ip:' },
    ],
  ];

  it.each(cases)('%s', (_name, run, expected) => {
    expect(run()).toMatchObject(expected);
  });

  it('v2/file-multi_pos.json: each report of a batch reply reads on its own', () => {
    const reports = sample('v2/file-multi_pos.json') as Array<{ resource: string }>;
    const results = reports.map((report) =>
      normalizeReply(reply('v2', 'sha256_hash', report.resource, report), { raw: true }),
    );
    expect(results.map((result) => result.positives)).toEqual([7, 8, 5]);
    for (const [index, result] of results.entries()) {
      expect(result.sha256).toBe(reports[index]?.resource);
      expect(JSON.parse(result.rawResponse)).toEqual(reports[index]);
    }
  });
});
