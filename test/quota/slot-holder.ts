/**
 * A process that takes slots from a Redis quota store and never settles them, for the lease test:
 * `slot-holder.ts -- URL COUNT`. Prints `held` once it holds them, then waits to be killed.
 */
import { RedisQuotaStore } from '../../src/quota/index.js';

const [url, countText] = process.argv.slice(-2);
if (url === undefined || countText === undefined) throw new Error('usage: URL COUNT');
const store = await RedisQuotaStore.open(url, { apiKey: 'shared-test-key' });
const grant = await store.acquire(Number(countText), { perMinute: 100, perDay: Infinity, perMonth: Infinity });
if (!('lease' in grant)) throw new Error(`no lease: ${JSON.stringify(grant)}`);
process.stdout.write('held\n');
setInterval(() => undefined, 60_000);
