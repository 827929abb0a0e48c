/**
 * The emulator's `?relationships=` (issue 13 §3) and URL submissions and analyses (§4): descriptors and paging,
 * what a public key may read, every refusal still a request of the minute, and the analysis lifecycle.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { urlIdSha256 } from '../../src/vt/ids.js';
import { at, get, manualClock } from './helpers.js';

const KEY = 'relationships-key';
let emulator: Emulator | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(options: EmulatorOptions): Promise<Emulator> {
  emulator = await startEmulator(options);
  return emulator;
}

async function submit(url: string, form: string, key = KEY): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${url}/api/v3/urls`, {
    method: 'POST',
    headers: { 'x-apikey': key, 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

interface Page {
  data: Array<{ type: string; id: string; context_attributes?: { url: string } }>;
  meta?: { cursor?: string };
  links: { self: string; next?: string; related?: string };
}

describe('?relationships= on object lookups', () => {
  it('embeds the first 10 resolution descriptors (id = IP + host), with a cursor the relationship pages from', async () => {
    const server = await start({ unlimited: true, notFoundRate: 0 });
    // A synthetic domain with more than 10 resolutions (they are derived from its name).
    let domain = '';
    let embedded: Page | undefined;
    for (let i = 0; i < 40 && embedded?.meta?.cursor === undefined; i++) {
      domain = `paging-${i}.example.org`;
      const reply = await get(server.url, `/api/v3/domains/${domain}?relationships=resolutions`, KEY);
      embedded = at(reply.json, 'data', 'relationships', 'resolutions') as Page;
    }
    expect(embedded?.data).toHaveLength(10);
    for (const item of embedded?.data ?? []) {
      expect(item.type).toBe('resolution');
      expect(item.id.endsWith(domain)).toBe(true);
      expect(item.id.slice(0, -domain.length)).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    }
    expect(embedded?.links.next).toContain(`/api/v3/domains/${domain}/relationships/resolutions?cursor=`);
    const cursor = encodeURIComponent(embedded?.meta?.cursor ?? '');
    const next = await get(
      server.url,
      `/api/v3/domains/${domain}/relationships/resolutions?limit=40&cursor=${cursor}`,
      KEY,
    );
    const rest = next.json as Page;
    expect(rest.data.length).toBeGreaterThan(0);
    // The rest, none of the first page again, and no further cursor.
    const first = new Set(embedded?.data.map((item) => item.id));
    expect(rest.data.some((item) => first.has(item.id))).toBe(false);
    expect(rest.meta?.cursor).toBeUndefined();
    // The object itself is the same as without relationships.
    const plain = await get(server.url, `/api/v3/domains/${domain}`, KEY);
    expect(at(plain.json, 'data', 'attributes')).toEqual(
      at(
        (await get(server.url, `/api/v3/domains/${domain}?relationships=resolutions`, KEY)).json,
        'data',
        'attributes',
      ),
    );
    expect(at(plain.json, 'data', 'relationships')).toBeUndefined();
  });

  it('gives a file its contacted domains, IPs and URLs, deterministically; URLs carry context_attributes.url', async () => {
    const server = await start({ unlimited: true, keys: [{ key: KEY, tier: 'premium' }] });
    const path =
      '/api/v3/files/339c2570f5872b6c6755c6c3867413f64be48b09d3393f882d0f6eaa6a2e6306?relationships=contacted_domains,contacted_ips,contacted_urls';
    const first = await get(server.url, path, KEY);
    const again = await get(server.url, path, KEY);
    expect(first.status).toBe(200);
    expect(at(again.json, 'data', 'relationships')).toEqual(at(first.json, 'data', 'relationships'));
    const urls = at(first.json, 'data', 'relationships', 'contacted_urls') as Page;
    for (const item of urls.data) {
      expect(item.type).toBe('url');
      expect(item.id).toBe(urlIdSha256(item.context_attributes?.url ?? ''));
    }
    expect(
      (at(first.json, 'data', 'relationships', 'contacted_ips') as Page).data.every(
        (item) => item.type === 'ip_address',
      ),
    ).toBe(true);
    expect(
      (at(first.json, 'data', 'relationships', 'contacted_domains') as Page).data.every(
        (item) => item.type === 'domain',
      ),
    ).toBe(true);
  });

  it('refuses a public key the Enterprise-only `urls` of a domain (403), and the refusal still takes its minute slot', async () => {
    const clock = manualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
    const server = await start({ keys: [{ key: KEY, tier: 'public' }], perMinute: 2, now: clock.now });
    const refused = await get(
      server.url,
      '/api/v3/domains/malware.example.com?relationships=communicating_files,urls',
      KEY,
    );
    expect(refused.status).toBe(403);
    expect(at(refused.json, 'error', 'code')).toBe('ForbiddenError');
    const allowed = await get(server.url, '/api/v3/domains/malware.example.com?relationships=communicating_files', KEY);
    expect(allowed.status).toBe(200);
    expect((at(allowed.json, 'data', 'relationships', 'communicating_files') as Page).data.length).toBeGreaterThan(0);
    // Two requests this minute: the third is refused, whatever it asks.
    expect((await get(server.url, '/api/v3/domains/malware.example.com', KEY)).status).toBe(429);
    // The 403 was no lookup: the day counts only the one that was.
    expect(server.stats().itemsLookedUp).toBe(1);
  });
});

describe('URL submissions and analyses', () => {
  it('queues an unknown URL, completes its analysis after the delay, and knows the URL from then on', async () => {
    const clock = manualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
    const server = await start({ unlimited: true, analysisDelayMs: 30_000, now: clock.now });
    const url = 'https://unknown.example.org/never-seen';
    expect((await get(server.url, `/api/v3/urls/${urlIdSha256(url)}`, KEY)).status).toBe(404);
    const submitted = await submit(server.url, `url=${encodeURIComponent(url)}`);
    expect(submitted.status).toBe(200);
    const id = at(submitted.json, 'data', 'id') as string;
    expect(id).toMatch(new RegExp(`^u-${urlIdSha256(url)}-\\d+$`));
    expect(at(submitted.json, 'data', 'type')).toBe('analysis');

    const queued = await get(server.url, `/api/v3/analyses/${id}`, KEY);
    expect(at(queued.json, 'data', 'attributes', 'status')).toBe('queued');
    expect(at(queued.json, 'meta', 'url_info')).toEqual({ id: urlIdSha256(url), url });
    expect((await get(server.url, `/api/v3/urls/${urlIdSha256(url)}`, KEY)).status).toBe(404);

    clock.advance(30_000);
    const completed = await get(server.url, `/api/v3/analyses/${id}`, KEY);
    expect(at(completed.json, 'data', 'attributes', 'status')).toBe('completed');
    const stats = at(completed.json, 'data', 'attributes', 'stats') as Record<string, number>;
    const object = await get(server.url, `/api/v3/urls/${urlIdSha256(url)}`, KEY);
    expect(object.status).toBe(200);
    expect(at(object.json, 'data', 'attributes', 'last_analysis_stats')).toEqual(stats);
    expect(server.stats().byEndpoint).toMatchObject({ 'v3/submit': 1, 'v3/analyses': 2 });
  });

  it('answers 404 for an unknown analysis and 400 for a submission without a valid url', async () => {
    const server = await start({ unlimited: true });
    expect((await get(server.url, '/api/v3/analyses/u-0000-1', KEY)).status).toBe(404);
    expect((await submit(server.url, 'nothing=here')).status).toBe(400);
    expect((await submit(server.url, 'url=')).status).toBe(400);
  });

  it('refuses a bad key before reading the body, and a body over 1 MiB with 413', async () => {
    const server = await start({ keys: [{ key: KEY, tier: 'public' }] });
    expect((await submit(server.url, 'url=http%3A%2F%2Fx.example.com%2F', 'wrong-key')).status).toBe(401);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/api/v3/urls`, {
        method: 'POST',
        headers: { 'x-apikey': KEY, 'content-type': 'application/x-www-form-urlencoded', 'content-length': 4 << 20 },
      });
      req.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      req.on('error', (error: NodeJS.ErrnoException) =>
        error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error),
      );
      req.write(Buffer.alloc(64 * 1024, 'a'));
    });
    expect(status).toBe(413);
  });
});
