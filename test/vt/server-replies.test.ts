/**
 * Replies the emulator never gives (403 on one endpoint, Retry-After, 400, no overall_quotas), from a canned
 * HTTP server on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { virtualClock } from '../support/virtual-clock.js';
import { byStatus, cannedServer, KEY, observables, recordingLogger, run, v3Object, type Canned } from './support.js';

const servers: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: Canned): Promise<{ url: string; paths: string[] }> {
  const server = await cannedServer(handler);
  servers.push(server);
  return server;
}

const error = (status: number, code: string): ReturnType<Canned> => ({
  status,
  body: { error: { code, message: `${code} happened` } },
});

function objectFor(request: IncomingMessage): ReturnType<Canned> {
  const [, , , collection = '', id = ''] = (request.url ?? '').split('?')[0]?.split('/') ?? [];
  return { status: 200, body: v3Object(collection.replace(/s$/, ''), decodeURIComponent(id)) };
}

describe('replies the emulator never gives', () => {
  it('403 on one v3 collection fails its items with ForbiddenError and asks it no more; others go on', async () => {
    const server = await serve((request) => {
      if (request.url?.includes('/overall_quotas') === true) return error(404, 'NotFoundError');
      if (request.url?.startsWith('/api/v3/domains/') === true) return error(403, 'ForbiddenError');
      return objectFor(request);
    });
    const input = [...observables('dns', 3, 'f'), ...observables('ipv4', 3, 'f')];
    const { stats, results } = await run(input, { apiKey: KEY, baseUrl: server.url, clock: virtualClock() });
    expect(byStatus(results)).toEqual({ 'Failed: ForbiddenError': 3, Success: 3 });
    expect(server.paths.filter((path) => path.startsWith('/api/v3/domains/'))).toHaveLength(1);
    expect(stats.failed).toBe(3);
  });

  it('403 on a resolutions page keeps the objects’ results and their first page, and pages no more', async () => {
    const server = await serve((request) => {
      if (request.url?.includes('/overall_quotas') === true) return { status: 200, body: { data: 'unexpected' } };
      if (request.url?.includes('/relationships/resolutions') === true) return error(403, 'ForbiddenError');
      const [, , , , ip = ''] = (request.url ?? '').split('?')[0]?.split('/') ?? [];
      // The first page comes with the object; a cursor says there is more.
      const body = v3Object('ip_address', ip) as { data: Record<string, unknown> };
      body.data['relationships'] = {
        resolutions: { data: [{ type: 'resolution', id: `${ip}first.example.net` }], meta: { cursor: 'MTA=' } },
      };
      return { status: 200, body };
    });
    const input = observables('ipv4', 3, 'res');
    const { results } = await run(input, {
      apiKey: KEY,
      baseUrl: server.url,
      clock: virtualClock(),
      resolutions: true,
      perMinute: 100,
    });
    expect(byStatus(results)).toEqual({ Success: 3 });
    expect(server.paths.filter((path) => path.includes('/resolutions?'))).toHaveLength(1);
    for (const result of results.values()) expect(result.resolvedDomains).toBe('first.example.net');
  });

  it('honours Retry-After on a 429 TooManyRequestsError', async () => {
    let refused = 0;
    const server = await serve((request) => {
      if (request.url?.includes('/overall_quotas') === true) return error(404, 'NotFoundError');
      if (refused < 2) {
        refused++;
        return { ...error(429, 'TooManyRequestsError'), headers: { 'retry-after': '30' } };
      }
      return objectFor(request);
    });
    const clock = virtualClock();
    const { stats, results } = await run(observables('dns', 1, 'ra'), {
      apiKey: KEY,
      baseUrl: server.url,
      clock,
      random: () => 0,
    });
    expect(byStatus(results)).toEqual({ Success: 1 });
    expect(stats.retries).toBe(2);
    expect(stats.quotaRefusals).toBe(2);
    // Jitter drew 0: only Retry-After made the run wait, twice 30 s.
    expect(clock.slept()).toBe(60_000);
  });

  it('backs off exponentially within its bounds', async () => {
    const server = await serve((request) =>
      request.url?.includes('/overall_quotas') === true ? error(404, 'NotFoundError') : error(503, 'TransientError'),
    );
    const clock = virtualClock();
    const { results } = await run(observables('dns', 1, 'bo'), {
      apiKey: KEY,
      baseUrl: server.url,
      clock,
      // The highest draw: each wait is just under its ceiling, 1 s, 2 s, 4 s, 8 s (then capped at 10 s).
      random: () => 0.999,
      maxRetries: 5,
      backoffBaseMs: 1_000,
      backoffMaxMs: 10_000,
      tier: 'premium',
    });
    expect(byStatus(results)).toEqual({ 'Failed: TransientError': 1 });
    const ceilings = [1_000, 2_000, 4_000, 8_000, 10_000];
    expect(clock.slept()).toBe(ceilings.reduce((sum, ceiling) => sum + Math.floor(0.999 * ceiling), 0));
  });

  it('a quota refusal while overall_quotas shows room is waited out, not taken for a spent day', async () => {
    const clock = virtualClock();
    const refuseUntil = clock.now() + 150_000;
    const server = await serve((request) => {
      if (request.url?.includes('/overall_quotas') === true) {
        return {
          status: 200,
          body: {
            data: {
              api_requests_daily: { user: { used: 5, allowed: 500 } },
              api_requests_monthly: { user: { used: 5, allowed: 15_500 } },
            },
          },
        };
      }
      return clock.now() < refuseUntil ? error(429, 'QuotaExceededError') : objectFor(request);
    });
    const { stats, results } = await run(observables('dns', 2, 'wait'), {
      apiKey: KEY,
      baseUrl: server.url,
      clock,
      random: () => 0.999,
    });
    expect(byStatus(results)).toEqual({ Success: 2 });
    expect(stats.stopReason).toBe('complete');
    expect(stats.quotaRefusals).toBeGreaterThanOrEqual(3);
  });

  it('a quota refusal that persists a whole minute, with no overall_quotas to ask, means the day is spent', async () => {
    const clock = virtualClock();
    const server = await serve((request) =>
      request.url?.includes('/overall_quotas') === true
        ? error(404, 'NotFoundError')
        : error(429, 'QuotaExceededError'),
    );
    const start = clock.now();
    const { stats, results } = await run(observables('dns', 3, 'spent'), { apiKey: KEY, baseUrl: server.url, clock });
    expect(byStatus(results)).toEqual({ 'NotSubmitted: daily quota exhausted': 3 });
    expect(stats.stopReason).toBe('daily quota exhausted');
    expect(clock.now() - start).toBeGreaterThan(60_000);
    expect(stats.quotaRefusals).toBeGreaterThanOrEqual(3);
  });

  it('400 fails the item with VirusTotal’s code, without retrying', async () => {
    const server = await serve((request) =>
      request.url?.includes('/overall_quotas') === true
        ? error(404, 'NotFoundError')
        : error(400, 'InvalidArgumentError'),
    );
    const { stats, results } = await run(observables('url', 2, 'bad'), {
      apiKey: KEY,
      baseUrl: server.url,
      clock: virtualClock(),
      perMinute: 100,
    });
    expect(byStatus(results)).toEqual({ 'Failed: InvalidArgumentError': 2 });
    expect(stats.retries).toBe(0);
  });

  it('v2: the key rides in the query but never reaches a log line', async () => {
    const server = await serve(() => ({ status: 503 }));
    const { logger, text } = recordingLogger();
    const { results } = await run(observables('md5_hash', 4, 'log'), {
      api: 'v2',
      apiKey: KEY,
      baseUrl: server.url,
      clock: virtualClock(),
      logger,
      maxRetries: 2,
    });
    expect(byStatus(results)).toEqual({ 'Failed: http 503': 4 });
    expect(server.paths[0]).toContain(`apikey=${encodeURIComponent(KEY)}`);
    expect(text()).toContain('retried');
    expect(text()).not.toContain(KEY);
  });
});
