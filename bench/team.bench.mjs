// A team on one premium key (issue 15): 4 CLI processes × 2,000 observables, overlapping (5,000 distinct), at
// a premium rate against one emulator in its own process that enforces that rate for the key. Separate
// backends (each process its own SQLite cache and its own limiter, as before) against shared ones (one
// PostgreSQL cache, one Redis quota): requests, 429s and wall time. Needs PostgreSQL and Redis on 127.0.0.1
// (IOC_ENRICH_TEST_PG_URL, IOC_ENRICH_TEST_REDIS_URL); says so and skips without them.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createClient } from 'redis';
import { startEmulatorProcess } from './enrich.bench.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'dist', 'cli', 'main.js');
const PG_URL = process.env.IOC_ENRICH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.IOC_ENRICH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PROCESSES = 4;
const PER_PROCESS = 2_000;
const STRIDE = 1_000;
const RATE = 6_000;
const number = (value, digits = 0) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function startEmulator() {
  return startEmulatorProcess(['--tier', 'premium', '--per-minute', String(RATE), '--per-day', '100000000']);
}

function runCli(args, home) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: home, VT_API_KEY: 'team-bench-key' },
      cwd: home,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`enrich exited ${code}: ${stderr.slice(-300)}`)),
    );
  });
}

async function reachable() {
  try {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
    await client.connect();
    await client.end();
    const redis = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false, connectTimeout: 2_000 } });
    redis.on('error', () => undefined);
    await redis.connect();
    redis.destroy();
    return undefined;
  } catch (error) {
    return error.message;
  }
}

async function round(work, label, backend) {
  const emulator = await startEmulator();
  try {
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: PROCESSES }, (_, p) => {
        const home = join(work, `${label}-${p}`);
        mkdirSync(home, { recursive: true });
        const input = join(home, 'input.csv');
        const lines = Array.from(
          { length: PER_PROCESS },
          (_, i) => `${i},seen bench-${p * STRIDE + i}.team.example.com`,
        );
        writeFileSync(input, `id,message\n${lines.join('\n')}\n`);
        const args = ['enrich', '--vt-url', emulator.url, '--tier', 'premium', '--rate', String(RATE)];
        args.push('--concurrency', '16', '--log-level', 'warn', ...backend(home), input, '-o', join(home, 'out.csv'));
        return runCli(args, home);
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const stats = await (await fetch(`${emulator.url}/__emulator/stats`)).json();
    return { seconds, stats };
  } finally {
    emulator.stop();
  }
}

export default async function run() {
  const missing = await reachable();
  if (missing !== undefined) {
    console.log(`team: skipped (PostgreSQL or Redis not reachable: ${missing})`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'ioc-team-bench-'));
  const tag = `ioc_team_bench_${process.pid}`;
  try {
    const distinct = (PROCESSES - 1) * STRIDE + PER_PROCESS;
    const separate = await round(work, 'separate', (home) => ['--cache', join(home, 'cache.db')]);
    const cache = new URL(PG_URL);
    cache.searchParams.set('schema', tag);
    const shared = await round(work, 'shared', () => [
      '--cache',
      cache.toString(),
      '--quota-store',
      `${REDIS_URL}?prefix=${tag}`,
    ]);
    for (const [label, { seconds, stats }] of [
      ['separate backends (own SQLite cache and limiter each)', separate],
      ['shared PostgreSQL cache + Redis quota', shared],
    ]) {
      const lookups = Object.entries(stats.byEndpoint)
        .filter(([endpoint]) => endpoint === 'v3/domains')
        .reduce((sum, [, count]) => sum + count, 0);
      console.log(
        `team, ${PROCESSES} processes × ${number(PER_PROCESS)} observables (${number(distinct)} distinct) at ${number(RATE)}/min, ${label}: ${number(stats.requests)} requests (${number(lookups)} lookups, ${number(stats.byStatus['429'] ?? 0)} × 429) in ${number(seconds, 1)} s`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${tag}" CASCADE`);
    await client.end();
    const redis = createClient({ url: REDIS_URL });
    await redis.connect();
    const keys = await redis.keys(`${tag}:*`);
    if (keys.length > 0) await redis.del(keys);
    redis.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
