/**
 * The lookup stage end to end against the project's emulator over real HTTP on 127.0.0.1. Pacing tests give
 * the emulator and the client the same virtual clock, whose sleep advances time: an hour of quota runs in
 * milliseconds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { failedResult } from '../../src/normalize.js';
import type { LookupResult, Observable } from '../../src/types.js';
import { guiLink, urlIdSha256 } from '../../src/vt/ids.js';
import { lookupObservables, type LookupOptions } from '../../src/vt/lookup-stage.js';
import { virtualClock, type VirtualClock } from '../support/virtual-clock.js';
import { byStatus, everyType, KEY, observable, observables, recordingLogger, run } from './support.js';

const emulators: Emulator[] = [];

afterEach(async () => {
  await Promise.all(emulators.splice(0).map((emulator) => emulator.close()));
});

async function emulator(options: EmulatorOptions): Promise<Emulator> {
  const started = await startEmulator({ keys: [{ key: KEY, tier: 'public' }], ...options });
  emulators.push(started);
  return started;
}

/** An emulator and client options that share one virtual clock. */
async function paced(
  emulatorOptions: EmulatorOptions,
  clientOptions: Partial<LookupOptions> = {},
): Promise<{ server: Emulator; clock: VirtualClock; options: LookupOptions }> {
  const clock = virtualClock();
  const server = await emulator({ now: clock.now, ...emulatorOptions });
  return { server, clock, options: { apiKey: KEY, baseUrl: server.url, clock, ...clientOptions } };
}

function resultOf(results: Map<string, LookupResult>, item: Observable): LookupResult {
  const result = results.get(item.key);
  if (result === undefined) throw new Error(`no result for ${item.key}`);
  return result;
}

describe('v3 lookups', () => {
  it('looks up every type and maps the replies', async () => {
    const server = await emulator({ unlimited: true, notFoundRate: 0 });
    const input = everyType();
    const { stats, results } = await run(input, { apiKey: KEY, baseUrl: server.url, tier: 'premium' });
    expect(byStatus(results)).toEqual({ Success: input.length });
    // One request per observable, plus the quota check before the first lookup.
    expect(stats.requests).toBe(input.length + 1);
    expect(server.stats().byEndpoint).toMatchObject({
      'v3/overall_quotas': 1,
      'v3/files': 6,
      'v3/urls': 2,
      'v3/domains': 2,
      'v3/ip_addresses': 4,
    });
    for (const item of input) {
      const result = resultOf(results, item);
      expect(result.responseCode).toBe(1);
      expect(result.resource).toBe(item.value);
      expect(typeof result.positives).toBe('number');
      expect(result.total).toBeGreaterThan(0);
      expect(result.lastAnalysisDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(result.scanId).toMatch(/-\d+$/);
      if (item.type.endsWith('_hash')) {
        expect(result.md5).toMatch(/^[0-9a-f]{32}$/);
        expect(result.sha1).toMatch(/^[0-9a-f]{40}$/);
        expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect([result.md5, result.sha1, result.sha256]).toContain(item.value);
        expect(result.permalink).toBe(guiLink(item.type, result.sha256));
      }
      if (item.type === 'url') expect(result.permalink).toBe(guiLink('url', urlIdSha256(item.value)));
      if (item.type === 'dns') expect(result.resolvedIps).not.toBe('');
    }
    // An IP's first page of resolutions comes with the object: no request of its own.
    expect(server.stats().byEndpoint['v3/resolutions']).toBeUndefined();
    const ips = input.filter((item) => item.type === 'ipv4' || item.type === 'ipv6');
    expect(ips.some((item) => resultOf(results, item).resolvedDomains !== '')).toBe(true);
  });

  it('marks what VirusTotal does not know NotFound, ResponseCode 0', async () => {
    const server = await emulator({ unlimited: true, notFoundRate: 1, maliciousRate: 0, suspiciousRate: 0 });
    const input = everyType('n');
    const { stats, results } = await run(input, { apiKey: KEY, baseUrl: server.url, tier: 'premium' });
    expect(byStatus(results)).toEqual({ NotFound: input.length });
    expect([...results.values()].every((result) => result.responseCode === 0)).toBe(true);
    expect(stats.notFound).toBe(input.length);
    expect(stats.byHttpStatus['404']).toBe(input.length);
  });

  it('with resolutions, pages beyond the first page only where there is more, one request each', async () => {
    const { server, options } = await paced({ notFoundRate: 0, perMinute: 30 }, { perMinute: 30, resolutions: true });
    const input = [...observables('ipv4', 12, 'r'), ...observables('dns', 12, 'r'), ...observables('md5_hash', 2, 'r')];
    const { stats, results } = await run(input, options);
    const pages = server.stats().byEndpoint['v3/resolutions'] ?? 0;
    // Synthetic IPs have up to 12 resolutions and domains up to 14: some, not all, have more than a page of 10.
    expect(pages).toBeGreaterThan(0);
    expect(pages).toBeLessThan(24);
    expect(stats.resolutionPages).toBe(pages);
    expect(stats.requests).toBe(1 + input.length + pages);
    expect(server.stats().quotaRefusals).toBe(0);
    const counts = observables('dns', 12, 'r').map((item) => resultOf(results, item).resolvedIps.split(', ').length);
    // Every address of a domain with more than a page is there: the first page's 10 and the rest.
    expect(Math.max(...counts)).toBeGreaterThan(10);
  });

  it('answers a hash alias from `before` without a request (md5 then sha256 of one file)', async () => {
    const server = await emulator({ unlimited: true, notFoundRate: 0 });
    const md5 = observables('md5_hash', 1, 'alias')[0] as Observable;
    const first = await run([md5], { apiKey: KEY, baseUrl: server.url });
    const known = resultOf(first.results, md5);
    server.resetStats();

    // What the pipeline does: every hash of a returned file answers for the others.
    const byHash = new Map<string, LookupResult>();
    const input = [md5, observable('sha256_hash', known.sha256), observable('sha1_hash', known.sha1)];
    const asked: string[] = [];
    const { stats, results } = await run(
      input,
      { apiKey: KEY, baseUrl: server.url },
      {
        before: (item) => {
          asked.push(item.key);
          return byHash.get(item.value);
        },
        onResult: (_item, result) => {
          for (const hash of [result.md5, result.sha1, result.sha256]) if (hash !== '') byHash.set(hash, result);
        },
      },
    );
    expect(server.stats().byEndpoint['v3/files']).toBe(1);
    expect(asked).toEqual(input.map((item) => item.key));
    expect(stats.answeredBefore).toBe(2);
    expect(stats.lookedUp).toBe(3);
    expect(resultOf(results, input[1] as Observable)).toEqual(resultOf(results, md5));
  });

  it('reads an async iterable input', async () => {
    const server = await emulator({ unlimited: true });
    const input = observables('dns', 5, 'async');
    async function* generate(): AsyncGenerator<Observable> {
      for (const item of input) yield await Promise.resolve(item);
    }
    let count = 0;
    const stats = await lookupObservables(
      generate(),
      { apiKey: KEY, baseUrl: server.url, tier: 'premium' },
      { onResult: () => count++ },
    );
    expect(count).toBe(5);
    expect(stats.lookedUp).toBe(5);
  });
});

describe('v2 lookups', () => {
  it('batches hashes and URLs, 4 to a request on a public key, and looks up domains and IPs one by one', async () => {
    const { server, options } = await paced({ notFoundRate: 0.3 }, { api: 'v2' });
    const hashes = [
      ...observables('md5_hash', 4, 'v2'),
      ...observables('sha1_hash', 3, 'v2'),
      ...observables('sha256_hash', 2, 'v2'),
    ];
    const urls = observables('url', 5, 'v2');
    const singles = [...observables('dns', 2, 'v2'), ...observables('ipv4', 2, 'v2'), ...observables('ipv6', 1, 'v2')];
    const { stats, results } = await run([...hashes, ...urls, ...singles], options);
    expect(server.stats().byEndpoint).toMatchObject({
      'v2/file/report': 3,
      'v2/url/report': 2,
      'v2/domain/report': 2,
      'v2/ip-address/report': 3,
    });
    expect(stats.requests).toBe(10);
    expect(server.stats().quotaRefusals).toBe(0);
    for (const [key, result] of results) {
      expect(['Success', 'NotFound'], key).toContain(result.status);
      expect(result.responseCode).toBe(result.status === 'NotFound' ? 0 : 1);
    }
    expect(stats.notFound).toBeGreaterThan(0);
    for (const item of hashes) {
      const result = resultOf(results, item);
      if (result.status === 'Success') expect([result.md5, result.sha1, result.sha256]).toContain(item.value);
    }
    for (const item of singles.filter((single) => single.type === 'dns')) {
      const result = resultOf(results, item);
      if (result.status === 'Success') expect(result.resolvedIps).not.toBe('');
    }
  });

  it('spends at most 0.26 requests per distinct hash or URL', async () => {
    const { server, options } = await paced({}, { api: 'v2' });
    const input = [...observables('sha256_hash', 52, 'ratio'), ...observables('url', 48, 'ratio')];
    const { stats } = await run(input, options);
    expect(stats.requests / input.length).toBeLessThanOrEqual(0.26);
    expect(server.stats().quotaRefusals).toBe(0);
  });

  it('never sends an observable twice in one batch', async () => {
    const { server, options } = await paced({ unlimited: true }, { api: 'v2' });
    const [a, b] = observables('md5_hash', 2, 'twice') as [Observable, Observable];
    // Each element of the input gets its result, even a repeated one (the pipeline never repeats one).
    const keys: string[] = [];
    await lookupObservables([a, a, b, a], options, { onResult: (item) => keys.push(item.key) });
    expect(keys.sort()).toEqual([a.key, a.key, a.key, b.key].sort());
    // a, b in one batch; the second and third a in two more.
    expect(server.stats().byEndpoint['v2/file/report']).toBe(3);
  });

  it('re-sends what a batch reply left out when the server answers fewer than were sent', async () => {
    // A public key answers 4 per batch; the client was told 25 (premium): it learns and adapts.
    const { server, options } = await paced({ unlimited: true }, { api: 'v2', tier: 'premium', concurrency: 1 });
    const input = observables('sha1_hash', 60, 'cut');
    const { stats } = await run(input, options);
    expect(stats.lookedUp).toBe(60);
    expect(server.stats().byEndpoint['v2/file/report']).toBe(1 + Math.ceil((60 - 4) / 4));
  });
});

describe('pacing against the emulator’s sliding window', () => {
  it.each([
    ['v3', 41, 10],
    ['v2', 161, 40],
  ] as const)(
    '%s public key: never a 429/204, and the minute quota is used to the full (%i lookups)',
    async (api, count, fullMinutes) => {
      const { server, clock, options } = await paced({}, { api });
      const input = observables(api === 'v3' ? 'dns' : 'md5_hash', count, `pace${api}`);
      const start = clock.now();
      const { stats } = await run(input, options);
      expect(server.stats().quotaRefusals).toBe(0);
      expect(stats.quotaRefusals).toBe(0);
      // 4 lookups a minute: the last one goes out right after `fullMinutes` minutes, not later.
      const minutes = (clock.now() - start) / 60_000;
      expect(minutes).toBeGreaterThanOrEqual(fullMinutes);
      expect(minutes).toBeLessThan(fullMinutes + 0.01);
    },
  );

  it.each([
    [4, 3],
    [30, 12],
  ])(
    'v3 at %i/min, every request counted (quota query, objects, resolutions pages, context, 403s, submissions, polls): never a 429 over two windows',
    async (perMinute, count) => {
      const { server, clock, options } = await paced(
        // A public key on the emulator: it refuses `urls` (Enterprise-only), so the context falls back too.
        { perMinute, notFoundRate: 0.35, maliciousRate: 0.5, analysisDelayMs: 30_000 },
        {
          tier: 'premium',
          perMinute,
          concurrency: 4,
          resolutions: true,
          context: true,
          submitUnknownUrls: true,
          analysisPollMs: 20_000,
          analysisTimeoutMs: 90_000,
        },
      );
      const input = [
        ...observables('dns', count, `every${perMinute}`),
        ...observables('md5_hash', count, `every${perMinute}`),
        ...observables('url', count, `every${perMinute}`),
      ];
      const start = clock.now();
      const { stats } = await run(input, options);
      expect(stats.lookedUp).toBe(input.length);
      const served = server.stats();
      // Every kind of request was made, and the server saw each request the client counted.
      expect(served.requests).toBe(stats.requests);
      expect(stats.requests).toBe(
        1 + input.length + stats.resolutionPages + stats.contextRequests + stats.submissions + stats.analysisPolls,
      );
      expect(served.byEndpoint).toMatchObject({
        'v3/overall_quotas': 1,
        'v3/resolutions': stats.resolutionPages,
        'v3/submit': stats.submissions,
        'v3/analyses': stats.analysisPolls,
      });
      expect(stats.resolutionPages).toBeGreaterThan(0);
      expect(stats.contextRequests).toBeGreaterThan(0);
      expect(stats.submissions).toBeGreaterThan(0);
      expect(stats.analysisPolls).toBeGreaterThanOrEqual(stats.submissions);
      // The first context requests of domains in flight together are refused (403: `urls`), then none more.
      expect(served.byStatus['403']).toBeGreaterThanOrEqual(1);
      expect(served.byStatus['403']).toBeLessThanOrEqual(4);
      expect(stats.contextRefused).toEqual(['urls of domains: ForbiddenError']);
      expect(served.quotaRefusals).toBe(0);
      expect(stats.quotaRefusals).toBe(0);
      // More than two windows of requests, and no more time than the window allows (plus, at the end, at most
      // one poll interval waiting for the last analysis with nothing else to send).
      const windows = (clock.now() - start) / 60_000;
      expect(windows).toBeGreaterThanOrEqual(2);
      expect(windows).toBeLessThan(Math.ceil(stats.requests / perMinute) + 20_000 / 60_000);
    },
  );

  it('v3: a run started right after another one waits for the minute the first one spent', async () => {
    const { server, clock, options } = await paced({});
    await run(observables('dns', 4, 'first'), options);
    const start = clock.now();
    const { stats } = await run(observables('dns', 4, 'second'), options);
    expect(stats.lookedUp).toBe(4);
    expect(server.stats().quotaRefusals).toBe(0);
    expect(clock.now() - start).toBeGreaterThanOrEqual(60_000);
  });

  it('premium key with concurrency: never more in flight per window than allowed', async () => {
    const { server, options } = await paced(
      { keys: [{ key: KEY, tier: 'premium' }], perMinute: 30 },
      { tier: 'premium', perMinute: 30, concurrency: 8 },
    );
    const input = [...observables('ipv4', 60, 'prem'), ...observables('url', 60, 'prem')];
    const { stats } = await run(input, options);
    expect(stats.lookedUp).toBe(120);
    expect(server.stats().quotaRefusals).toBe(0);
  });
});

describe('quotas running out', () => {
  it('v3: stops at the day’s budget, the rest NotSubmitted, and a second run knows what is left', async () => {
    const { server, options } = await paced({ perDay: 10 });
    const first = await run(observables('dns', 25, 'day1'), options);
    expect(first.stats.stopReason).toBe('daily quota exhausted');
    // The overall_quotas request is charged to the day too (conservatively): 9 lookups + 1 query = 10.
    expect(byStatus(first.results)).toMatchObject({ 'NotSubmitted: daily quota exhausted': 16 });
    expect(first.stats.lookedUp).toBe(9);
    expect(first.stats.requests).toBe(10);

    // The emulator counts lookups only in its day: it reports 9 of 10, so one more lookup fits, then the stop.
    const second = await run(observables('dns', 3, 'day1b'), options);
    expect(byStatus(second.results)['NotSubmitted: daily quota exhausted']).toBe(2);
    expect(second.stats.lookedUp).toBe(1);
    expect(second.stats.requests).toBe(2);
    expect(server.stats().quotaRefusals).toBe(0);
  });

  it('v3: a refusal caused by another client on the key is told apart by overall_quotas', async () => {
    const { server, options } = await paced(
      { perDay: 10, keys: [{ key: KEY, tier: 'premium' }] },
      { tier: 'premium', concurrency: 2 },
    );
    // Two runs share the key; each thinks the whole day is its own.
    const [a, b] = await Promise.all([
      run(observables('dns', 12, 'clientA'), options),
      run(observables('dns', 12, 'clientB'), options),
    ]);
    expect(a.stats.lookedUp + b.stats.lookedUp).toBe(10);
    expect(a.stats.stopReason).toBe('daily quota exhausted');
    expect(b.stats.stopReason).toBe('daily quota exhausted');
    expect(server.stats().itemsLookedUp).toBe(10);
  });

  it('v3: says monthly when the month runs out first', async () => {
    const { options } = await paced({ perDay: 100, perMonth: 6 });
    const { stats, results } = await run(observables('ipv4', 9, 'month'), options);
    expect(stats.stopReason).toBe('monthly quota exhausted');
    // 5 lookups and the overall_quotas request.
    expect(byStatus(results)['NotSubmitted: monthly quota exhausted']).toBe(4);
  });

  it('v2: a refusal that persists over a whole minute window means the day is spent', async () => {
    const { server, options } = await paced({ perDay: 10 }, { api: 'v2' });
    const { stats, results } = await run(observables('md5_hash', 30, 'v2day'), options);
    expect(stats.stopReason).toBe('daily quota exhausted');
    // Two batches of 4 fit; a batch of 4 is refused whole with 2 left.
    expect(stats.lookedUp).toBe(8);
    expect(byStatus(results)['NotSubmitted: daily quota exhausted']).toBe(22);
    expect(server.stats().quotaRefusals).toBeGreaterThanOrEqual(3);
  });

  it('an unlimited day marked spent by persistent refusals ends cleanly (no NaN wait)', async () => {
    // A premium-tier client (no daily limit, batches of 25) against a server on public limits: every batch is
    // refused whole, the refusal persists, and the day is taken for spent. Infinity − Infinity once made the
    // limiter sleep NaN ms, which ended the run with "Invalid time value".
    const { options } = await paced({}, { api: 'v2', tier: 'premium' });
    const { stats, results } = await run(observables('md5_hash', 60, 'nan'), options);
    expect(stats.stopReason).toBe('daily quota exhausted');
    expect(results.size).toBe(60);
    expect(stats.notSubmitted + stats.lookedUp).toBe(60);
  });

  it('answers from `before` what it can after the stop', async () => {
    // One lookup and the overall_quotas request.
    const { options } = await paced({ perDay: 2 });
    const input = observables('dns', 5, 'after');
    const cached = input[4] as Observable;
    const { results } = await run(input, options, {
      before: (item) =>
        item.key === cached.key ? { ...failedResult('Success'), responseCode: 1, cacheHit: true } : undefined,
    });
    expect(resultOf(results, cached).status).toBe('Success');
    expect(byStatus(results)['NotSubmitted: daily quota exhausted']).toBe(3);
  });
});

describe('faults', () => {
  const kinds = ['tooManyRequests', 'transient', 'deadline', 'reset', 'slow', 'truncated', 'malformed'] as const;
  const cases = (['v3', 'v2'] as const).flatMap((api) => kinds.map((kind) => [api, kind] as const));

  it.each(cases)('%s %s: retried until every observable has its answer', async (api, kind) => {
    const { logger, text } = recordingLogger();
    const { server, options } = await paced(
      { unlimited: true, faults: { [kind]: 0.3, slowDelayMs: 300 }, seed: 11 },
      // Only the slow fault needs a short timeout; a loaded test machine must not time out normal replies.
      { api, tier: 'premium', concurrency: 4, maxRetries: 12, timeoutMs: kind === 'slow' ? 100 : 10_000, logger },
    );
    const input = [
      ...observables('sha256_hash', 12, kind),
      ...observables('url', 8, kind),
      ...observables('dns', 6, kind),
      ...observables('ipv4', 6, kind),
    ];
    const { stats, results } = await run(input, options);
    const statuses = byStatus(results);
    expect(Object.keys(statuses).every((status) => status === 'Success' || status === 'NotFound')).toBe(true);
    expect(server.stats().faultsInjected).toBeGreaterThan(0);
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.stopReason).toBe('complete');
    expect(text()).not.toContain(KEY);
  });

  it('gives up after maxRetries: Failed with the VT code', async () => {
    const { options } = await paced({ unlimited: true, faults: { transient: 1 } }, { maxRetries: 2 });
    const { stats, results } = await run(observables('dns', 2, 'giveup'), options);
    expect(byStatus(results)).toEqual({ 'Failed: TransientError': 2 });
    expect(stats.requests).toBe(1 + 2 * 3);
    expect(stats.retries).toBe(4);
  });

  it('gives up on a network failure with the error’s code', async () => {
    const { options } = await paced({ unlimited: true, faults: { reset: 1 } }, { maxRetries: 1 });
    const { results } = await run(observables('dns', 1, 'reset'), options);
    expect([...results.values()][0]?.status).toMatch(/^Failed: network error E[A-Z]+$/);
  });
});

describe('authentication and interruption', () => {
  it.each(['v3', 'v2'] as const)(
    '%s: a refused key ends the run with one clear ApiError, the key nowhere',
    async (api) => {
      const server = await emulator({ keys: [{ key: 'the-only-good-key', tier: 'public' }] });
      const { logger, text } = recordingLogger();
      const error = await lookupObservables(
        observables('md5_hash', 3, 'auth'),
        { api, apiKey: KEY, baseUrl: server.url, logger },
        { onResult: () => undefined },
      ).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toMatchObject({ code: 'AUTHENTICATION', name: 'ApiError', status: api === 'v3' ? 401 : 403 });
      expect(String((error as Error).message)).not.toContain(KEY);
      expect(text()).not.toContain(KEY);
    },
  );

  it('a hook that throws ends the run with its error, after the workers have stopped', async () => {
    const server = await emulator({ unlimited: true });
    const failure = new Error('cache is full');
    let replies = 0;
    const promise = lookupObservables(
      observables('dns', 40, 'hook'),
      { apiKey: KEY, baseUrl: server.url, tier: 'premium', concurrency: 4 },
      {
        onReply: () => {
          if (++replies === 5) throw failure;
        },
        onResult: () => undefined,
      },
    );
    await expect(promise).rejects.toBe(failure);
    // The workers stopped: far fewer than 40 lookups were made.
    expect(server.stats().byEndpoint['v3/domains']).toBeLessThan(12);
  });

  it('an input that throws ends the run with its error', async () => {
    const server = await emulator({ unlimited: true });
    const failure = new Error('input unreadable');
    async function* input(): AsyncGenerator<Observable> {
      yield* observables('dns', 3, 'input');
      // The failure comes from an awaited read, as a file's would.
      await Promise.reject(failure);
    }
    const results: string[] = [];
    await expect(
      lookupObservables(
        input(),
        { apiKey: KEY, baseUrl: server.url, tier: 'premium' },
        { onResult: (item) => results.push(item.key) },
      ),
    ).rejects.toBe(failure);
    expect(results.length).toBeLessThanOrEqual(3);
  });

  it('an abort stops submitting: the rest are NotSubmitted: interrupted', async () => {
    const controller = new AbortController();
    const { options } = await paced({}, { signal: controller.signal });
    let seen = 0;
    const { stats, results } = await run(observables('dns', 10, 'abort'), options, {
      onResult: () => {
        if (++seen === 3) controller.abort();
      },
    });
    expect(stats.stopReason).toBe('interrupted');
    expect(stats.lookedUp).toBe(3);
    expect(byStatus(results)['NotSubmitted: interrupted']).toBe(7);
  });
});
