import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCache } from '../../src/cache/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const WRITERS = 3;
const COUNT = 3_000;

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
): Promise<{ child: ChildProcessWithoutNullStreams; output: () => string; errors: () => string }> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'node_modules/vite-node/vite-node.mjs'),
      'test/cache/concurrent-writer.ts',
      '--',
      path,
      name,
      String(COUNT),
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

describe('several processes sharing one cache file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ioc-cache-concurrent-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('write at the same time without corruption, SQLITE_BUSY or lost replies', async () => {
    const path = join(dir, 'shared.db');
    const writers = await Promise.all(Array.from({ length: WRITERS }, (_, index) => startWriter(path, `w${index}`)));
    const exits = writers.map(({ child }) => new Promise<number | null>((done) => child.on('exit', done)));
    for (const { child } of writers) child.stdin.write('go\n');
    const codes = await Promise.all(exits);

    expect(writers.map(({ errors }) => errors())).toEqual(Array(WRITERS).fill(''));
    expect(codes).toEqual(Array(WRITERS).fill(0));
    const summaries = writers.map(({ output }) => JSON.parse(output().split('\n')[1] ?? '') as Summary);
    expect(summaries.map((summary) => summary.misses)).toEqual(Array(WRITERS).fill(0));
    // The writers really overlapped: each started before any finished.
    expect(Math.max(...summaries.map((s) => s.started))).toBeLessThan(Math.min(...summaries.map((s) => s.finished)));

    const db = new Database(path, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    const cache = ResultCache.open(path);
    // Each writer's own domains, plus the IPs all of them wrote.
    expect(cache.stats().entries).toBe(WRITERS * COUNT + COUNT);
    expect(cache.get('v3', 'dns', `own-${COUNT - 1}.w${WRITERS - 1}.example.com`)?.outcome).toBe('found');
    cache.close();
  });
});
