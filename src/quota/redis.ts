/**
 * The quota shared by every host of a team: the rules of contract.ts kept in Redis.
 *
 * Design decisions:
 * - Client: `redis` (node-redis), Redis's own Node client, maintained with the server; scripts by EVALSHA
 *   with EVAL as fallback. The offline queue is off, so a command fails at once while Redis is down instead of
 *   piling up: the store knows it is paused.
 * - Every check-and-update is one Lua script, atomic on the server; times come from the Redis server's clock
 *   (`TIME`), so hosts whose clocks differ still share one window and one calendar day.
 * - Keys: `PREFIX:quota:{HASH}:…` where HASH is the start of the SHA-256 of the API key: never the key. The
 *   hash tag keeps them in one slot. Window slots are a sorted set (member → time it leaves the window); an
 *   in-flight slot is leased (`leaseMs`, renewed every third of it while its request runs), then dated by its
 *   reply. Day and month counters expire by themselves after their calendar window.
 * - Redis unreachable: nothing is granted, so nothing is sent: the run pauses and retries every second, and
 *   says so (one warning, then one a minute; one line when it is back). Settles that could not be written are
 *   kept and written later.
 * - Redis restarted empty (it keeps nothing on disk here): every process remembers its own slots of the last
 *   minute. The first to notice the new state (an "epoch" id) holds all grants for a resync time (half a
 *   lease, longer than the renewal period), within which every live process has put its slots back.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import { parseDuration } from '../cache/max-age.js';
import { IocEnrichError, OptionError } from '../errors.js';
import { systemClock } from '../vt/options.js';
import type { ExhaustedBudget, RateLimits, ServerUsage } from '../vt/rate-limiter.js';
import {
  DEFAULT_LEASE_MS,
  finiteLimit,
  WINDOW_MARGIN_MS,
  WINDOW_MS,
  type QuotaGrant,
  type QuotaLease,
  type QuotaStore,
} from './contract.js';

/** Options of {@link RedisQuotaStore.open}. */
export interface RedisQuotaOptions {
  /** The VirusTotal key: only its hash names the Redis keys. */
  readonly apiKey: string;
  readonly logger?: Logger | undefined;
}

const HEADER = `
local P = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local WINDOW = ${WINDOW_MS + WINDOW_MARGIN_MS}
local function month_of(ms)
  local z = math.floor(ms / 86400000) + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y * 12 + (m - 1)
end
local epoch = redis.call('GET', P .. ':epoch')
`;

// ARGV: known epoch, count, perMinute, perDay, perMonth (-1: none), leaseMs, owner, resyncMs, member prefix.
// Member names are made by the client (unique per process and grant): a counter in Redis would start again
// after a restart and name a new slot like one put back.
const ACQUIRE = `${HEADER}
local known = ARGV[1]
if not epoch then
  epoch = ARGV[7] .. ':' .. now
  redis.call('SET', P .. ':epoch', epoch)
  if known ~= '' then redis.call('SET', P .. ':blackout', now + tonumber(ARGV[8]), 'PX', tonumber(ARGV[8])) end
end
if known ~= '' and known ~= epoch then return {'reset', epoch} end
local blackout = tonumber(redis.call('GET', P .. ':blackout') or '0')
if blackout > now then return {'wait', blackout - now, epoch} end
local count, perMinute, perDay, perMonth, lease = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local slots = P .. ':slots'
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
local live = redis.call('ZCARD', slots)
local day = math.floor(now / 86400000)
local month = month_of(now)
local dayKey, monthKey = P .. ':day:' .. day, P .. ':month:' .. month
local n = count
if perDay >= 0 then
  local left = perDay - tonumber(redis.call('GET', dayKey) or '0')
  if left <= 0 then return {'exhausted', 'daily', epoch} end
  n = math.min(n, left)
end
if perMonth >= 0 then
  local left = perMonth - tonumber(redis.call('GET', monthKey) or '0')
  if left <= 0 then return {'exhausted', 'monthly', epoch} end
  n = math.min(n, left)
end
if perMinute >= 0 and live + n > perMinute then
  local leaving = redis.call('ZRANGE', slots, live + n - perMinute - 1, live + n - perMinute - 1, 'WITHSCORES')
  return {'wait', tonumber(leaving[2]) - now, epoch}
end
local score = now + lease + WINDOW
for i = 1, n do redis.call('ZADD', slots, score, ARGV[9] .. ':' .. i) end
redis.call('PEXPIRE', slots, lease + WINDOW + 1000)
redis.call('INCRBY', dayKey, n)
redis.call('EXPIRE', dayKey, 3 * 86400)
redis.call('INCRBY', monthKey, n)
redis.call('EXPIRE', monthKey, 40 * 86400)
return {'granted', n, dayKey, monthKey, epoch}
`;

// ARGV: known epoch, counted-unused, dayKey, monthKey, members…
const SETTLE = `${HEADER}
if epoch ~= ARGV[1] then return {'reset', epoch or ''} end
local score = now + WINDOW
for i = 5, #ARGV do redis.call('ZADD', P .. ':slots', 'XX', score, ARGV[i]) end
local unused = tonumber(ARGV[2])
if unused > 0 then
  if redis.call('EXISTS', ARGV[3]) == 1 then redis.call('DECRBY', ARGV[3], unused) end
  if redis.call('EXISTS', ARGV[4]) == 1 then redis.call('DECRBY', ARGV[4], unused) end
end
return {'ok'}
`;

// ARGV: known epoch, leaseMs, in-flight members…
const RENEW = `${HEADER}
if epoch ~= ARGV[1] then return {'reset', epoch or ''} end
local score = now + tonumber(ARGV[2]) + WINDOW
for i = 3, #ARGV do redis.call('ZADD', P .. ':slots', 'XX', score, ARGV[i]) end
if #ARGV >= 3 then redis.call('PEXPIRE', P .. ':slots', tonumber(ARGV[2]) + WINDOW + 1000) end
return {'ok'}
`;

// After a reset: puts this process's live slots back. ARGV: owner, resyncMs, then (member, ms left) pairs.
const RESTORE = `${HEADER}
if not epoch then
  epoch = ARGV[1] .. ':' .. now
  redis.call('SET', P .. ':epoch', epoch)
  redis.call('SET', P .. ':blackout', now + tonumber(ARGV[2]), 'PX', tonumber(ARGV[2]))
end
local longest = 0
for i = 3, #ARGV, 2 do
  local left = tonumber(ARGV[i + 1])
  redis.call('ZADD', P .. ':slots', 'NX', now + left, ARGV[i])
  if left > longest then longest = left end
end
if longest > 0 then redis.call('PEXPIRE', P .. ':slots', longest + 1000) end
return {'ok', epoch}
`;

// ARGV: owner, dayUsed, monthUsed, minuteUsed (-1: unknown). The server's count is a floor for the shared one.
const USAGE = `${HEADER}
local day, month = math.floor(now / 86400000), month_of(now)
local function raise(key, value, ttl)
  if value >= 0 and tonumber(redis.call('GET', key) or '0') < value then redis.call('SET', key, value, 'EX', ttl) end
end
raise(P .. ':day:' .. day, tonumber(ARGV[2]), 3 * 86400)
raise(P .. ':month:' .. month, tonumber(ARGV[3]), 40 * 86400)
local minute = tonumber(ARGV[4])
local slots = P .. ':slots'
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
local live = redis.call('ZCARD', slots)
if minute > live then
  for i = 1, minute - live do redis.call('ZADD', slots, now + WINDOW, ARGV[1] .. ':server:' .. now .. ':' .. i) end
  redis.call('PEXPIRE', slots, WINDOW + 1000)
end
return {'ok'}
`;

function newClient(url: string) {
  return createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 5_000, reconnectStrategy: (retries: number) => Math.min(100 * (retries + 1), 1_000) },
  });
}

type Client = ReturnType<typeof newClient>;

type Script = { readonly source: string; readonly sha: string };

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const SCRIPTS = {
  acquire: script(ACQUIRE),
  settle: script(SETTLE),
  renew: script(RENEW),
  restore: script(RESTORE),
  usage: script(USAGE),
};

type Reply = Array<string | number>;

/** A slot this process holds: in flight (leased), or settled and in the window until `leaves` (local clock). */
interface OwnSlot {
  leaves: number | 'in flight';
}

/** The URL as it may be shown: without its password. */
function shownUrl(url: URL): string {
  const copy = new URL(url.toString());
  if (copy.password !== '') copy.password = '***';
  return copy.toString();
}

/** A {@link QuotaStore} in Redis, shared by every process that uses the same key. */
export class RedisQuotaStore implements QuotaStore {
  readonly location: string;
  readonly leaseMs: number;
  readonly #client: Client;
  readonly #prefix: string;
  readonly #owner = randomUUID().slice(0, 13);
  readonly #logger: Logger | undefined;
  readonly #slots = new Map<string, OwnSlot>();
  readonly #unsettled: Array<() => Promise<void>> = [];
  #epoch = '';
  #grants = 0;
  #renewal: NodeJS.Timeout | undefined;
  #downSince: number | undefined;
  #lastWarning = 0;
  #closed = false;

  private constructor(location: string, client: Client, prefix: string, leaseMs: number, logger?: Logger) {
    this.location = location;
    this.#client = client;
    this.#prefix = prefix;
    this.leaseMs = leaseMs;
    this.#logger = logger;
  }

  /**
   * Connects to `redis://host:port[/db][?lease=15s&prefix=NAME]`. `lease` bounds how long a dead process's
   * in-flight slots stay taken (plus the 60 s window); `prefix` separates key spaces (tests use their own).
   *
   * @throws OptionError for a malformed URL; IocEnrichError `QUOTA_STORE_ERROR` when Redis does not answer.
   */
  static async open(url: string, options: RedisQuotaOptions): Promise<RedisQuotaStore> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new OptionError('--quota-store', '(unparsable URL)', 'a redis://host:port URL');
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
      throw new OptionError('--quota-store', shownUrl(parsed), 'a redis:// or rediss:// URL');
    }
    const lease = parsed.searchParams.get('lease');
    const leaseMs = lease === null ? DEFAULT_LEASE_MS : parseDuration(lease, '--quota-store lease');
    if (leaseMs < 1_000) throw new OptionError('--quota-store lease', lease, 'at least 1s');
    const prefix = parsed.searchParams.get('prefix') ?? 'ioc-enrich';
    parsed.searchParams.delete('lease');
    parsed.searchParams.delete('prefix');
    const location = shownUrl(parsed);
    const client = newClient(parsed.toString());
    // Connection errors are seen by the commands that fail; the client's own event must not crash the process.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      client.destroy();
      throw new IocEnrichError('QUOTA_STORE_ERROR', `quota store ${location}: cannot connect: ${message(error)}`, {
        cause: error,
      });
    }
    const hash = createHash('sha256').update(options.apiKey).digest('hex').slice(0, 32);
    return new RedisQuotaStore(location, client, `${prefix}:quota:{${hash}}`, leaseMs, options.logger);
  }

  async acquire(count: number, limits: RateLimits, signal?: AbortSignal): Promise<QuotaGrant> {
    for (;;) {
      if (signal?.aborted === true || this.#closed) return { aborted: true };
      let reply: Reply;
      const base = `${this.#owner}:${++this.#grants}`;
      try {
        await this.#flushUnsettled();
        reply = await this.#run(SCRIPTS.acquire, [
          this.#epoch,
          String(count),
          String(finiteLimit(limits.perMinute)),
          String(finiteLimit(limits.perDay)),
          String(finiteLimit(limits.perMonth)),
          String(this.leaseMs),
          this.#owner,
          String(this.#resyncMs),
          base,
        ]);
      } catch (error) {
        this.#unreachable(error);
        await systemClock.sleep(1_000, signal);
        continue;
      }
      this.#reachable();
      const [kind] = reply;
      if (kind === 'reset') {
        await this.#restore().catch((error: unknown) => this.#unreachable(error));
        continue;
      }
      this.#epoch = String(reply.at(-1));
      if (kind === 'wait') return { waitMs: Math.max(1, Number(reply[1])) };
      if (kind === 'exhausted') return { exhausted: reply[1] as ExhaustedBudget };
      const granted = Number(reply[1]);
      const members = Array.from({ length: granted }, (_, i) => `${base}:${i + 1}`);
      for (const member of members) this.#slots.set(member, { leaves: 'in flight' });
      this.#startRenewal();
      return { lease: this.#lease(members, String(reply[2]), String(reply[3])) };
    }
  }

  applyServerUsage(usage: ServerUsage): void {
    const args = [
      this.#owner,
      String(usage.dayUsed ?? -1),
      String(usage.monthUsed ?? -1),
      String(usage.minuteUsed ?? -1),
    ];
    this.#later(() => this.#run(SCRIPTS.usage, args).then(() => undefined));
  }

  exhaust(budget: ExhaustedBudget, limits: RateLimits): void {
    const limit = finiteLimit(budget === 'daily' ? limits.perDay : limits.perMonth);
    if (limit < 0) return;
    const args = [
      this.#owner,
      budget === 'daily' ? String(limit) : '-1',
      budget === 'monthly' ? String(limit) : '-1',
      '-1',
    ];
    this.#later(() => this.#run(SCRIPTS.usage, args).then(() => undefined));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#renewal);
    try {
      await this.#flushUnsettled();
    } catch {
      // Redis is gone: the leases run out by themselves.
    }
    await this.#client.close().catch(() => this.#client.destroy());
  }

  /** A restart of Redis is short; a resync longer than the renewal period lets every live process re-register. */
  get #resyncMs(): number {
    return Math.ceil(this.leaseMs / 2);
  }

  #lease(members: string[], dayKey: string, monthKey: string): QuotaLease {
    let open = true;
    return {
      count: members.length,
      settle: (counted: number) => {
        if (!open) return;
        open = false;
        const leaves = Date.now() + WINDOW_MS + WINDOW_MARGIN_MS;
        for (const member of members) this.#slots.set(member, { leaves });
        const unused = members.length - Math.max(0, Math.min(counted, members.length));
        this.#later(async () => {
          const reply = await this.#run(SCRIPTS.settle, [this.#epoch, String(unused), dayKey, monthKey, ...members]);
          if (reply[0] === 'reset') await this.#restore();
        });
      },
    };
  }

  /** Runs a write now, or keeps it for when Redis answers again. */
  #later(write: () => Promise<void>): void {
    write().catch((error: unknown) => {
      this.#unreachable(error);
      this.#unsettled.push(write);
    });
  }

  async #flushUnsettled(): Promise<void> {
    while (this.#unsettled.length > 0) {
      const write = this.#unsettled[0] as () => Promise<void>;
      await write();
      this.#unsettled.shift();
    }
  }

  /** Puts this process's live slots back into a Redis that lost them. */
  async #restore(): Promise<void> {
    const now = Date.now();
    const args = [this.#owner, String(this.#resyncMs)];
    for (const [member, slot] of this.#slots) {
      const left = slot.leaves === 'in flight' ? this.leaseMs + WINDOW_MS + WINDOW_MARGIN_MS : slot.leaves - now;
      if (left > 0) args.push(member, String(left));
      else this.#slots.delete(member);
    }
    const reply = await this.#run(SCRIPTS.restore, args);
    this.#epoch = String(reply[1]);
    this.#logger?.warn(
      { quotaStore: this.location, restored: (args.length - 2) / 2 },
      'quota store lost its state (Redis restarted?): this process put its slots of the last minute back',
    );
  }

  #startRenewal(): void {
    if (this.#renewal !== undefined) return;
    this.#renewal = setInterval(
      () => {
        const now = Date.now();
        const inFlight: string[] = [];
        for (const [member, slot] of this.#slots) {
          if (slot.leaves === 'in flight') inFlight.push(member);
          else if (slot.leaves <= now) this.#slots.delete(member);
        }
        if (this.#slots.size === 0) {
          clearInterval(this.#renewal);
          this.#renewal = undefined;
          return;
        }
        this.#run(SCRIPTS.renew, [this.#epoch, String(this.leaseMs), ...inFlight])
          .then(async (reply) => {
            this.#reachable();
            if (reply[0] === 'reset') await this.#restore();
            await this.#flushUnsettled();
          })
          .catch((error: unknown) => this.#unreachable(error));
      },
      Math.max(200, Math.floor(this.leaseMs / 3)),
    );
    this.#renewal.unref();
  }

  async #run(which: Script, args: string[]): Promise<Reply> {
    const options = { keys: [this.#prefix], arguments: args };
    try {
      return (await this.#client.evalSha(which.sha, options)) as Reply;
    } catch (error) {
      if (!message(error).includes('NOSCRIPT')) throw error;
      return (await this.#client.eval(which.source, options)) as Reply;
    }
  }

  #unreachable(error: unknown): void {
    const now = Date.now();
    this.#downSince ??= now;
    if (now - this.#lastWarning >= 60_000) {
      this.#lastWarning = now;
      this.#logger?.warn(
        { quotaStore: this.location, error: message(error), pausedForS: Math.round((now - this.#downSince) / 1000) },
        'quota store unreachable: lookups pause until it answers (nothing is sent without its grant)',
      );
    }
  }

  #reachable(): void {
    if (this.#downSince === undefined) return;
    this.#logger?.warn(
      { quotaStore: this.location, pausedForS: Math.round((Date.now() - this.#downSince) / 1000) },
      'quota store reachable again: lookups go on',
    );
    this.#downSince = undefined;
    this.#lastWarning = 0;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
