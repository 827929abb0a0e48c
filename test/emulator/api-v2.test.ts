import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { urlIdBase64 } from '../../src/vt/ids.js';
import { at, fixture, get, notFoundList, type Reply } from './helpers.js';

const file = fixture('files/malicious.json').attributes as { md5: string; sha1: string; sha256: string };
const maliciousUrl = fixture('urls/malicious.json').attributes['url'] as string;
const notFound = notFoundList();

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({
    keys: [
      { key: 'pub', tier: 'public' },
      { key: 'pro', tier: 'premium' },
    ],
    unlimited: true,
  });
});
afterAll(async () => {
  await emulator.close();
});

function v2(path: string, params: Record<string, string>): Promise<Reply> {
  return get(emulator.url, `/vtapi/v2/${path}?${new URLSearchParams(params).toString()}`);
}

/** Distinct, valid synthetic md5 values. */
function hashes(count: number): string[] {
  return Array.from({ length: count }, (_, i) => createHash('md5').update(`batch ${i}`).digest('hex'));
}

describe('v2 file/report', () => {
  it('reports a file with response_code 1, scan_id <sha256>-<epoch>, permalink and the scans', async () => {
    const reply = await v2('file/report', { apikey: 'pub', resource: file.md5 });
    expect(reply.status).toBe(200);
    const date = at(reply.json, 'scan_id') as string;
    const epoch = date.split('-')[1] ?? '';
    expect(reply.json).toMatchObject({
      response_code: 1,
      resource: file.md5,
      md5: file.md5,
      sha1: file.sha1,
      sha256: file.sha256,
      scan_id: `${file.sha256}-${epoch}`,
      permalink: `https://www.virustotal.com/file/${file.sha256}/analysis/${epoch}/`,
      positives: 48,
      total: 60,
      verbose_msg: 'Scan finished, information embedded',
    });
    expect(at(reply.json, 'scan_date')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(
      Object.values(at(reply.json, 'scans') as Record<string, { detected: boolean }>).filter((scan) => scan.detected),
    ).toHaveLength(48);
  });

  it.each([
    ['not in the dataset', notFound.files[0] ?? '', 0],
    ['not a hash', 'not-a-hash', -1],
  ])('answers response_code for a resource %s', async (_name, resource, code) => {
    const reply = await v2('file/report', { apikey: 'pub', resource });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ response_code: code, resource });
  });

  it('answers several resources with an array in request order, each with its own resource', async () => {
    const resources = [file.sha256, notFound.files[0] ?? '', file.md5.toUpperCase()];
    const reply = await v2('file/report', { apikey: 'pub', resource: resources.join(', ') });
    expect(Array.isArray(reply.json)).toBe(true);
    expect((reply.json as unknown[]).map((item) => [at(item, 'resource'), at(item, 'response_code')])).toEqual([
      [resources[0], 1],
      [resources[1], 0],
      [resources[2], 1],
    ]);
  });

  it.each([
    ['pub', 6, 4],
    ['pro', 30, 25],
  ])('answers only the first N resources of a batch (key %s, %i sent, %i answered)', async (key, sent, answered) => {
    const resources = hashes(sent);
    const reply = await v2('file/report', { apikey: key, resource: resources.join(',') });
    expect((reply.json as unknown[]).map((item) => at(item, 'resource'))).toEqual(resources.slice(0, answered));
  });

  it('accepts a scan id as the resource', async () => {
    const first = await v2('file/report', { apikey: 'pub', resource: file.md5 });
    const reply = await v2('file/report', { apikey: 'pub', resource: at(first.json, 'scan_id') as string });
    expect(at(reply.json, 'sha256')).toBe(file.sha256);
  });

  it('reads the parameters from a POST form too', async () => {
    const response = await fetch(`${emulator.url}/vtapi/v2/file/report`, {
      method: 'POST',
      body: new URLSearchParams({ apikey: 'pub', resource: `${file.md5},${file.sha1}` }),
    });
    const body = (await response.json()) as unknown[];
    expect(body.map((item) => at(item, 'sha256'))).toEqual([file.sha256, file.sha256]);
  });
});

describe('v2 url/report', () => {
  it('keeps the resource as sent and gives the canonical url', async () => {
    const reply = await v2('url/report', { apikey: 'pub', resource: 'MALWARE.example.com/payload.exe' });
    expect(reply.json).toMatchObject({
      response_code: 1,
      resource: 'MALWARE.example.com/payload.exe',
      url: maliciousUrl,
      positives: 9,
      total: 64,
      filescan_id: null,
    });
    expect(at(reply.json, 'scans', 'OpenPhish')).toHaveProperty('detected');
  });

  it('splits a batch on newlines', async () => {
    const reply = await v2('url/report', { apikey: 'pub', resource: `${maliciousUrl}\n${notFound.urls[0] ?? ''}` });
    expect((reply.json as unknown[]).map((item) => at(item, 'response_code'))).toEqual([1, 0]);
  });

  it('queues an unknown URL with scan=1 (response_code 1, a scan_id, no verdict), -2 while analysing', async () => {
    const reply = await v2('url/report', { apikey: 'pub', resource: notFound.urls[0] ?? '', scan: '1' });
    expect(reply.json).toMatchObject({
      response_code: 1,
      resource: notFound.urls[0],
      verbose_msg: 'Scan request successfully queued, come back later for the report',
      scan_id: expect.stringMatching(/^[0-9a-f]{64}-\d+$/) as unknown,
    });
    expect(reply.json).not.toHaveProperty('positives');
    const later = await v2('url/report', { apikey: 'pub', resource: notFound.urls[0] ?? '' });
    expect(later.json).toMatchObject({ response_code: -2, resource: notFound.urls[0] });
  });
});

describe('v2 domain/report and ip-address/report', () => {
  it('reports a domain with resolutions and detected_urls objects, undetected_urls arrays', async () => {
    const reply = await v2('domain/report', { apikey: 'pub', domain: 'malware.example.com' });
    expect(reply.json).toMatchObject({ response_code: 1, verbose_msg: 'Domain found in dataset' });
    expect(at(reply.json, 'resolutions', 0)).toEqual({
      last_resolved: expect.stringMatching(/^\d{4}-/) as unknown,
      ip_address: '45.33.100.66',
    });
    expect(at(reply.json, 'detected_urls', 0)).toMatchObject({ url: maliciousUrl, positives: 9, total: 64 });
    const undetected = at(reply.json, 'undetected_urls') as unknown[][];
    for (const entry of undetected)
      expect(entry).toEqual([expect.any(String), expect.any(String), 0, expect.any(Number), expect.any(String)]);
  });

  it('reports an IP address with host-name resolutions and a string asn', async () => {
    const reply = await v2('ip-address/report', { apikey: 'pub', ip: '45.33.32.156' });
    expect(reply.json).toMatchObject({
      response_code: 1,
      asn: '63949',
      as_owner: 'Akamai Connected Cloud',
      country: 'US',
    });
    expect(at(reply.json, 'resolutions', 0, 'hostname')).toBe('scanme.nmap.org');
    expect(at(reply.json, 'resolutions')).toHaveLength(12);
  });

  it.each([
    ['domain/report', { domain: notFound.domains[0] ?? '' }, 0],
    ['domain/report', { domain: 'no_tld' }, -1],
    ['ip-address/report', { ip: notFound.ip_addresses[0] ?? '' }, 0],
    ['ip-address/report', { ip: '300.1.1.1' }, -1],
  ])('%s %o answers response_code %i', async (path, params, code) => {
    const reply = await v2(path, { apikey: 'pub', ...params });
    expect(reply.status).toBe(200);
    expect(at(reply.json, 'response_code')).toBe(code);
  });
});

describe('v2 errors', () => {
  it.each([
    ['file/report', { resource: file.md5 }],
    ['file/report', { apikey: 'unknown', resource: file.md5 }],
    ['domain/report', { domain: 'malware.example.com' }],
  ])('answers 403 with an empty body to %s without an accepted key', async (path, params) => {
    const reply = await v2(path, params);
    expect(reply.status).toBe(403);
    expect(reply.text).toBe('');
  });

  it('answers 400 when the resource is missing', async () => {
    expect((await v2('file/report', { apikey: 'pub' })).status).toBe(400);
  });
});

describe('v2 and v3 agree', () => {
  const domains = Array.from({ length: 12 }, (_, i) => `agree-${i}.example.net`);
  const urls = Array.from({ length: 12 }, (_, i) => `http://agree.example.net/page/${i}`);

  it.each(domains)('domain %s: same verdict and the same resolutions', async (domain) => {
    const v3 = await get(emulator.url, `/api/v3/domains/${domain}`, 'pub');
    const v2Reply = await v2('domain/report', { apikey: 'pub', domain });
    expect(at(v2Reply.json, 'response_code')).toBe(v3.status === 200 ? 1 : 0);
    if (v3.status !== 200) return;
    const resolutions = await get(emulator.url, `/api/v3/domains/${domain}/resolutions?limit=40`, 'pub');
    const v3Ips = (at(resolutions.json, 'data') as unknown[]).map((item) => at(item, 'attributes', 'ip_address'));
    expect((at(v2Reply.json, 'resolutions') as unknown[]).map((item) => at(item, 'ip_address'))).toEqual(v3Ips);
  });

  it.each(urls)('url %s: positives equal v3 malicious', async (url) => {
    const v3 = await get(emulator.url, `/api/v3/urls/${urlIdBase64(url)}`, 'pub');
    const v2Reply = await v2('url/report', { apikey: 'pub', resource: url });
    expect(at(v2Reply.json, 'response_code')).toBe(v3.status === 200 ? 1 : 0);
    if (v3.status === 200)
      expect(at(v2Reply.json, 'positives')).toBe(at(v3.json, 'data', 'attributes', 'last_analysis_stats', 'malicious'));
  });
});
