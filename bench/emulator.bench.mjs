// Emulator throughput: requests per second it serves with keep-alive, so that it is never the bottleneck of
// the client's benchmarks (target ≥ 5,000 req/s for small objects on a 2-core machine).
// The server runs in this process; the load comes from a child process (the other core) through a
// node:http Agent with keepAlive. Imports the BUILT code: run `npx tsc -p tsconfig.build.json` first.
import { spawn } from 'node:child_process';
import { startEmulator } from '../dist/emulator/index.js';

const DURATION_MS = 4_000;
const WARMUP_MS = 500;

// The load generator: `connections` keep-alive connections, each sending its next request when the previous
// reply is read; counts replies by status in the measured window and prints one JSON line.
const CLIENT = `
const http = require('node:http');
const { createHash } = require('node:crypto');
const { url, mode, connections, durationMs, warmupMs } = JSON.parse(process.argv[1]);
const small = ['/api/v3/domains/malware.example.com', '/api/v3/ip_addresses/45.33.32.156', '/api/v3/domains/login.example.net', '/api/v3/ip_addresses/45.33.100.66'];
const next = mode === 'small'
  ? (i) => small[i % small.length]
  : (i) => '/api/v3/files/' + createHash('md5').update('bench ' + i).digest('hex');
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const { hostname, port } = new URL(url);
let index = 0, counted = 0, errors = 0, measuring = false, stopping = false;
const byStatus = {};
function once() {
  return new Promise((resolve) => {
    const request = http.get({ hostname, port, path: next(index++), agent, headers: { 'x-apikey': 'bench' } }, (response) => {
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
    process.stdout.write(JSON.stringify({ perSecond: counted / seconds, counted, errors, byStatus }) + '\\n');
  }, durationMs);
}, warmupMs);
`;

function drive(url, mode, connections) {
  return new Promise((resolve, reject) => {
    const config = JSON.stringify({ url, mode, connections, durationMs: DURATION_MS, warmupMs: WARMUP_MS });
    const child = spawn(process.execPath, ['-e', CLIENT, config], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`load generator exited with ${code}`)),
    );
  });
}

const format = (value) => Math.round(value).toLocaleString('en-US');

export default async function run() {
  const emulator = await startEmulator({ unlimited: true });
  try {
    const cases = [
      // Small objects: the same few fixture domains and IPs (about 8 KB each), served from the body cache.
      ['small objects, cached', 'small', 2],
      ['small objects, cached', 'small', 16],
      // Distinct synthetic files: each request builds and serialises a new object (a 100,000-IoC run's case).
      ['distinct synthetic files', 'distinct', 16],
    ];
    for (const [name, mode, connections] of cases) {
      emulator.resetStats();
      const cpuBefore = process.cpuUsage();
      const result = await drive(emulator.url, mode, connections);
      // The server's CPU seconds (this process only; the load generator is another process): requests per
      // CPU second is what one core would serve, a figure less sensitive than req/s to the load generator and
      // to other processes competing for the 2 cores.
      const cpu = process.cpuUsage(cpuBefore);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const served = emulator.stats().requests;
      const refused = emulator.stats().byStatus['429'] ?? 0;
      const statuses = Object.entries(result.byStatus)
        .map(([status, count]) => `${status}: ${format(count)}`)
        .join(', ');
      console.log(
        `emulator: ${format(result.perSecond)} req/s (keep-alive, ${connections} connections, ${name}; ${statuses}; ${result.errors} errors, ${refused} 429s)`,
      );
      console.log(
        `emulator: ${format(served / cpuSeconds)} req/s per server CPU second (${name}, ${connections} connections)`,
      );
    }
  } finally {
    await emulator.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
