/**
 * Issue 13 §3 and §4 in the lookup stage, against the emulator over real HTTP on a shared virtual clock:
 * context relationships of hits (`context`), and unknown URLs submitted and polled (`submitUnknownUrls`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import type { LookupResult, Observable, VtReply } from '../../src/types.js';
import type { LookupOptions } from '../../src/vt/lookup-stage.js';
import { virtualClock, type VirtualClock } from '../support/virtual-clock.js';
import { byStatus, KEY, observable, observables, recordingLogger, run } from './support.js';

const emulators: Emulator[] = [];

afterEach(async () => {
  await Promise.all(emulators.splice(0).map((emulator) => emulator.close()));
});

async function paced(
  emulatorOptions: EmulatorOptions,
  clientOptions: Partial<LookupOptions> = {},
): Promise<{ server: Emulator; clock: VirtualClock; options: LookupOptions }> {
  const clock = virtualClock();
  const server = await startEmulator({ now: () => clock.now(), ...emulatorOptions });
  emulators.push(server);
  return { server, clock, options: { apiKey: KEY, baseUrl: server.url, clock, ...clientOptions } };
}

function resultOf(results: Map<string, LookupResult>, item: Observable): LookupResult {
  const result = results.get(item.key);
  if (result === undefined) throw new Error(`no result for ${item.key}`);
  return result;
}

// Fixtures (fixtures/vt): a malicious file, domain and IP, a clean domain, and a URL the emulator does not know.
const MALICIOUS_FILE = observable('sha256_hash', '339c2570f5872b6c6755c6c3867413f64be48b09d3393f882d0f6eaa6a2e6306');
const MALICIOUS_DOMAIN = observable('dns', 'malware.example.com');
const MALICIOUS_IP = observable('ipv4', '45.33.100.66');
const CLEAN_DOMAIN = observable('dns', 'www.example.org');
const UNKNOWN_URL = observable('url', 'https://unknown.example.org/never-seen');
const UNKNOWN_FILE = observable('md5_hash', '5265195a47e18ddeee94c5231f50c0be');

describe('context of hits (v3)', () => {
  it('an Enterprise-capable key: one more request per hit fills the context columns and DetectedUrls', async () => {
    const { server, options } = await paced(
      { keys: [{ key: KEY, tier: 'premium' }], unlimited: true },
      { tier: 'premium', context: true },
    );
    const input = [MALICIOUS_FILE, MALICIOUS_DOMAIN, MALICIOUS_IP, CLEAN_DOMAIN];
    const replies: VtReply[] = [];
    const { stats, results } = await run(input, options, { onReply: (_item, reply) => replies.push(reply) });
    expect(byStatus(results)).toEqual({ Success: 4 });
    // The clean domain (Positives 0) is no hit: no context request for it.
    expect(stats.contextRequests).toBe(3);
    expect(server.stats().byEndpoint).toMatchObject({ 'v3/files': 2, 'v3/domains': 3, 'v3/ip_addresses': 2 });
    const file = resultOf(results, MALICIOUS_FILE);
    expect(file.contactedDomains).toMatch(/^[a-z0-9.-]+(, [a-z0-9.-]+)*$/);
    expect(file.contactedIps).toMatch(/^\d+\.\d+\.\d+\.\d+(, \d+\.\d+\.\d+\.\d+)*$/);
    expect(file.contactedUrls).toMatch(/^http:\/\//);
    expect(file.communicatingFiles).toBe('');
    const domain = resultOf(results, MALICIOUS_DOMAIN);
    expect(domain.communicatingFiles).toMatch(/^[0-9a-f]{64}(, [0-9a-f]{64})*$/);
    // The fixture's hosted URLs: the malicious one is listed, the clean one carries no verdict and stays.
    expect(domain.detectedUrls).toContain('http://malware.example.com/payload.exe');
    expect(domain.contactedDomains).toBe('');
    expect(resultOf(results, CLEAN_DOMAIN).communicatingFiles).toBe('');
    // In the cache with the reply: the stored body holds the relationships, so a replay reads the same.
    const stored = replies.find((reply) => reply.value === MALICIOUS_DOMAIN.value);
    expect(JSON.stringify(stored?.body)).toContain('"communicating_files"');
  });

  it('a public key: `urls` is refused (403), the rest asked again, the cell empty and noted once', async () => {
    const { server, options } = await paced({ keys: [{ key: KEY, tier: 'public' }], unlimited: true });
    const { logger, text } = recordingLogger();
    const input = [MALICIOUS_DOMAIN, MALICIOUS_IP, ...observables('dns', 6, 'ctx')];
    const { stats, results } = await run(input, { ...options, context: true, contextMinPositives: 0, logger });
    // No failed row: the objects' own results stand.
    expect(byStatus(results)).toEqual({ Success: input.length });
    expect(server.stats().byStatus['403']).toBe(2);
    expect(stats.contextRefused).toEqual(['urls of domains: ForbiddenError', 'urls of ip_addresses: ForbiddenError']);
    expect(text().match(/does not give this relationship/g)).toHaveLength(2);
    // Every domain and IP: one context request, plus one retry of the first of each collection.
    expect(stats.contextRequests).toBe(input.length + 2);
    for (const item of input) {
      expect(resultOf(results, item).detectedUrls).toBe('');
      expect(resultOf(results, item).resolvedIps + resultOf(results, item).resolvedDomains).not.toBe('');
    }
    expect(resultOf(results, MALICIOUS_IP).communicatingFiles).toMatch(/^[0-9a-f]{64}/);
  });

  it('without --context: no relationship beyond resolutions is asked, the columns stay empty', async () => {
    const { server, options } = await paced({ unlimited: true });
    const { stats, results } = await run([MALICIOUS_FILE, MALICIOUS_DOMAIN], options);
    expect(stats.contextRequests).toBe(0);
    expect(stats.requests).toBe(3);
    expect(server.stats().byEndpoint['v3/files']).toBe(1);
    expect(resultOf(results, MALICIOUS_FILE).contactedDomains).toBe('');
    expect(resultOf(results, MALICIOUS_DOMAIN).communicatingFiles).toBe('');
  });

  it('is refused for v2, which has no relationships', async () => {
    await expect(run([MALICIOUS_FILE], { apiKey: KEY, api: 'v2', context: true })).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
  });
});

describe('unknown URLs submitted (v3)', () => {
  it('submits, polls until completed, and the row carries the verdict, noted as submitted', async () => {
    // Unthrottled, so that polls go out exactly when due (a public key's pacing would delay them).
    const { server, clock, options } = await paced(
      { unlimited: true, analysisDelayMs: 50_000 },
      { tier: 'premium', submitUnknownUrls: true, analysisPollMs: 20_000, analysisTimeoutMs: 300_000 },
    );
    const replies: VtReply[] = [];
    const start = clock.now();
    const { stats, results } = await run([UNKNOWN_URL, UNKNOWN_FILE], options, {
      onReply: (_item, reply) => replies.push(reply),
    });
    const url = resultOf(results, UNKNOWN_URL);
    expect(url).toMatchObject({ status: 'Success', responseCode: 1, submitted: true });
    expect(url.verboseMsg).toBe('Submitted for analysis in this run: analysis completed');
    expect(typeof url.positives).toBe('number');
    expect(url.total).toBeGreaterThan(0);
    // Never a file: the unknown hash stays NotFound.
    expect(resultOf(results, UNKNOWN_FILE)).toMatchObject({ status: 'NotFound', submitted: false });
    // Polls at 20 s, 40 s and 60 s: completed at the third (the analysis takes 50 s).
    expect(stats).toMatchObject({ submissions: 1, analysisPolls: 3, queued: 0 });
    expect(server.stats().byEndpoint).toMatchObject({ 'v3/submit': 1, 'v3/analyses': 3, 'v3/urls': 1 });
    expect(clock.now() - start).toBeGreaterThanOrEqual(60_000);
    // The cache gets the verdict (a URL object), never the NotFound that preceded the submission.
    const urlReplies = replies.filter((reply) => reply.type === 'url');
    expect(urlReplies).toHaveLength(1);
    expect(urlReplies[0]?.body).not.toBeNull();
    // VirusTotal knows the URL now.
    const again = await run([UNKNOWN_URL], { ...options, submitUnknownUrls: false });
    expect(resultOf(again.results, UNKNOWN_URL)).toMatchObject({ status: 'Success', submitted: false });
  });

  it('an analysis not finished within the timeout is Queued, and nothing of it is cached', async () => {
    const { options } = await paced(
      { unlimited: true, analysisDelayMs: 600_000 },
      { tier: 'premium', submitUnknownUrls: true, analysisPollMs: 30_000, analysisTimeoutMs: 90_000 },
    );
    const replies: VtReply[] = [];
    const { stats, results } = await run([UNKNOWN_URL], options, { onReply: (_item, reply) => replies.push(reply) });
    expect(resultOf(results, UNKNOWN_URL)).toMatchObject({
      status: 'Queued',
      responseCode: -2,
      submitted: true,
      scanId: expect.stringMatching(/^u-[0-9a-f]{64}-\d+$/) as unknown,
    });
    expect(stats).toMatchObject({ submissions: 1, analysisPolls: 3, queued: 1, lookedUp: 1 });
    expect(replies).toHaveLength(0);
  });

  it('an interrupt while an analysis runs leaves it Queued (not NotSubmitted: it was submitted)', async () => {
    const controller = new AbortController();
    const { options } = await paced(
      { unlimited: true, analysisDelayMs: 600_000 },
      {
        tier: 'premium',
        concurrency: 1,
        submitUnknownUrls: true,
        analysisPollMs: 30_000,
        analysisTimeoutMs: 900_000,
        signal: controller.signal,
      },
    );
    const domain = observable('dns', 'after-the-url.example.com');
    const { stats, results } = await run([UNKNOWN_URL, domain], options, {
      onResult: (item) => {
        if (item.key === domain.key) controller.abort();
      },
    });
    expect(resultOf(results, UNKNOWN_URL)).toMatchObject({ status: 'Queued', submitted: true });
    expect(stats.stopReason).toBe('interrupted');
    expect(stats.queued).toBe(1);
  });

  it('without the flag a URL VirusTotal does not know is NotFound, and nothing is submitted', async () => {
    const { server, options } = await paced({});
    const { results } = await run([UNKNOWN_URL], options);
    expect(resultOf(results, UNKNOWN_URL).status).toBe('NotFound');
    expect(server.stats().byEndpoint['v3/submit']).toBeUndefined();
  });

  it('polls leave the other lookups their slots: a public key stays busy while analyses run', async () => {
    const { server, clock, options } = await paced(
      { notFoundRate: 0.5, analysisDelayMs: 40_000 },
      { submitUnknownUrls: true, analysisPollMs: 30_000, analysisTimeoutMs: 300_000 },
    );
    const input = [...observables('url', 12, 'busy'), ...observables('dns', 12, 'busy')];
    const start = clock.now();
    const { stats } = await run(input, options);
    expect(stats.submissions).toBeGreaterThan(0);
    expect(server.stats().quotaRefusals).toBe(0);
    // Every request in a minute window of 4: the run takes no more minutes than its requests need, plus one
    // poll interval at the end.
    const minutes = (clock.now() - start) / 60_000;
    expect(minutes).toBeLessThan(Math.ceil(stats.requests / 4) + 0.5);
  });
});

describe('unknown URLs submitted (v2)', () => {
  it('scan=1 queues them within the report batch; polls of the report until it has a verdict; 0 × 204', async () => {
    const { server, options } = await paced(
      { notFoundRate: 0.5, analysisDelayMs: 45_000 },
      { api: 'v2', submitUnknownUrls: true, analysisPollMs: 30_000, analysisTimeoutMs: 300_000 },
    );
    const input = [...observables('url', 8, 'v2sub'), UNKNOWN_URL];
    const { stats, results } = await run(input, options);
    expect(byStatus(results)).toEqual({ Success: input.length });
    expect(resultOf(results, UNKNOWN_URL)).toMatchObject({
      submitted: true,
      responseCode: 1,
      verboseMsg: 'Submitted for analysis in this run: analysis completed',
    });
    expect(typeof resultOf(results, UNKNOWN_URL).positives).toBe('number');
    expect(stats.submissions).toBeGreaterThan(0);
    // Each submitted URL is polled until its report has a verdict: at least once, and never past it.
    expect(stats.analysisPolls).toBeGreaterThanOrEqual(stats.submissions);
    expect(stats.queued).toBe(0);
    expect(server.stats().byEndpoint['v2/url/report']).toBe(stats.requests);
    expect(server.stats().quotaRefusals).toBe(0);
  });
});
