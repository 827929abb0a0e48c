// The lookup stage against the emulator: (a) quota utilisation (every request counted, as the emulator counts
// them) with a fast virtual clock shared by both sides,
// (b) HTTP requests per distinct observable for v2 hashes and URLs, (c) premium throughput, --concurrency 32,
// against an unthrottled emulator running in its own process (as VirusTotal does not share our CPU).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { once } from 'node:events';
import { startEmulator } from '../dist/emulator/index.js';
import { lookupObservables } from '../dist/vt/lookup-stage.js';

const here = dirname(fileURLToPath(import.meta.url));
const KEY = 'bench-key-0123456789abcdef';

function hex(seed, length) {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

function observables(type, count, seed) {
  return Array.from({ length: count }, (_, i) => {
    const value =
      type === 'url'
        ? `http://bench-${seed}-${i}.example.net/p/${i}`
        : type === 'dns'
          ? `bench-${seed}-${i}.example.org`
          : type === 'ipv4'
            ? `8.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
            : hex(`${seed}${i}`, 64);
    return { type, value, key: `${type}:${value}` };
  });
}

function virtualClock() {
  let time = Date.UTC(2026, 10, 22, 10, 0, 0);
  return {
    now: () => time,
    sleep: async (ms) => {
      time += Math.max(0, ms);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const number = (value, digits = 0) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function utilisation(label, api, tier, perMinute, concurrency, count, type) {
  const clock = virtualClock();
  const emulator = await startEmulator({
    keys: [{ key: KEY, tier }],
    perMinute,
    perDay: Infinity,
    perMonth: Infinity,
    now: clock.now,
  });
  try {
    const start = clock.now();
    let results = 0;
    const stats = await lookupObservables(
      observables(type, count, `u${label}`),
      {
        api,
        apiKey: KEY,
        baseUrl: emulator.url,
        tier,
        perMinute,
        perDay: Infinity,
        perMonth: Infinity,
        concurrency,
        clock,
      },
      { onResult: () => results++ },
    );
    // The last requests open a window that ends a minute later: the run used (elapsed + 1) minutes of quota.
    const minutes = (clock.now() - start) / 60_000 + 1;
    // Every slot the emulator charged to its minute window: lookups (a v2 batch item each) and quota queries.
    const served = emulator.stats();
    const quotaQueries = served.byEndpoint['v3/overall_quotas'] ?? 0;
    const slots = served.itemsLookedUp + quotaQueries;
    const ratio = slots / minutes / perMinute;
    console.log(
      `quota utilisation ${label}: ${number(ratio, 3)} of every request slot (${number(results)} lookups + ${quotaQueries} quota ` +
        `quer${quotaQueries === 1 ? 'y' : 'ies'} in ${number(minutes, 1)} virtual min at ${number(perMinute)}/min, ` +
        `${served.quotaRefusals} 429/204, ${stats.requests} requests; lookups alone ${number(results / minutes / perMinute, 3)})`,
    );
  } finally {
    await emulator.close();
  }
}

// Issue 13: a public key's utilisation when the run also pages resolutions, asks the context of hits (its first
// `urls` refused with a 403, which still takes a minute slot), submits the URLs VirusTotal does not know and
// polls their analyses. Every request the emulator saw took a slot of its minute window (v3: one each).
export async function utilisationWithExtras(count) {
  const clock = virtualClock();
  const perMinute = 4;
  const emulator = await startEmulator({
    keys: [{ key: KEY, tier: 'public' }],
    perDay: Infinity,
    perMonth: Infinity,
    notFoundRate: 0.3,
    analysisDelayMs: 45_000,
    now: clock.now,
  });
  try {
    const start = clock.now();
    const input = [...observables('dns', count / 2, 'x'), ...observables('url', count / 2, 'x')];
    const stats = await lookupObservables(
      input,
      {
        apiKey: KEY,
        baseUrl: emulator.url,
        tier: 'public',
        perDay: Infinity,
        perMonth: Infinity,
        resolutions: true,
        context: true,
        submitUnknownUrls: true,
        analysisPollMs: 30_000,
        analysisTimeoutMs: 300_000,
        clock,
      },
      { onResult: () => undefined },
    );
    const minutes = (clock.now() - start) / 60_000 + 1;
    const served = emulator.stats();
    const ratio = served.requests / minutes / perMinute;
    console.log(
      `quota utilisation v3 public with --resolutions --context --submit-unknown-urls: ${number(ratio, 3)} of every request slot ` +
        `(${number(served.requests)} requests in ${number(minutes, 1)} virtual min at 4/min: ${number(input.length)} lookups, ` +
        `${stats.resolutionPages} resolutions pages, ${stats.contextRequests} context (${served.byStatus['403'] ?? 0} refused 403), ` +
        `${stats.submissions} submissions, ${stats.analysisPolls} polls, ${stats.queued} queued; ${served.quotaRefusals} 429)`,
    );
  } finally {
    await emulator.close();
  }
}

async function requestsPerObservable(label, tier, type, count) {
  const clock = virtualClock();
  // Day and month unlimited: the figure is about batching, not about the budget.
  const emulator = await startEmulator({
    keys: [{ key: KEY, tier }],
    perDay: Infinity,
    perMonth: Infinity,
    now: clock.now,
  });
  try {
    const input = observables(type, count, `r${label}`);
    const stats = await lookupObservables(
      input,
      { api: 'v2', apiKey: KEY, baseUrl: emulator.url, tier, perDay: Infinity, perMonth: Infinity, clock },
      { onResult: () => undefined },
    );
    console.log(
      `v2 requests per distinct observable, ${label}: ${number(stats.requests / input.length, 3)} ` +
        `(${stats.requests} requests for ${number(input.length)}, ${emulator.stats().quotaRefusals} 429/204)`,
    );
  } finally {
    await emulator.close();
  }
}

/** The emulator in a child process: it prints its URL, and stops when its stdin closes. */
async function emulatorProcess() {
  const script = `
    const { startEmulator } = await import(${JSON.stringify(pathToFileURL(join(here, '..', 'dist', 'emulator', 'index.js')).href)});
    const emulator = await startEmulator({ tier: 'premium', unlimited: true });
    process.stdout.write(emulator.url + '\\n');
    process.stdin.resume();
    process.stdin.on('end', async () => { await emulator.close(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  while (!output.includes('\n')) {
    const [chunk] = await once(child.stdout, 'data');
    output += chunk.toString();
  }
  return {
    url: output.trim(),
    close: async () => {
      child.stdin.end();
      await once(child, 'exit');
    },
  };
}

async function throughput(api, count) {
  const emulator = await emulatorProcess();
  try {
    const options = { api, apiKey: KEY, baseUrl: emulator.url, tier: 'premium', perMinute: Infinity, concurrency: 32 };
    const input = [...observables('ipv4', count / 2, 't'), ...observables('sha256_hash', count / 2, 't')];
    // Warm-up (connections, JIT). The emulator keeps only the last 2,000 objects it built, so the measured
    // pass still builds most of them again, as a real run's distinct observables do: the emulator's CPU is
    // shared with the client on 2 cores, and the client's CPU per lookup is the figure to compare.
    await lookupObservables(input, options, { onResult: () => undefined });
    const started = performance.now();
    const cpu = process.cpuUsage();
    const stats = await lookupObservables(input, options, { onResult: () => undefined });
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    // The client's own CPU per lookup says what one core can drive, whatever else the machine is running.
    const cpuMicros = (used.user + used.system) / stats.lookedUp;
    console.log(
      `premium throughput ${api}, concurrency 32, unthrottled emulator: ${number(stats.lookedUp / seconds)} lookups/s ` +
        `(${number(stats.lookedUp)} in ${number(seconds, 2)} s, ${number(stats.requests)} requests, keep-alive; ` +
        `client CPU ${number(cpuMicros)} µs/lookup = ${number(1e6 / cpuMicros)} lookups/s per core)`,
    );
  } finally {
    await emulator.close();
  }
}

export default async function run() {
  // 500 lookups: a public key's whole day. The overall_quotas request at the start takes one slot of it.
  await utilisation('v3 public, a day of 500', 'v3', 'public', 4, 1, 500, 'dns');
  await utilisation('v2 public, hashes', 'v2', 'public', 4, 1, 960, 'sha256_hash');
  await utilisation('v3 premium', 'v3', 'premium', 600, 8, 6_000, 'ipv4');
  await utilisationWithExtras(400);
  await requestsPerObservable('hashes, public (batch 4)', 'public', 'sha256_hash', 1_000);
  await requestsPerObservable('URLs, public (batch 4)', 'public', 'url', 1_000);
  await requestsPerObservable('hashes, premium (batch 25)', 'premium', 'sha256_hash', 2_500);
  await throughput('v3', 12_000);
  await throughput('v2', 12_000);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
