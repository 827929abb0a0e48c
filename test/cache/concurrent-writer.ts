/**
 * A separate process writing to a shared cache file, for the concurrency test. Run with vite-node:
 * `concurrent-writer.ts -- PATH NAME COUNT`. Prints `ready`, waits for a line on stdin so that every writer
 * starts at the same moment, then stores COUNT own replies and COUNT replies shared with the other writers,
 * reading each back, and prints a JSON summary.
 */
import { once } from 'node:events';
import { openResultCache } from '../../src/cache/index.js';
import { v3Reply } from './replies.js';

const [path, name, countText] = process.argv.slice(-3);
if (path === undefined || name === undefined || countText === undefined) throw new Error('usage: PATH NAME COUNT');
const count = Number(countText);
const cache = await openResultCache(path);
process.stdout.write('ready\n');
await once(process.stdin, 'data');
const started = Date.now();
let misses = 0;
for (let index = 0; index < count; index += 1) {
  const fetchedAt = Date.now();
  cache.put(v3Reply('dns', `own-${index}.${name}.example.com`, { malicious: index % 3 }, fetchedAt));
  cache.put(v3Reply('ipv4', `10.0.${Math.floor(index / 250)}.${index % 250}`, { malicious: 0 }, fetchedAt));
  if ((await cache.get('v3', 'dns', `own-${index}.${name}.example.com`)) === undefined) misses += 1;
}
const finished = Date.now();
await cache.close();
process.stdout.write(`${JSON.stringify({ name, started, finished, misses })}\n`);
process.stdin.destroy();
