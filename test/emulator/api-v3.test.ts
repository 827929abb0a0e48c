import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { urlIdBase64, urlIdSha256 } from '../../src/vt/ids.js';
import { at, fixture, get, notFoundList } from './helpers.js';

const KEY = 'test-key';
const maliciousFile = fixture('files/malicious.json').attributes as { md5: string; sha1: string; sha256: string };
const maliciousUrl = fixture('urls/malicious.json').attributes['url'] as string;
const notFound = notFoundList();

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ keys: [{ key: KEY, tier: 'premium' }], unlimited: true });
});
afterAll(async () => {
  await emulator.close();
});

describe('v3 object lookups', () => {
  it.each([
    ['md5', maliciousFile.md5],
    ['sha1', maliciousFile.sha1],
    ['sha256', maliciousFile.sha256],
    ['upper-case sha256', maliciousFile.sha256.toUpperCase()],
  ])('finds the malicious file fixture by %s, data.id always the sha256', async (_name, hash) => {
    const reply = await get(emulator.url, `/api/v3/files/${hash}`, KEY);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      data: {
        type: 'file',
        id: maliciousFile.sha256,
        links: { self: `${emulator.url}/api/v3/files/${maliciousFile.sha256}` },
        attributes: {
          md5: maliciousFile.md5,
          sha1: maliciousFile.sha1,
          sha256: maliciousFile.sha256,
          last_analysis_stats: { malicious: 48 },
        },
      },
    });
  });

  it.each([
    ['base64 of the URL as given', urlIdBase64(maliciousUrl)],
    ['sha256 of the canonical URL', urlIdSha256(maliciousUrl)],
  ])('resolves a URL id given as the %s to the same object', async (_name, id) => {
    const reply = await get(emulator.url, `/api/v3/urls/${id}`, KEY);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      data: { type: 'url', id: urlIdSha256(maliciousUrl), attributes: { url: maliciousUrl } },
    });
  });

  it('gives an unknown URL the same object under both id forms, and reports its URL once seen', async () => {
    const url = 'http://Synthetic-Host.example.com/a/b?c=D';
    const bySha = await get(emulator.url, `/api/v3/urls/${urlIdSha256(url)}`, KEY);
    const byBase64 = await get(emulator.url, `/api/v3/urls/${urlIdBase64(url)}`, KEY);
    const byShaAgain = await get(emulator.url, `/api/v3/urls/${urlIdSha256(url)}`, KEY);
    expect([bySha.status, byBase64.status]).toEqual([200, 200]);
    expect(at(byBase64.json, 'data', 'id')).toBe(urlIdSha256(url));
    expect(at(byBase64.json, 'data', 'attributes', 'last_analysis_stats')).toEqual(
      at(bySha.json, 'data', 'attributes', 'last_analysis_stats'),
    );
    // Before the URL itself was seen only its hash was known; afterwards the object names it.
    expect(at(bySha.json, 'data', 'attributes', 'url')).toBe('');
    expect(at(byShaAgain.json, 'data', 'attributes', 'url')).toBe('http://synthetic-host.example.com/a/b?c=D');
  });

  it.each([
    ['domains', 'malware.example.com', 'domain'],
    ['domains', 'MALWARE.Example.COM', 'domain'],
    ['ip_addresses', '45.33.100.66', 'ip_address'],
    ['ip_addresses', '2600:3c01:0:0:f03c:91ff:fe18:bb2f', 'ip_address'],
  ])('serves /%s/%s', async (collection, id, type) => {
    const reply = await get(emulator.url, `/api/v3/${collection}/${id}`, KEY);
    expect(reply.status).toBe(200);
    expect(at(reply.json, 'data', 'type')).toBe(type);
    expect(at(reply.json, 'data', 'id')).toBe(
      collection === 'domains' ? id.toLowerCase() : id.includes(':') ? '2600:3c01::f03c:91ff:fe18:bb2f' : id,
    );
  });

  it('gives a domain A records that are among its resolutions', async () => {
    const domain = await get(emulator.url, '/api/v3/domains/synthetic-resolving.example.net', KEY);
    const resolutions = await get(
      emulator.url,
      '/api/v3/domains/synthetic-resolving.example.net/resolutions?limit=40',
      KEY,
    );
    expect([domain.status, resolutions.status]).toEqual([200, 200]);
    const records = at(domain.json, 'data', 'attributes', 'last_dns_records') as Array<{ type: string; value: string }>;
    const ips = (at(resolutions.json, 'data') as Array<{ attributes: { ip_address: string } }>).map(
      (item) => item.attributes.ip_address,
    );
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) expect(ips).toContain(record.value);
  });

  it.each([
    ['files', notFound.files[0] ?? ''],
    ['urls', urlIdBase64(notFound.urls[0] ?? '')],
    ['urls', urlIdSha256(notFound.urls[0] ?? '')],
    ['domains', notFound.domains[0] ?? ''],
    ['ip_addresses', notFound.ip_addresses[0] ?? ''],
  ])('answers 404 NotFoundError for the not-found fixture in /%s/%s', async (collection, id) => {
    const reply = await get(emulator.url, `/api/v3/${collection}/${id}`, KEY);
    expect(reply.status).toBe(404);
    expect(at(reply.json, 'error', 'code')).toBe('NotFoundError');
    expect(at(reply.json, 'error', 'message')).toContain(id);
  });

  it.each([
    ['files', 'not-a-hash'],
    ['files', 'abc123'],
    ['urls', '%00%01'],
    ['urls', 'not base64!'],
    ['domains', 'no_tld'],
    ['domains', '-bad-.com-'],
    ['ip_addresses', '999.1.1.1'],
    ['ip_addresses', 'example.com'],
  ])('answers 400 InvalidArgumentError for a malformed id in /%s/%s', async (collection, id) => {
    const reply = await get(emulator.url, `/api/v3/${collection}/${encodeURIComponent(id)}`, KEY);
    expect(reply.status).toBe(400);
    expect(at(reply.json, 'error', 'code')).toBe('InvalidArgumentError');
  });

  it('answers 400 for a broken percent-escape in an id', async () => {
    const reply = await get(emulator.url, '/api/v3/domains/bad%zz.example.com', KEY);
    expect(reply.status).toBe(400);
    expect(at(reply.json, 'error', 'code')).toBe('InvalidArgumentError');
  });

  it('answers 404 NotFoundError for an unknown endpoint', async () => {
    const reply = await get(emulator.url, '/api/v3/analyses/abc', KEY);
    expect(reply.status).toBe(404);
    expect(at(reply.json, 'error', 'code')).toBe('NotFoundError');
  });
});

describe('v3 authentication', () => {
  it.each([
    ['no key', undefined, 'AuthenticationRequiredError'],
    ['an empty key', '', 'AuthenticationRequiredError'],
    ['an unknown key', 'someone-else', 'WrongCredentialsError'],
  ])('answers 401 for %s', async (_name, key, code) => {
    const reply = await get(emulator.url, '/api/v3/domains/malware.example.com', key);
    expect(reply.status).toBe(401);
    expect(at(reply.json, 'error', 'code')).toBe(code);
  });

  it('accepts any non-empty key when no key is configured', async () => {
    const open = await startEmulator();
    try {
      expect((await get(open.url, '/api/v3/domains/malware.example.com', 'anything')).status).toBe(200);
      expect((await get(open.url, '/api/v3/domains/malware.example.com')).status).toBe(401);
    } finally {
      await open.close();
    }
  });
});

describe('v3 resolutions paging', () => {
  async function allPages(
    collection: string,
    id: string,
    limit: number,
  ): Promise<{ pages: unknown[]; items: unknown[] }> {
    const pages: unknown[] = [];
    const items: unknown[] = [];
    let path: string | undefined = `/api/v3/${collection}/${id}/resolutions?limit=${limit}`;
    while (path !== undefined) {
      const reply = await get(emulator.url, path, KEY);
      expect(reply.status).toBe(200);
      pages.push(reply.json);
      items.push(...(at(reply.json, 'data') as unknown[]));
      const next = at(reply.json, 'links', 'next') as string | undefined;
      // The client follows links.next as given: it must point back at the emulator.
      if (next !== undefined) expect(next.startsWith(emulator.url)).toBe(true);
      path = next?.slice(emulator.url.length);
      expect(pages.length).toBeLessThan(20);
    }
    return { pages, items };
  }

  it.each([
    ['domains', 'www.example.org', 10, 2],
    ['domains', 'www.example.org', 5, 3],
    ['ip_addresses', '45.33.32.156', 4, 3],
    ['ip_addresses', '45.33.32.156', 40, 1],
  ])('walks /%s/%s/resolutions at limit %i to the last page (%i pages)', async (collection, id, limit, pageCount) => {
    const { pages, items } = await allPages(collection, id, limit);
    expect(pages).toHaveLength(pageCount);
    expect(items).toHaveLength(12);
    const last = pages.at(-1);
    expect(at(last, 'meta', 'cursor')).toBeUndefined();
    expect(at(last, 'links', 'next')).toBeUndefined();
    for (const page of pages.slice(0, -1)) expect(typeof at(page, 'meta', 'cursor')).toBe('string');
    expect(new Set(items.map((item) => at(item, 'id'))).size).toBe(12);
    expect(at(items[0], 'type')).toBe('resolution');
  });

  it('gives each resolution both ends and their analysis stats', async () => {
    const reply = await get(emulator.url, '/api/v3/ip_addresses/45.33.100.66/resolutions', KEY);
    expect(at(reply.json, 'data', 0)).toMatchObject({
      type: 'resolution',
      id: '45.33.100.66malware.example.com',
      attributes: {
        host_name: 'malware.example.com',
        ip_address: '45.33.100.66',
        resolver: 'VirusTotal',
        host_name_last_analysis_stats: { malicious: 12 },
        ip_address_last_analysis_stats: { malicious: 8 },
      },
    });
  });

  it('serves the same resolutions as descriptors under /relationships/resolutions, paged alike', async () => {
    const objects = await get(emulator.url, '/api/v3/domains/www.example.org/resolutions?limit=5', KEY);
    const first = await get(emulator.url, '/api/v3/domains/www.example.org/relationships/resolutions?limit=5', KEY);
    expect(at(first.json, 'data')).toEqual(
      (at(objects.json, 'data') as unknown[]).map((item) => ({ type: 'resolution', id: at(item, 'id') })),
    );
    const next = at(first.json, 'links', 'next') as string;
    expect(next).toContain('/relationships/resolutions?cursor=');
    const second = await get(emulator.url, next.slice(emulator.url.length), KEY);
    expect(at(second.json, 'data')).toHaveLength(5);
  });

  it.each([
    ['limit=0', 'InvalidArgumentError'],
    ['limit=abc', 'InvalidArgumentError'],
    ['cursor=not-a-cursor', 'InvalidArgumentError'],
  ])('answers 400 for %s', async (query, code) => {
    const reply = await get(emulator.url, `/api/v3/domains/www.example.org/resolutions?${query}`, KEY);
    expect(reply.status).toBe(400);
    expect(at(reply.json, 'error', 'code')).toBe(code);
  });

  it('answers 404 for the resolutions of an unknown domain', async () => {
    const reply = await get(emulator.url, `/api/v3/domains/${notFound.domains[0] ?? ''}/resolutions`, KEY);
    expect(reply.status).toBe(404);
  });
});

describe('stats', () => {
  it('counts requests by status and endpoint, and serves them at /__emulator/stats', async () => {
    emulator.resetStats();
    await get(emulator.url, `/api/v3/files/${maliciousFile.md5}`, KEY);
    await get(emulator.url, `/api/v3/domains/${notFound.domains[0] ?? ''}`, KEY);
    await get(emulator.url, '/api/v3/domains/www.example.org/resolutions', KEY);
    await get(emulator.url, '/api/v3/files/x', 'wrong');
    const served = await get(emulator.url, '/__emulator/stats');
    expect(served.json).toEqual(emulator.stats());
    expect(emulator.stats()).toMatchObject({
      requests: 4,
      byStatus: { '200': 2, '404': 1, '401': 1 },
      byEndpoint: { 'v3/files': 2, 'v3/domains': 1, 'v3/resolutions': 1 },
      itemsLookedUp: 3,
      quotaRefusals: 0,
      faultsInjected: 0,
    });
  });
});
