/**
 * The servers the shared-backend tests need: PostgreSQL and Redis on 127.0.0.1. A test file asks whether one
 * answers; when it does not, its suites skip with a one-line reason, unless CI=true or
 * IOC_ENRICH_REQUIRE_SERVICES=1, where a missing server fails the run instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import pg from 'pg';
import { createClient } from 'redis';

export const PG_URL = process.env['IOC_ENRICH_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env['IOC_ENRICH_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

const required = process.env['CI'] === 'true' || process.env['IOC_ENRICH_REQUIRE_SERVICES'] === '1';

async function missing(name: string, probe: () => Promise<void>): Promise<string | undefined> {
  try {
    await probe();
    return undefined;
  } catch (error) {
    const reason = `${name} not reachable (${error instanceof Error ? error.message || error.name : String(error)})`;
    if (required) throw new Error(`${reason}, and CI=true or IOC_ENRICH_REQUIRE_SERVICES=1 requires it`);
    console.warn(`skipped: ${reason}`);
    return reason;
  }
}

/** Undefined when PostgreSQL answers at {@link PG_URL}; else why its tests skip. */
export function postgresMissing(): Promise<string | undefined> {
  return missing(`PostgreSQL at ${PG_URL}`, async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
    await client.connect();
    try {
      await client.query('SELECT 1');
    } finally {
      await client.end();
    }
  });
}

/** Undefined when Redis answers at {@link REDIS_URL}; else why its tests skip. */
export function redisMissing(): Promise<string | undefined> {
  return missing(`Redis at ${REDIS_URL}`, async () => {
    const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.ping();
    } finally {
      client.destroy();
    }
  });
}

/** A name no parallel test run uses: lower-case letters, digits and _. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Drops a test's PostgreSQL schema. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** The cache URL of a test's own schema. */
export function pgCacheUrl(schema: string): string {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** Runs SQL against the test database. */
export async function pgQuery<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** A redis-server this test starts, owns and stops (never the machine's shared one). */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** Starts it (again: empty, as a restarted Redis that keeps nothing on disk). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a private redis-server on a free port of 127.0.0.1. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const own: OwnRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const started = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
        { stdio: 'ignore' },
      );
      child = started;
      for (let attempt = 0; attempt < 100; attempt++) {
        const client = createClient({ url: own.url, socket: { connectTimeout: 500, reconnectStrategy: false } });
        client.on('error', () => undefined);
        try {
          await client.connect();
          await client.ping();
          client.destroy();
          return;
        } catch {
          client.destroy();
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      throw new Error(`redis-server on port ${port} did not start`);
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
  };
  await own.start();
  return own;
}
