/**
 * The quota stores' contract, on the in-process store and on a real Redis; then what only Redis has: keys
 * named by a hash of the API key, leases of a process killed while holding slots, and Redis going away.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalQuotaStore, RedisQuotaStore, type QuotaGrant, type QuotaStore } from '../../src/quota/index.js';
import { systemClock } from '../../src/vt/options.js';
import type { RateLimits } from '../../src/vt/rate-limiter.js';
import { REDIS_URL, redisMissing, startOwnRedis, uniqueName, type OwnRedis } from '../support/services.js';

const ROOT = resolve(import.meta.dirname, '../..');
const KEY = 'shared-test-key';
const LIMITS: RateLimits = { perMinute: 3, perDay: Infinity, perMonth: Infinity };
const redisSkip = await redisMissing();

let prefix = '';
const open: Record<string, () => Promise<QuotaStore>> = {
  local: () => Promise.resolve(new LocalQuotaStore(systemClock)),
  Redis: () => RedisQuotaStore.open(`${REDIS_URL}?prefix=${prefix}`, { apiKey: KEY }),
};

async function redisKeys(): Promise<string[]> {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  try {
    return await client.keys(`${prefix}:*`);
  } finally {
    client.destroy();
  }
}

async function cleanRedis(url = REDIS_URL): Promise<void> {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length > 0) await client.del(keys);
  } finally {
    client.destroy();
  }
}

function lease(grant: QuotaGrant): { count: number; settle(counted: number): void } {
  if (!('lease' in grant)) throw new Error(`expected a lease, got ${JSON.stringify(grant)}`);
  return grant.lease;
}

describe.each([
  { name: 'local', skip: undefined },
  { name: 'Redis', skip: redisSkip },
])('the $name quota store', ({ name, skip }) => {
  // One store per "process": the local store is shared by the runs of one process, so it is one object.
  const stores: QuotaStore[] = [];
  const another = async (): Promise<QuotaStore> => {
    const store =
      name === 'local' && stores[0] !== undefined ? stores[0] : await (open[name] as () => Promise<QuotaStore>)();
    stores.push(store);
    return store;
  };
  beforeEach((context) => {
    if (skip !== undefined) context.skip();
    prefix = uniqueName('ioc-test');
  });
  afterEach(async () => {
    for (const store of new Set(stores.splice(0))) await store.close();
    if (name === 'Redis' && skip === undefined) await cleanRedis();
  });

  it('grants the minute window once in all, then says how long until a slot leaves it', async () => {
    const a = await another();
    const b = await another();
    const first = lease(await a.acquire(2, LIMITS));
    expect(first.count).toBe(2);
    expect(lease(await b.acquire(1, LIMITS)).count).toBe(1);
    const refused = await b.acquire(1, LIMITS);
    expect(refused).toMatchObject({ waitMs: expect.any(Number) as number });
    first.settle(2);
    await new Promise((done) => setTimeout(done, 50));
    // A settled slot stays in the window for 60 s after its reply.
    const wait = await a.acquire(1, LIMITS);
    expect('waitMs' in wait ? wait.waitMs : 0).toBeGreaterThan(55_000);
  });

  it('takes many concurrent requests for the last slots atomically', async () => {
    const stores: QuotaStore[] = [];
    for (let i = 0; i < 4; i++) stores.push(await another());
    const limits = { perMinute: 20, perDay: Infinity, perMonth: Infinity };
    const grants = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (stores[i % 4] as QuotaStore).acquire(1, limits)),
    );
    expect(grants.filter((grant) => 'lease' in grant)).toHaveLength(20);
    expect(grants.filter((grant) => 'waitMs' in grant)).toHaveLength(40);
  });

  it('never overspends the day: fewer slots when fewer are left, none when none; uncounted ones come back', async () => {
    const a = await another();
    const b = await another();
    const limits = { perMinute: 100, perDay: 5, perMonth: 1_000 };
    expect(lease(await a.acquire(3, limits)).count).toBe(3);
    const partial = lease(await b.acquire(3, limits));
    expect(partial.count).toBe(2);
    expect(await a.acquire(1, limits)).toEqual({ exhausted: 'daily' });
    // A refused request (not counted by the server) gives its budget back.
    partial.settle(1);
    await new Promise((done) => setTimeout(done, 50));
    expect(lease(await a.acquire(4, limits)).count).toBe(1);
    expect(await b.acquire(1, { ...limits, perDay: 100, perMonth: 5 })).toEqual({ exhausted: 'monthly' });
  });

  it("takes the server's count as a floor: usage reported by VirusTotal fills the shared window", async () => {
    const a = await another();
    a.applyServerUsage({ minuteUsed: 3, dayUsed: 10 });
    await new Promise((done) => setTimeout(done, 50));
    const b = await another();
    expect(await b.acquire(1, LIMITS)).toMatchObject({ waitMs: expect.any(Number) as number });
    expect(await b.acquire(1, { perMinute: 10, perDay: 10, perMonth: Infinity })).toEqual({ exhausted: 'daily' });
  });
});

describe.skipIf(redisSkip !== undefined)('the Redis quota store', () => {
  let own: OwnRedis | undefined;
  beforeEach(() => {
    prefix = uniqueName('ioc-test');
  });
  afterEach(async () => {
    await cleanRedis();
  });
  afterAll(async () => {
    await own?.stop();
  });

  it('names its keys by a hash of the API key, never the key', async () => {
    const store = await RedisQuotaStore.open(`${REDIS_URL}?prefix=${prefix}`, { apiKey: KEY });
    lease(await store.acquire(2, { perMinute: 10, perDay: 100, perMonth: 1_000 })).settle(2);
    await store.close();
    const keys = await redisKeys();
    const hash = createHash('sha256').update(KEY).digest('hex').slice(0, 32);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const key of keys) {
      expect(key).toContain(hash);
      expect(key).not.toContain(KEY);
    }
  });

  it('gives the slots of a process killed while holding them back after its lease, and only then', async () => {
    const url = `${REDIS_URL}?prefix=${prefix}&lease=1s`;
    const child = spawn(
      process.execPath,
      [join(ROOT, 'node_modules/vite-node/vite-node.mjs'), 'test/quota/slot-holder.ts', '--', url, '3'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await new Promise<void>((ready, fail) => {
      child.on('exit', (code) => fail(new Error(`slot holder exited (${code})`)));
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('held')) ready();
      });
    });
    // Alive, it renews its leases.
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    const slotsKey = (await client.keys(`${prefix}:*:slots`))[0] as string;
    const scores = async (): Promise<number[]> =>
      (await client.zRangeWithScores(slotsKey, 0, -1)).map((entry) => entry.score);
    const before = await scores();
    await new Promise((done) => setTimeout(done, 1_200));
    const renewed = await scores();
    expect(Math.min(...renewed)).toBeGreaterThan(Math.max(...before));
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await new Promise((done) => child.once('close', done));
    const atDeath = await scores();
    await new Promise((done) => setTimeout(done, 1_200));
    // Dead, nothing renews them: they leave the window at most a lease plus 60 s after the death.
    expect(await scores()).toEqual(atDeath);
    expect(atDeath).toHaveLength(3);
    for (const score of atDeath) expect(score).toBeLessThanOrEqual(killedAt + 1_000 + 60_001 + 500);
    // Meanwhile the others go on with the rest of the window.
    const store = await RedisQuotaStore.open(url, { apiKey: KEY });
    expect(lease(await store.acquire(2, { perMinute: 5, perDay: Infinity, perMonth: Infinity })).count).toBe(2);
    const wait = await store.acquire(1, { perMinute: 5, perDay: Infinity, perMonth: Infinity });
    expect('waitMs' in wait ? wait.waitMs : 0).toBeLessThanOrEqual(61_001);
    await store.close();
    client.destroy();
  });

  it('pauses while Redis is down, says so, and after a restart puts its slots back before granting more', async () => {
    own = await startOwnRedis();
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const url = `${own.url}?prefix=${prefix}&lease=2s`;
    const store = await RedisQuotaStore.open(url, { apiKey: KEY, logger });
    const limits = { perMinute: 3, perDay: Infinity, perMonth: Infinity };
    lease(await store.acquire(2, limits)).settle(2);
    await own.stop();
    let settled: QuotaGrant | undefined;
    const pending = store.acquire(1, limits).then((grant) => (settled = grant));
    await new Promise((done) => setTimeout(done, 2_500));
    // Nothing is granted while the store cannot be asked.
    expect(settled).toBeUndefined();
    expect(lines.join('')).toContain('quota store unreachable');
    await own.start();
    // Redis came back empty: grants wait a resync time, in which every live process puts its slots back.
    let grant: QuotaGrant = await pending;
    for (let tries = 0; 'waitMs' in grant && tries < 50; tries++) {
      await new Promise((done) => setTimeout(done, 200));
      grant = await store.acquire(1, limits);
    }
    expect(lease(grant).count).toBe(1);
    // Its two slots of the last minute were put back first: the window is full again.
    expect(await store.acquire(1, limits)).toMatchObject({ waitMs: expect.any(Number) as number });
    expect(lines.join('')).toContain('lost its state');
    expect(lines.join('')).toContain('reachable again');
    await store.close();
    await own.stop();
  }, 30_000);
});
