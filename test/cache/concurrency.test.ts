import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openResultCache } from '../../src/cache/index.js';
import { dropSchema, pgCacheUrl, postgresMissing, uniqueName } from '../support/services.js';

const ROOT = resolve(import.meta.dirname, '../..');
const WRITERS = 3;
// Per writer; a PostgreSQL round trip per reply (each is read back at once) is slower than a local file.
const COUNTS = { sqlite: 3_000, postgres: 600 };

interface Summary {
  name: string;
  started: number;
  finished: number;
  misses: number;
}

/** Starts a writer process (TypeScript run by vite-node) and resolves once it has opened the cache. */
function startWriter(
  path: string,
  name: string,
  count: number,
): Promise<{ child: ChildProcessWithoutNullStreams; output: () => string; errors: () => string }> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'node_modules/vite-node/vite-node.mjs'),
      'test/cache/concurrent-writer.ts',
      '--',
      path,
      name,
      String(count),
    ],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((ready, fail) => {
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`writer ${name} exited early (${code}): ${stderr}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.startsWith('ready\n')) ready({ child, output: () => stdout, errors: () => stderr });
    });
  });
}

const pgMissing = await postgresMissing();
let schema = '';

describe.each([
  { name: 'one SQLite file', skip: undefined },
  { name: 'one PostgreSQL cache', skip: pgMissing },
])('several processes sharing $name', ({ name, skip }) => {
  let dir: string;
  const sqlite = name === 'one SQLite file';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ioc-cache-concurrent-'));
    schema = uniqueName('ioc_conc');
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (!sqlite && skip === undefined) await dropSchema(schema);
  });

  it.skipIf(skip !== undefined)(
    'write at the same time without corruption, lock errors or lost replies',
    async () => {
      const path = sqlite ? join(dir, 'shared.db') : pgCacheUrl(schema);
      const COUNT = sqlite ? COUNTS.sqlite : COUNTS.postgres;
      const writers = await Promise.all(
        Array.from({ length: WRITERS }, (_, index) => startWriter(path, `w${index}`, COUNT)),
      );
      const exits = writers.map(({ child }) => new Promise<number | null>((done) => child.on('exit', done)));
      for (const { child } of writers) child.stdin.write('go\n');
      const codes = await Promise.all(exits);

      expect(writers.map(({ errors }) => errors())).toEqual(Array(WRITERS).fill(''));
      expect(codes).toEqual(Array(WRITERS).fill(0));
      const summaries = writers.map(({ output }) => JSON.parse(output().split('\n')[1] ?? '') as Summary);
      expect(summaries.map((summary) => summary.misses)).toEqual(Array(WRITERS).fill(0));
      // The writers really overlapped: each started before any finished.
      expect(Math.max(...summaries.map((s) => s.started))).toBeLessThan(Math.min(...summaries.map((s) => s.finished)));

      if (sqlite) {
        const db = new Database(path, { readonly: true });
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        db.close();
      }
      const cache = await openResultCache(path);
      // Each writer's own domains, plus the IPs all of them wrote.
      expect((await cache.stats()).entries).toBe(WRITERS * COUNT + COUNT);
      expect((await cache.get('v3', 'dns', `own-${COUNT - 1}.w${WRITERS - 1}.example.com`))?.outcome).toBe('found');
      await cache.close();
    },
    120_000,
  );
});
