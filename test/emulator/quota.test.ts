import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { at, fixture, get, manualClock } from './helpers.js';

const DOMAIN = 'malware.example.com';
const { md5, sha1, sha256 } = fixture('files/malicious.json').attributes as {
  md5: string;
  sha1: string;
  sha256: string;
};

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(options: EmulatorOptions): Promise<Emulator> {
  emulator = await startEmulator(options);
  return emulator;
}

/** Status of one v3 lookup at the clock's current time. */
async function lookup(server: Emulator, key = 'k'): Promise<number> {
  return (await get(server.url, `/api/v3/domains/${DOMAIN}`, key)).status;
}

describe('quota windows (injected clock)', () => {
  it('refuses the 5th lookup of a sliding minute on the public tier with 429 QuotaExceededError', async () => {
    const clock = manualClock(Date.UTC(2026, 4, 10, 12, 0, 0));
    const server = await start({ now: clock.now });
    for (let i = 0; i < 4; i += 1) expect(await lookup(server)).toBe(200);
    const refused = await get(server.url, `/api/v3/domains/${DOMAIN}`, 'k');
    expect(refused.status).toBe(429);
    expect(at(refused.json, 'error', 'code')).toBe('QuotaExceededError');
    clock.advance(59_999);
    expect(await lookup(server)).toBe(429);
    clock.advance(1);
    expect(await lookup(server)).toBe(200);
    expect(server.stats()).toMatchObject({ itemsLookedUp: 5, quotaRefusals: 2, byStatus: { '200': 5, '429': 2 } });
  });

  it('slides the minute window instead of resetting it on the minute', async () => {
    const clock = manualClock(Date.UTC(2026, 4, 10, 12, 0, 30));
    const server = await start({ now: clock.now });
    expect([await lookup(server), await lookup(server)]).toEqual([200, 200]);
    clock.advance(20_000); // 12:00:50
    expect([await lookup(server), await lookup(server)]).toEqual([200, 200]);
    clock.advance(15_000); // 12:01:05: a fixed window would have reset; two lookups are still within 60 s
    expect(await lookup(server)).toBe(429);
    clock.advance(25_000); // 12:01:30: the first two left the window
    expect([await lookup(server), await lookup(server), await lookup(server)]).toEqual([200, 200, 429]);
  });

  it('resets the day at 00:00 UTC', async () => {
    const clock = manualClock(Date.UTC(2026, 4, 10, 23, 0, 0));
    const server = await start({ perMinute: 100, perDay: 3, now: clock.now });
    for (let i = 0; i < 3; i += 1) expect(await lookup(server)).toBe(200);
    expect(await lookup(server)).toBe(429);
    clock.set(Date.UTC(2026, 4, 10, 23, 59, 59, 999));
    expect(await lookup(server)).toBe(429);
    clock.set(Date.UTC(2026, 4, 11, 0, 0, 0));
    expect(await lookup(server)).toBe(200);
  });

  it('resets the month at 00:00 UTC on the 1st', async () => {
    const clock = manualClock(Date.UTC(2026, 0, 20, 10, 0, 0));
    const server = await start({ perMinute: 100, perDay: 100, perMonth: 2, now: clock.now });
    expect([await lookup(server), await lookup(server), await lookup(server)]).toEqual([200, 200, 429]);
    clock.set(Date.UTC(2026, 0, 31, 23, 59, 59, 999));
    expect(await lookup(server)).toBe(429);
    clock.set(Date.UTC(2026, 1, 1, 0, 0, 0));
    expect(await lookup(server)).toBe(200);
  });

  it('keeps quotas per key', async () => {
    const clock = manualClock(Date.UTC(2026, 4, 10, 12, 0, 0));
    const server = await start({ perMinute: 1, now: clock.now });
    expect([await lookup(server, 'a'), await lookup(server, 'a'), await lookup(server, 'b')]).toEqual([200, 429, 200]);
  });

  it('gives premium keys their own limits and lets options override the tier defaults', async () => {
    const clock = manualClock(Date.UTC(2026, 4, 10, 12, 0, 0));
    const server = await start({
      keys: [
        { key: 'pub', tier: 'public' },
        { key: 'pro', tier: 'premium' },
      ],
      now: clock.now,
    });
    for (let i = 0; i < 10; i += 1) expect(await lookup(server, 'pro')).toBe(200);
    for (let i = 0; i < 4; i += 1) expect(await lookup(server, 'pub')).toBe(200);
    expect(await lookup(server, 'pub')).toBe(429);
  });

  it('disables every quota with unlimited or Infinity', async () => {
    const clock = manualClock(Date.UTC(2026, 4, 10, 12, 0, 0));
    const server = await start({ perMinute: Infinity, perDay: Infinity, perMonth: Infinity, now: clock.now });
    for (let i = 0; i < 30; i += 1) expect(await lookup(server)).toBe(200);
    const quotas = await get(server.url, '/api/v3/users/k/overall_quotas', 'k');
    expect(at(quotas.json, 'data', 'api_requests_daily', 'user')).toEqual({
      used: 30,
      allowed: Number.MAX_SAFE_INTEGER,
    });
  });
});

describe('v2 and quotas', () => {
  it('charges every item of a batch and refuses a batch that does not fit with 204 and an empty body', async () => {
    const clock = manualClock(Date.UTC(2026, 4, 10, 12, 0, 0));
    const server = await start({ now: clock.now });
    const batch = (resources: string[]): Promise<Response> =>
      fetch(`${server.url}/vtapi/v2/file/report?apikey=k&resource=${resources.join(',')}`);
    expect((await batch([md5, sha1, sha256])).status).toBe(200);
    const refused = await batch([md5, sha1]);
    expect(refused.status).toBe(204);
    expect(await refused.text()).toBe('');
    expect((await batch([md5])).status).toBe(200);
    expect(server.stats()).toMatchObject({ itemsLookedUp: 4, quotaRefusals: 1 });
  });
});

describe('overall_quotas', () => {
  it('reports used and allowed per window; counts against the minute (requests of any nature), not the day', async () => {
    const clock = manualClock(Date.UTC(2026, 4, 10, 12, 0, 0));
    const server = await start({ perMinute: 4, perDay: 10, perMonth: 20, now: clock.now });
    for (let i = 0; i < 3; i += 1) expect(await lookup(server)).toBe(200);
    const reply = await get(server.url, '/api/v3/users/k/overall_quotas', 'k');
    expect(reply.json).toEqual({
      data: {
        api_requests_minutely: { user: { used: 4, allowed: 4 } },
        api_requests_hourly: { user: { used: 4, allowed: 240 } },
        api_requests_daily: { user: { used: 3, allowed: 10 } },
        api_requests_monthly: { user: { used: 3, allowed: 20 } },
      },
    });
    // The minute is full: a fifth request of any nature is refused, the quota query included.
    expect(await lookup(server)).toBe(429);
    const refused = await get(server.url, '/api/v3/users/k/overall_quotas', 'k');
    expect(refused.status).toBe(429);
    expect(at(refused.json, 'error', 'code')).toBe('QuotaExceededError');
    clock.advance(60_000);
    // The minute has passed, the day has not: how a client tells a passing refusal from an exhausted day.
    const next = await get(server.url, '/api/v3/users/k/overall_quotas', 'k');
    expect(at(next.json, 'data', 'api_requests_minutely', 'user', 'used')).toBe(1);
    expect(at(next.json, 'data', 'api_requests_daily', 'user', 'used')).toBe(3);
    clock.advance(3_540_000);
    const later = await get(server.url, '/api/v3/users/k/overall_quotas', 'k');
    expect([
      at(later.json, 'data', 'api_requests_hourly', 'user', 'used'),
      at(later.json, 'data', 'api_requests_daily', 'user', 'used'),
      // This request and the one a minute in; the first four left the hour.
    ]).toEqual([2, 3]);
    expect(server.stats().itemsLookedUp).toBe(3);
  });

  it('with freeQuotaEndpoint, overall_quotas takes no slot of the minute', async () => {
    const clock = manualClock(Date.UTC(2026, 4, 10, 12, 0, 0));
    const server = await start({ perMinute: 4, now: clock.now, freeQuotaEndpoint: true });
    for (let i = 0; i < 4; i += 1) expect(await lookup(server)).toBe(200);
    for (let i = 0; i < 5; i += 1)
      expect((await get(server.url, '/api/v3/users/k/overall_quotas', 'k')).status).toBe(200);
    const reply = await get(server.url, '/api/v3/users/k/overall_quotas', 'k');
    expect(at(reply.json, 'data', 'api_requests_minutely', 'user', 'used')).toBe(4);
  });

  it('answers 404 for a user key the emulator does not accept', async () => {
    const server = await start({ keys: [{ key: 'mine', tier: 'public' }] });
    expect((await get(server.url, '/api/v3/users/other/overall_quotas', 'mine')).status).toBe(404);
  });
});
