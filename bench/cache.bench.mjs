// Cache lookups per second (target >= 50,000) on a file cache of realistic VirusTotal v3 replies (IP and domain
// objects of ~2.5 KB, file objects of ~15 KB with 70 engine results), plus the rate of committed puts; then the
// same on the shared PostgreSQL backend when one answers (IOC_ENRICH_TEST_PG_URL, default the local `test`
// database, in a schema of its own that is dropped afterwards). The cache file goes to os.tmpdir() and is deleted.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresResultCache, SqliteResultCache } from '../dist/cache/index.js';

const ENTRIES = 40_000;
const LOOKUPS = 200_000;

const engines = (count, verdict) =>
  Object.fromEntries(
    Array.from({ length: count }, (_, index) => [
      `Engine${index}`,
      {
        category: verdict(index),
        engine_name: `Engine${index}`,
        engine_version: '1.2.3.4',
        engine_update: '20260101',
        method: 'blacklist',
        result: verdict(index) === 'malicious' ? 'Trojan.Generic' : null,
      },
    ]),
  );

function hex(seed, length) {
  let text = '';
  for (let index = 0; text.length < length; index++)
    text += ((seed * 2654435761 + index * 40503) >>> 0).toString(16).padStart(8, '0');
  return text.slice(0, length);
}

/** The i-th reply: every tenth a file (looked up by md5), the rest IPs and domains. */
function replyFor(index, fetchedAt) {
  if (index % 10 === 0) {
    const malicious = index % 3;
    return {
      api: 'v3',
      type: 'md5_hash',
      value: hex(index, 32),
      fetchedAt,
      body: {
        data: {
          type: 'file',
          id: hex(index, 64),
          attributes: {
            md5: hex(index, 32),
            sha1: hex(index + 1, 40),
            sha256: hex(index, 64),
            size: 12345,
            names: ['a.exe', 'b.dll'],
            last_analysis_stats: { harmless: 0, malicious, suspicious: 0, undetected: 70 - malicious },
            last_analysis_results: engines(70, (engine) => (engine < malicious ? 'malicious' : 'undetected')),
            last_analysis_date: 1767225600,
            reputation: -malicious,
            tags: ['peexe'],
          },
        },
      },
    };
  }
  const type = index % 2 === 0 ? 'ipv4' : 'dns';
  const value =
    type === 'ipv4' ? `203.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}` : `host-${index}.example.com`;
  return {
    api: 'v3',
    type,
    value,
    fetchedAt,
    body: {
      data: {
        type: type === 'ipv4' ? 'ip_address' : 'domain',
        id: value,
        attributes: {
          last_analysis_stats: {
            harmless: 60,
            malicious: index % 7 === 0 ? 2 : 0,
            suspicious: 0,
            undetected: 10,
            timeout: 0,
          },
          last_analysis_results: engines(20, () => 'harmless'),
          reputation: 0,
          country: 'NL',
          as_owner: 'Example AS',
          asn: 64500,
          network: '203.0.0.0/8',
          tags: [],
        },
      },
    },
  };
}

const rate = (count, ns) => Math.round(count / (Number(ns) / 1e9)).toLocaleString('en-US');

/**
 * Stores `replies` as a run does: a few per event-loop turn (a premium run's concurrency, 32), committed per turn;
 * the nanoseconds until the last is committed.
 */
async function putAsARunDoes(cache, replies) {
  const started = process.hrtime.bigint();
  for (let index = 0; index < replies.length; index += 32) {
    for (const reply of replies.slice(index, index + 32)) cache.put(reply);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await cache.flush();
  return process.hrtime.bigint() - started;
}

export default async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'ioc-cache-bench-'));
  try {
    const path = join(dir, 'cache.db');
    const cache = SqliteResultCache.open(path);
    const now = Date.now();
    const replies = Array.from({ length: ENTRIES }, (_, index) => replyFor(index, now - (index % 1000) * 1000));
    const putNs = await putAsARunDoes(cache, replies);
    let started = process.hrtime.bigint();
    const keys = replies.map((reply) => [reply.type, reply.value]);
    // Lookups in a shuffled order (a run asks in input order, not in insertion order).
    const order = Array.from({ length: LOOKUPS }, (_, index) => (index * 7919) % ENTRIES);

    let hits = 0;
    const cpu = process.cpuUsage();
    started = process.hrtime.bigint();
    for (const index of order) {
      const [type, value] = keys[index];
      if ((await cache.get('v3', type, value)) !== undefined) hits++;
    }
    const getNs = process.hrtime.bigint() - started;
    const { user, system } = process.cpuUsage(cpu);

    let bodies = 0;
    started = process.hrtime.bigint();
    for (const index of order.slice(0, LOOKUPS / 4)) {
      const [type, value] = keys[index];
      const entry = await cache.get('v3', type, value);
      if (entry !== undefined && entry.reply.body !== null) bodies++;
    }
    const parseNs = process.hrtime.bigint() - started;

    started = process.hrtime.bigint();
    let aliasHits = 0;
    const files = keys.filter(([type]) => type === 'md5_hash').map((_, index) => hex(index * 10, 64));
    for (let round = 0; round < 10; round++)
      for (const sha256 of files) if ((await cache.get('v3', 'sha256_hash', sha256)) !== undefined) aliasHits++;
    const aliasNs = process.hrtime.bigint() - started;

    let misses = 0;
    started = process.hrtime.bigint();
    for (let index = 0; index < LOOKUPS / 4; index++)
      if ((await cache.get('v3', 'dns', `absent-${index}.example.org`)) === undefined) misses++;
    const missNs = process.hrtime.bigint() - started;

    // The same replies committed one by one, as before issue 13 §5, into a file of their own: the comparison.
    const single = SqliteResultCache.open(join(dir, 'single.db'));
    const SINGLE = 8_000;
    started = process.hrtime.bigint();
    for (const reply of replies.slice(0, SINGLE)) {
      single.put(reply);
      await single.flush();
    }
    const singleNs = process.hrtime.bigint() - started;
    await single.close();

    // What the pipeline does: every distinct observable of a run in one call.
    started = process.hrtime.bigint();
    const many = await cache.getMany(
      'v3',
      order.map((index) => ({ type: keys[index][0], value: keys[index][1] })),
    );
    const manyNs = process.hrtime.bigint() - started;
    if (many.some((entry) => entry === undefined)) throw new Error('getMany missed');

    const size = statSync(path).size;
    await cache.close();
    if (hits !== LOOKUPS || bodies !== LOOKUPS / 4 || aliasHits !== files.length * 10 || misses !== LOOKUPS / 4) {
      throw new Error(`unexpected cache answers: ${hits} ${bodies} ${aliasHits} ${misses}`);
    }
    console.log(
      `cache lookups: ${rate(LOOKUPS, getNs)} /s (fresh hits from a ${(size / 1048576).toFixed(0)} MiB file of ${ENTRIES.toLocaleString('en-US')} v3 replies, random order; target >= 50,000; ${rate(LOOKUPS, (user + system) * 1000)} per CPU-second, load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs)`,
    );
    console.log(
      `cache lookups + reply JSON parsed: ${rate(LOOKUPS / 4, parseNs)} /s (what a hit costs when its row is normalised)`,
    );
    console.log(
      `cache lookups by another hash of a file: ${rate(files.length * 10, aliasNs)} /s (sha256 of files stored under their md5)`,
    );
    console.log(`cache misses: ${rate(LOOKUPS / 4, missNs)} /s`);
    console.log(`cache lookups, all keys of a run at once (getMany): ${rate(LOOKUPS, manyNs)} /s`);
    console.log(
      `cache puts: ${rate(ENTRIES, putNs)} /s (32 replies per event-loop turn, one transaction per turn, WAL, synchronous=NORMAL); one commit per reply, same machine and run: ${rate(SINGLE, singleNs)} /s`,
    );
    await postgres(replies, keys, order);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The shared backend: puts and lookups against a real PostgreSQL, when one answers. */
async function postgres(replies, keys, order) {
  const base = process.env.IOC_ENRICH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `ioc_bench_${process.pid}`;
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  let cache;
  try {
    cache = await PostgresResultCache.open(url.toString(), { poolSize: 8 });
  } catch (error) {
    console.log(`PostgreSQL cache: skipped (${error.message})`);
    return;
  }
  try {
    const putNs = await putAsARunDoes(cache, replies);
    let started = process.hrtime.bigint();
    const asked = order.slice(0, 100_000).map((index) => ({ type: keys[index][0], value: keys[index][1] }));
    started = process.hrtime.bigint();
    const entries = await cache.getMany('v3', asked);
    const manyNs = process.hrtime.bigint() - started;
    if (entries.some((entry) => entry === undefined)) throw new Error('PostgreSQL getMany missed');
    started = process.hrtime.bigint();
    const single = asked.slice(0, 2_000);
    await Promise.all(single.map(({ type, value }) => cache.get('v3', type, value)));
    const singleNs = process.hrtime.bigint() - started;
    console.log(
      `PostgreSQL cache puts: ${rate(replies.length, putNs)} /s (same replies, 32 per event-loop turn, one transaction per turn)`,
    );
    console.log(
      `PostgreSQL cache lookups: ${rate(asked.length, manyNs)} /s with bodies (getMany, 5,000 keys a query); ${rate(single.length, singleNs)} /s one key a query, 8 connections`,
    );
  } finally {
    await cache.close();
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
