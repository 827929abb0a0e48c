/**
 * End to end through a real forward proxy: the built CLI, spawned as a user runs it, reaches the emulator
 * serving HTTPS (a certificate made here, its CA given with --ca-file) through test/support/forward-proxy.mjs,
 * its own process, with CONNECT for https:// and absolute-form requests for http://. Only 127.0.0.1 is used.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { CLI, spawnCli, type CliResult } from '../support/spawn-cli.js';
import { hasOpenssl, makeCertificates, type TestCertificates } from '../support/certificates.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const proxyScript = join(root, 'test', 'support', 'forward-proxy.mjs');
const KEY = 'proxy-test-key-0123456789';

const required = process.env['CI'] === 'true' || process.env['IOC_ENRICH_REQUIRE_SERVICES'] === '1';
const openssl = hasOpenssl();
if (!openssl) {
  if (required) throw new Error('the proxy tests need the openssl command to make certificates (CI=true)');
  console.warn('skipping the proxy tests: no openssl command to make test certificates');
}

type Result = CliResult;

interface ProxyLog {
  connections: number;
  connects: Array<{ target: string; authorization: string; status: number }>;
  requests: Array<{ method: string; url: string; authorization: string; status: number }>;
}

interface RunningProxy {
  url: string;
  port: number;
  log(): Promise<ProxyLog>;
  stop(): Promise<void>;
}

let work: string;
let certs: TestCertificates;
let secure: Emulator;
let plain: Emulator;
const proxies: RunningProxy[] = [];

/** Starts test/support/forward-proxy.mjs in its own process. */
async function startProxy(env: Record<string, string> = {}): Promise<RunningProxy> {
  const child = spawn(process.execPath, [proxyScript], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  const url = chunk.toString().trim();
  const proxy: RunningProxy = {
    url,
    port: Number(new URL(url).port),
    // Asked directly (origin-form), not through the proxy; an https:// proxy has the test CA's certificate.
    log: () =>
      new Promise<ProxyLog>((resolve, reject) => {
        const request = (url.startsWith('https:') ? httpsGet : httpGet)(
          `${url}/__proxy/log`,
          { ca: readFileSync(certs.caCert), agent: false },
          (reply) => {
            let body = '';
            reply.on('data', (chunk: Buffer) => (body += chunk.toString()));
            reply.on('end', () => resolve(JSON.parse(body) as ProxyLog));
          },
        );
        request.on('error', reject);
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
  proxies.push(proxy);
  return proxy;
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return spawnCli(args, { cwd: work, env: { XDG_CACHE_HOME: join(work, 'cache'), VT_API_KEY: KEY, ...env } });
}

function enrichThrough(proxy: RunningProxy, input: string, out: string, extra: string[] = []): Promise<Result> {
  const through = ['--vt-url', secure.url, '--proxy', proxy.url, '--ca-file', certs.caCert];
  return run(['enrich', '--log-level', 'warn', ...extra, ...through, input, '-o', out]);
}

function rows(csv: string): Array<Record<string, string>> {
  return parse<Record<string, string>>(csv, { columns: true, skip_empty_lines: true });
}

/**
 * `lookup` of two observables, CSV out, quiet logs, no retries (a failure shows at once), premium pacing (the
 * runs share one key: public pacing would make every third run wait for the server's minute window), one
 * request at a time (so one connection, one CONNECT, a run).
 */
function lookup(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const quick = ['--format', 'csv', '--log-level', 'warn', '--retries', '0', '--tier', 'premium', '--concurrency', '1'];
  return run(['lookup', ...quick, ...args, '8.8.8.8', 'malware.example.com'], env);
}

function expectLookedUp(result: Result): void {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(rows(result.stdout).map((row) => row['Status'])).toEqual(['Success', 'Success']);
}

beforeAll(async () => {
  if (!openssl) return;
  work = mkdtempSync(join(tmpdir(), 'ioc-enrich-proxy-'));
  certs = makeCertificates(work);
  const keys = [{ key: KEY, tier: 'premium' as const }];
  secure = await startEmulator({
    keys,
    unlimited: true,
    tls: { cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey) },
  });
  plain = await startEmulator({ keys, unlimited: true });
});

afterAll(async () => {
  await Promise.all(proxies.map((proxy) => proxy.stop()));
  await secure?.close();
  await plain?.close();
});

describe.skipIf(!openssl)('through a forward proxy', () => {
  it('the emulator serves HTTPS with the certificate it is given', () => {
    expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('ioc-enrich emulator --tls-cert --tls-key serves HTTPS; one without the other is a usage error', async () => {
    const child = spawn(
      process.execPath,
      [CLI, 'emulator', '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    try {
      const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
      const url = chunk.toString().split('\n')[0] ?? '';
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const status = await new Promise<number | undefined>((resolve, reject) => {
        httpsGet(
          `${url}/api/v3/domains/malware.example.com`,
          { ca: readFileSync(certs.caCert), headers: { 'x-apikey': 'any-key' }, agent: false },
          (reply) => {
            reply.resume();
            resolve(reply.statusCode);
          },
        ).on('error', reject);
      });
      expect(status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    const half = await run(['emulator', '--tls-cert', certs.serverCert]);
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(
      /^ioc-enrich emulator: Expected `--tls-key` to be given together with --tls-cert, got `\(not given\)`\n$/,
    );
    const wrongKey = await run(['emulator', '--tls-cert', certs.serverCert, '--tls-key', certs.caCert]);
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toMatch(/^ioc-enrich emulator: Expected `tls` to be a PEM certificate and its private key/);
  });

  it('HTTPS goes through a CONNECT tunnel, trusting the CA given by --ca-file', async () => {
    const proxy = await startProxy();
    const result = await lookup(['--vt-url', secure.url, '--proxy', proxy.url, '--ca-file', certs.caCert]);
    expectLookedUp(result);
    const log = await proxy.log();
    const target = new URL(secure.url).host;
    expect(log.connects.length).toBeGreaterThan(0);
    expect(log.connects.every((connect) => connect.target === target && connect.status === 200)).toBe(true);
    expect(log.requests).toEqual([]);
  });

  it(
    'without the CA the run stops with one line saying the certificate is not trusted, and why',
    { timeout: 120_000 },
    async () => {
      const proxy = await startProxy();
      for (const extra of [[], ['--ca-file', certs.otherCaCert]]) {
        const result = await lookup(['--vt-url', secure.url, '--proxy', proxy.url, ...extra]);
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(
          /^ioc-enrich: the server's TLS certificate is not trusted \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)\): .*--ca-file PEM or NODE_EXTRA_CA_CERTS\)\n$/,
        );
      }
    },
  );

  it('NODE_EXTRA_CA_CERTS works alone and together with --ca-file', { timeout: 120_000 }, async () => {
    const proxy = await startProxy();
    expectLookedUp(await lookup(['--vt-url', secure.url, '--proxy', proxy.url], { NODE_EXTRA_CA_CERTS: certs.caCert }));
    expectLookedUp(
      await lookup(['--vt-url', secure.url, '--proxy', proxy.url, '--ca-file', certs.otherCaCert], {
        NODE_EXTRA_CA_CERTS: certs.caCert,
      }),
    );
  });

  it('a --ca-file that is missing or holds no certificate is a one-line error', async () => {
    const missing = await lookup(['--vt-url', secure.url, '--ca-file', join(work, 'nope.pem')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`ioc-enrich: ${join(work, 'nope.pem')}: cannot read the CA file (ENOENT)\n`);
    const notPem = join(work, 'not.pem');
    writeFileSync(notPem, 'hello\n');
    const bad = await lookup(['--vt-url', secure.url, '--ca-file', notPem]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`ioc-enrich: ${notPem}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the CA file\n`);
  });

  it('plain HTTP goes to the proxy with absolute-form request URIs (HTTP_PROXY)', async () => {
    const proxy = await startProxy();
    const result = await lookup(['--vt-url', plain.url], { HTTP_PROXY: proxy.url });
    expectLookedUp(result);
    const log = await proxy.log();
    expect(log.connects).toEqual([]);
    expect(log.requests.length).toBeGreaterThanOrEqual(3); // the quota query and two lookups
    for (const request of log.requests) {
      expect(request.url.startsWith(`${plain.url}/api/v3/`)).toBe(true);
      expect(request.status).toBe(200);
    }
    expect(log.requests.map((request) => request.url.split('?')[0])).toContain(
      `${plain.url}/api/v3/ip_addresses/8.8.8.8`,
    );
  });

  it(
    'a proxy that needs authentication: 407 ends the run with one line; user:password@ in the URL passes',
    { timeout: 120_000 },
    async () => {
      const proxy = await startProxy({ PROXY_AUTH: 'soc-analyst:corr3ct-h0rse' });
      const withCredentials = proxy.url.replace('http://', 'http://soc-analyst:corr3ct-h0rse@');
      const wrong = proxy.url.replace('http://', 'http://soc-analyst:wrong-pass@');
      const display = `127.0.0.1:${proxy.port}`;
      for (const vtUrl of [secure.url, plain.url]) {
        const ca = ['--ca-file', certs.caCert];
        const none = await lookup(['--vt-url', vtUrl, '--proxy', proxy.url, ...ca]);
        expect(none.code).toBe(1);
        expect(none.stderr).toBe(
          `ioc-enrich: proxy ${display} requires authentication (407): give user:password@ in the proxy URL\n`,
        );
        const refused = await lookup(['--vt-url', vtUrl, '--proxy', wrong, ...ca]);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toBe(`ioc-enrich: proxy ${display} refused the credentials of the proxy URL (407)\n`);
        expectLookedUp(await lookup(['--vt-url', vtUrl, '--proxy', withCredentials, ...ca]));
      }
      const log = await proxy.log();
      expect(log.connects.map((connect) => connect.authorization)).toEqual(['missing', 'wrong', 'ok']);
      expect(new Set(log.requests.map((request) => request.authorization))).toEqual(
        new Set(['missing', 'wrong', 'ok']),
      );
      expect(log.requests.filter((request) => request.status === 200).every((r) => r.authorization === 'ok')).toBe(
        true,
      );
    },
  );

  it('enrich writes a row for every occurrence when the proxy asks for credentials', async () => {
    const proxy = await startProxy({ PROXY_AUTH: 'soc-analyst:corr3ct-h0rse' });
    const input = join(work, 'auth-input.txt');
    writeFileSync(input, 'seen 8.8.8.8 and malware.example.com\n');
    const out = join(work, 'auth-out.csv');
    const result = await enrichThrough(proxy, input, out);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`ioc-enrich: proxy 127.0.0.1:${proxy.port} requires authentication (407)`);
    expect(rows(readFileSync(out, 'utf8')).map((row) => row['Status'])).toEqual([
      'NotSubmitted: run failed',
      'NotSubmitted: run failed',
    ]);
  });

  it(
    'a proxy that refuses the connection, or fails the CONNECT, gives Failed rows naming it',
    { timeout: 120_000 },
    async () => {
      const port = await closedPort();
      const refused = await lookup(['--vt-url', secure.url, '--proxy', `http://127.0.0.1:${port}`]);
      expect(refused.code).toBe(0);
      expect(rows(refused.stdout).map((row) => row['Status'])).toEqual([
        `Failed: proxy 127.0.0.1:${port} refused the connection`,
        `Failed: proxy 127.0.0.1:${port} refused the connection`,
      ]);
      // The proxy is up, the server behind it is not: the proxy answers the CONNECT with 502.
      const proxy = await startProxy();
      const gone = `https://127.0.0.1:${await closedPort()}`;
      const bad = await lookup(['--vt-url', gone, '--proxy', proxy.url]);
      expect(rows(bad.stdout).map((row) => row['Status'])).toEqual([
        `Failed: proxy 127.0.0.1:${proxy.port} refused to CONNECT to ${new URL(gone).host} (502 Bad Gateway)`,
        `Failed: proxy 127.0.0.1:${proxy.port} refused to CONNECT to ${new URL(gone).host} (502 Bad Gateway)`,
      ]);
    },
  );

  it('NO_PROXY exempts the server as curl reads it; --noproxy replaces it', { timeout: 120_000 }, async () => {
    // The proxy in the environment refuses every connection: a lookup that succeeds went direct. (The matching
    // rules themselves are tested in test/vt/proxy.test.ts.)
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const ca = ['--vt-url', secure.url, '--ca-file', certs.caCert];
    expectLookedUp(await lookup(ca, { HTTPS_PROXY: dead, NO_PROXY: '127.0.0.1' }));
    expectLookedUp(await lookup(ca, { https_proxy: dead, no_proxy: 'localhost, 127.0.0.0/8' }));
    // NO_PROXY applies to --proxy too, as curl's does.
    expectLookedUp(await lookup([...ca, '--proxy', dead], { NO_PROXY: '*' }));
    const proxy = await startProxy();
    // Entries that do not match: through the proxy.
    expectLookedUp(await lookup(ca, { HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,.example.com,127.0.0.1:1' }));
    expectLookedUp(await lookup([...ca, '--noproxy', ''], { HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }));
    expect((await proxy.log()).connects.length).toBe(2);
  });

  it(
    'the environment forms: lower case first, ALL_PROXY last, --proxy and --proxy "" win',
    { timeout: 120_000 },
    async () => {
      const dead = `http://127.0.0.1:${await closedPort()}`;
      const proxy = await startProxy();
      const ca = ['--vt-url', secure.url, '--ca-file', certs.caCert];
      expectLookedUp(await lookup(ca, { https_proxy: proxy.url, HTTPS_PROXY: dead }));
      // An empty variable is unset; HTTP_PROXY is for http:// servers; ALL_PROXY comes last.
      expectLookedUp(await lookup(ca, { https_proxy: '', HTTP_PROXY: dead, ALL_PROXY: proxy.url }));
      expectLookedUp(await lookup([...ca, '--proxy', proxy.url], { HTTPS_PROXY: dead }));
      expect((await proxy.log()).connects.length).toBe(3);
      expectLookedUp(await lookup([...ca, '--proxy', ''], { HTTPS_PROXY: dead }));
      // A bad value is named by where it came from, its credentials cut out.
      const bad = await lookup(ca, { HTTPS_PROXY: 'socks5://jdoe:Hunter2@127.0.0.1:1080' });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toBe(
        'ioc-enrich: Expected `HTTPS_PROXY` to be an http:// or https:// proxy URL (SOCKS proxies are not supported), got `socks5://[redacted]@127.0.0.1:1080`\n',
      );
    },
  );

  it('--emulator ignores proxies from the environment (it runs in this process)', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const result = await run(['lookup', '--emulator', '--format', 'csv', '--retries', '0', '8.8.8.8'], {
      HTTP_PROXY: dead,
      HTTPS_PROXY: dead,
      ALL_PROXY: dead,
    });
    expect(result.code).toBe(0);
    expect(rows(result.stdout)[0]?.['Status']).toBe('Success');
  });

  it('an https:// proxy: TLS to the proxy, then the tunnel', { timeout: 120_000 }, async () => {
    const proxy = await startProxy({ PROXY_TLS_CERT: certs.serverCert, PROXY_TLS_KEY: certs.serverKey });
    expect(proxy.url).toMatch(/^https:/);
    expectLookedUp(await lookup(['--vt-url', secure.url, '--proxy', proxy.url, '--ca-file', certs.caCert]));
    expect((await proxy.log()).connects.map((connect) => connect.status)).toEqual([200]);
    // The proxy's own certificate is checked too.
    const untrusted = await lookup(['--vt-url', secure.url, '--proxy', proxy.url, '--ca-file', certs.otherCaCert]);
    expect(rows(untrusted.stdout).map((row) => row['Status'])).toEqual([
      `Failed: proxy 127.0.0.1:${proxy.port}: its TLS certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`,
      `Failed: proxy 127.0.0.1:${proxy.port}: its TLS certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`,
    ]);
  });

  it(
    'keep-alive and concurrency through the proxy: 200 lookups at concurrency 8 use at most 8 CONNECTs',
    { timeout: 120_000 },
    async () => {
      const proxy = await startProxy();
      const input = join(work, 'many.txt');
      const lines = Array.from({ length: 200 }, (_, i) => `host-${i}.proxy-test.example.com`);
      writeFileSync(input, `${lines.join('\n')}\n`);
      const out = join(work, 'many.csv');
      const before = secure.stats().requests;
      const result = await enrichThrough(proxy, input, out, ['--tier', 'premium', '--concurrency', '8']);
      expect(result.code).toBe(0);
      const statuses = rows(readFileSync(out, 'utf8')).map((row) => row['Status']);
      expect(statuses).toHaveLength(200);
      expect(statuses.every((status) => status === 'Success' || status === 'NotFound')).toBe(true);
      expect(secure.stats().requests - before).toBe(201); // the quota query and 200 lookups
      const log = await proxy.log();
      expect(log.connects.length).toBeGreaterThanOrEqual(2); // they did run side by side
      expect(log.connects.length).toBeLessThanOrEqual(8);
      // Every connection to the proxy carried a tunnel (one more: this log request).
      expect(log.connections).toBe(log.connects.length + 1);
    },
  );

  it('the proxy password never appears in any output, log, cache or error', { timeout: 120_000 }, async () => {
    const password = 'Pr0xy-S3cret-9f2c';
    const user = 'soc.analyst';
    const proxy = await startProxy({ PROXY_AUTH: `${user}:${password}` });
    const url = proxy.url.replace('http://', `http://${user}:${password}@`);
    const input = join(work, 'secret-input.csv');
    writeFileSync(input, 'id,message\n1,"beacon to 8.8.8.8 and hxxp://malware[.]example[.]com/x"\n');
    const cacheDir = mkdtempSync(join(work, 'secret-cache-'));
    const common = [
      '--vt-url',
      secure.url,
      '--ca-file',
      certs.caCert,
      '--log-level',
      'trace',
      '--raw',
      '--tier',
      'premium',
    ];
    const results: Result[] = [
      await run([
        'enrich',
        ...common,
        '--proxy',
        url,
        '--cache',
        join(cacheDir, 'c.db'),
        input,
        '-o',
        join(cacheDir, 'o.csv'),
      ]),
      await run(['lookup', ...common, '--format', 'json', '8.8.8.8'], { HTTPS_PROXY: url }),
      // Refused credentials, a malformed URL, an unreachable proxy: the errors name the proxy only.
      await run(['lookup', ...common, '--proxy', url.replace(password, `${password}x`), '8.8.8.8']),
      await run(['lookup', ...common, '--proxy', `http://${user}:${password}@127.0.0.1:99999`, '8.8.8.8']),
      await run(['lookup', ...common, '--retries', '0', '8.8.8.8'], {
        HTTPS_PROXY: `http://${user}:${password}@127.0.0.1:${await closedPort()}`,
      }),
    ];
    expect(results.map((result) => result.code)).toEqual([0, 0, 1, 2, 0]);
    expect(results[2]?.stderr).toContain('refused the credentials');
    expect(results[3]?.stderr).toContain('[redacted]@127.0.0.1:99999');
    expect(results[4]?.stdout).toContain('refused the connection');
    const basic = Buffer.from(`${user}:${password}`).toString('base64');
    const texts = results.flatMap((result) => [result.stdout, result.stderr]);
    const files = readdirSync(cacheDir).map((name) => join(cacheDir, name));
    expect(files.some((file) => file.endsWith('c.db'))).toBe(true);
    expect(existsSync(join(cacheDir, 'o.csv'))).toBe(true);
    texts.push(...files.map((file) => readFileSync(file).toString('latin1')));
    for (const text of texts) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(basic);
    }
    // The logs did say which proxy was used.
    expect(results[0]?.stderr).toContain(`"proxy":"127.0.0.1:${proxy.port}"`);
  });
});
