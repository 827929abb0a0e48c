// Emulator throughput: requests per second it serves with keep-alive, so that it is never the bottleneck of
// the client's benchmarks (target ≥ 5,000 req/s for small objects on a 2-core machine).
// The server runs in this thread; the load comes from a worker thread (its own event loop, the other core)
// through node:http Agents with keepAlive. Imports the BUILT code: run `npx tsc -p tsconfig.build.json` first.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { startEmulator } from '../dist/emulator/index.js';

const DURATION_MS = 4_000;
const WARMUP_MS = 500;

// The load generator: `connections` keep-alive connections, each sending its next request when the previous
// reply is read; counts replies by status in the measured window.
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, paths, connections, durationMs, warmupMs } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const { hostname, port } = new URL(url);
let index = 0, counted = 0, errors = 0, measuring = false, stopping = false;
const byStatus = {};
function once() {
  return new Promise((resolve) => {
    const path = paths[index++ % paths.length];
    const request = http.get({ hostname, port, path, agent, headers: { 'x-apikey': 'bench' } }, (response) => {
      response.on('data', () => {});
      response.on('end', () => {
        if (measuring) { counted++; byStatus[response.statusCode] = (byStatus[response.statusCode] ?? 0) + 1; }
        resolve();
      });
    });
    request.on('error', () => { errors++; resolve(); });
  });
}
async function loop() { while (!stopping) await once(); }
const loops = Array.from({ length: connections }, loop);
setTimeout(() => {
  measuring = true;
  const started = performance.now();
  setTimeout(async () => {
    measuring = false;
    const seconds = (performance.now() - started) / 1000;
    stopping = true;
    await Promise.all(loops);
    agent.destroy();
    parentPort.postMessage({ perSecond: counted / seconds, counted, errors, byStatus });
  }, durationMs);
}, warmupMs);
`;

function drive(url, paths, connections) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CLIENT, { eval: true, workerData: { url, paths, connections, durationMs: DURATION_MS, warmupMs: WARMUP_MS } });
    worker.once('message', (result) => {
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', reject);
  });
}

const format = (value) => Math.round(value).toLocaleString('en-US');

export default async function run() {
  const emulator = await startEmulator({ unlimited: true });
  try {
    // Small objects: the same few fixture domains and IPs, served from the serialised-body cache.
    const small = ['/api/v3/domains/malware.example.com', '/api/v3/ip_addresses/45.33.32.156', '/api/v3/domains/login.example.net', '/api/v3/ip_addresses/45.33.100.66'];
    // Distinct synthetic files: each request builds and serialises a new object (a 100,000-IoC run's case).
    const distinct = Array.from({ length: 200_000 }, (_, i) => `/api/v3/files/${createHash('md5').update(`bench ${i}`).digest('hex')}`);
    const cases = [
      ['small objects, cached', small, 2],
      ['small objects, cached', small, 16],
      ['distinct synthetic files', distinct, 16],
    ];
    for (const [name, paths, connections] of cases) {
      emulator.resetStats();
      const before = performance.eventLoopUtilization();
      const result = await drive(emulator.url, paths, connections);
      // The server thread's busy share: req/s divided by it is what one fully busy core would serve, a figure
      // less sensitive than req/s to the load generator and to other processes competing for the CPU.
      const busy = performance.eventLoopUtilization(before).utilization;
      const served = emulator.stats().requests;
      const refused = emulator.stats().byStatus['429'] ?? 0;
      const statuses = Object.entries(result.byStatus).map(([status, count]) => `${status}: ${format(count)}`).join(', ');
      console.log(`emulator: ${format(result.perSecond)} req/s (keep-alive, ${connections} connections, ${name}; ${statuses}; ${result.errors} errors, ${refused} 429s)`);
      console.log(`emulator: server thread ${(busy * 100).toFixed(0)}% busy, capacity ≈ ${format(served / ((DURATION_MS + WARMUP_MS) / 1000) / Math.max(busy, 0.01))} req/s per busy core (${name})`);
    }
  } finally {
    await emulator.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
