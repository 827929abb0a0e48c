import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { at, get } from './helpers.js';

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

let first: Emulator;
let second: Emulator;
beforeAll(async () => {
  first = await startEmulator({ seed: 1, unlimited: true });
  second = await startEmulator({ seed: 99, unlimited: true, faults: { slow: 0 } });
});
afterAll(async () => {
  await Promise.all([first.close(), second.close()]);
});

describe('synthetic objects', () => {
  it.each([
    ['files', md5('deterministic')],
    ['domains', 'deterministic.example.net'],
    ['ip_addresses', '93.184.1.17'],
    ['ip_addresses', '2a00:1450:4001:81b::200e'],
    ['urls', Buffer.from('http://deterministic.example.net/x').toString('base64url')],
  ])('give %s/%s the same reply in every run, whatever the seed', async (collection, id) => {
    const one = await get(first.url, `/api/v3/${collection}/${id}`, 'k');
    const two = await get(second.url, `/api/v3/${collection}/${id}`, 'k');
    expect(one.status).toBe(two.status);
    expect(at(one.json, 'data', 'attributes')).toEqual(at(two.json, 'data', 'attributes'));
  });

  it('finds a synthetic file looked up by md5 again by the sha1 and sha256 it reported', async () => {
    const hash = md5('alias test 2');
    const byMd5 = await get(first.url, `/api/v3/files/${hash}`, 'k');
    expect(byMd5.status).toBe(200);
    const sha1 = at(byMd5.json, 'data', 'attributes', 'sha1') as string;
    const sha256 = at(byMd5.json, 'data', 'id') as string;
    for (const other of [sha1, sha256]) {
      const reply = await get(first.url, `/api/v3/files/${other}`, 'k');
      expect(at(reply.json, 'data', 'attributes')).toEqual(at(byMd5.json, 'data', 'attributes'));
    }
  });

  it('gives analysis results that agree with the stats', async () => {
    let checked = 0;
    for (let i = 0; i < 20; i += 1) {
      const reply = await get(first.url, `/api/v3/files/${md5(`agree ${i}`)}`, 'k');
      if (reply.status !== 200) continue;
      checked += 1;
      const stats = at(reply.json, 'data', 'attributes', 'last_analysis_stats') as Record<string, number>;
      const results = Object.values(
        at(reply.json, 'data', 'attributes', 'last_analysis_results') as Record<string, { category: string }>,
      );
      const counted: Record<string, number> = {};
      for (const { category } of results) counted[category] = (counted[category] ?? 0) + 1;
      for (const [category, count] of Object.entries(stats)) expect(counted[category] ?? 0).toBe(count);
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('resolves domains to global unicast addresses only', async () => {
    let checked = 0;
    for (let i = 0; i < 15; i += 1) {
      const reply = await get(first.url, `/api/v3/domains/resolving-${i}.example.com/resolutions?limit=40`, 'k');
      if (reply.status !== 200) continue;
      for (const item of at(reply.json, 'data') as unknown[]) {
        checked += 1;
        expect(ipaddr.parse(at(item, 'attributes', 'ip_address') as string).range()).toBe('unicast');
      }
    }
    expect(checked).toBeGreaterThan(20);
  });
});

describe('synthetic resolutions', () => {
  it('give each end the analysis stats its own lookup reports', async () => {
    let compared = 0;
    for (let i = 0; i < 6; i += 1) {
      const page = await get(first.url, `/api/v3/ip_addresses/93.184.2.${i + 10}/resolutions?limit=40`, 'k');
      if (page.status !== 200) continue;
      for (const item of at(page.json, 'data') as unknown[]) {
        const host = at(item, 'attributes', 'host_name') as string;
        const domain = await get(first.url, `/api/v3/domains/${host}`, 'k');
        const expected =
          domain.status === 200
            ? at(domain.json, 'data', 'attributes', 'last_analysis_stats')
            : { harmless: 0, malicious: 0, suspicious: 0, undetected: 0, timeout: 0 };
        expect(at(item, 'attributes', 'host_name_last_analysis_stats')).toEqual(expected);
        compared += 1;
      }
    }
    expect(compared).toBeGreaterThan(10);
  });
});

describe('synthetic rates', () => {
  async function verdicts(options: EmulatorOptions, count: number): Promise<Record<string, number>> {
    const server = await startEmulator({ ...options, unlimited: true });
    const counts: Record<string, number> = {};
    try {
      for (let i = 0; i < count; i += 1) {
        const reply = await get(server.url, `/api/v3/domains/rate-${i}.example.org`, 'k');
        const malicious = at(reply.json, 'data', 'attributes', 'last_analysis_stats', 'malicious') as
          number | undefined;
        const verdict =
          reply.status === 404
            ? 'not-found'
            : (malicious ?? 0) > 1
              ? 'malicious'
              : (malicious ?? 0) === 1
                ? 'suspicious'
                : 'harmless';
        counts[verdict] = (counts[verdict] ?? 0) + 1;
      }
    } finally {
      await server.close();
    }
    return counts;
  }

  it('follows notFoundRate and maliciousRate', async () => {
    const counts = await verdicts({ notFoundRate: 0.5, maliciousRate: 0.25, suspiciousRate: 0 }, 400);
    expect(counts['not-found']).toBeGreaterThan(160);
    expect(counts['not-found']).toBeLessThan(240);
    expect(counts['malicious']).toBeGreaterThan(70);
    expect(counts['malicious']).toBeLessThan(130);
    expect(counts['suspicious']).toBeUndefined();
  });

  it.each([
    [{ notFoundRate: 1, maliciousRate: 0 }, { 'not-found': 50 }],
    [{ notFoundRate: 0, maliciousRate: 1 }, { malicious: 50 }],
    [{ notFoundRate: 0, maliciousRate: 0, suspiciousRate: 0 }, { harmless: 50 }],
  ])('gives every value one verdict at the extremes %o', async (rates, expected) => {
    expect(await verdicts(rates, 50)).toEqual(expected);
  });
});

describe('options', () => {
  it.each([
    [{ notFoundRate: 1.5 }, 'notFoundRate'],
    [{ maliciousRate: -0.1 }, 'maliciousRate'],
    [{ notFoundRate: 0.6, maliciousRate: 0.6 }, 'notFoundRate + maliciousRate + suspiciousRate'],
    [{ perMinute: 1.5 }, 'perMinute'],
    [{ port: 70_000 }, 'port'],
    [{ seed: 0.5 }, 'seed'],
    [{ keys: [{ key: '', tier: 'public' as const }] }, 'keys'],
  ])('rejects %o naming the option', async (options, option) => {
    await expect(startEmulator(options)).rejects.toMatchObject({ code: 'BAD_OPTION', option });
  });
});
