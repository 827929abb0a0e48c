/**
 * Issue 11, "Outputs": links planted in sticky folders, permission bits of replaced outputs, temporary files on
 * every way out, the cache's modes, and `extract` stopping on Ctrl-C.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteResultCache } from '../../src/cache/index.js';
import { openAtomicOutput } from '../../src/io/atomic-file.js';
import { EXTRACT_COLUMNS } from '../../src/types.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const isRoot = process.geteuid?.() === 0;

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'ioc-outputs-'));
});
afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

async function writeAll(path: string, text: string): Promise<void> {
  const output = openAtomicOutput(path);
  output.stream.write(text);
  await output.commit();
}

describe('outputs', () => {
  it.skipIf(!isRoot)(
    "a link owned by another user in a sticky folder is not followed (protected_symlinks); the user's own is",
    async () => {
      // Root can plant a link as another user (lchown): the situation of a shared /tmp.
      const shared = join(folder, 'shared');
      mkdirSync(shared);
      chmodSync(shared, 0o1777);
      const victim = join(folder, 'victim');
      writeFileSync(victim, 'secret\n', { mode: 0o600 });
      const planted = join(shared, 'out.csv');
      symlinkSync(victim, planted);
      lchownSync(planted, 12345, 12345);
      expect(() => openAtomicOutput(planted)).toThrow(
        /not followed: a symbolic link owned by another user \(uid 12345\)/,
      );
      const dangling = join(shared, 'new.csv');
      symlinkSync(join(folder, 'created-by-link'), dangling);
      lchownSync(dangling, 12345, 12345);
      expect(() => openAtomicOutput(dangling)).toThrow(/not followed/);
      expect(readFileSync(victim, 'utf8')).toBe('secret\n');
      expect(existsSync(join(folder, 'created-by-link'))).toBe(false);
      // The user's own link is followed, as documented.
      const own = join(shared, 'own.csv');
      symlinkSync(victim, own);
      await writeAll(own, 'mine\n');
      expect(readFileSync(victim, 'utf8')).toBe('mine\n');
    },
  );

  it('replacing an output keeps its permission bits', async () => {
    const path = join(folder, 'private.csv');
    writeFileSync(path, 'old\n');
    chmodSync(path, 0o600);
    await writeAll(path, 'new\n');
    expect(readFileSync(path, 'utf8')).toBe('new\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    chmodSync(path, 0o640);
    await writeAll(path, 'newer\n');
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });

  it("a later run removes a dead run's temporary files of the same output, and only those", async () => {
    const dir = join(folder, 'stale');
    mkdirSync(dir);
    const path = join(dir, 'out.csv');
    // A pid that is not running: a child that has exited.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const stale = `${path}.tmp-${dead}-0123456789ab`;
    const alive = `${path}.tmp-${process.ppid}-0123456789ab`;
    const other = join(dir, `other.csv.tmp-${dead}-0123456789ab`);
    for (const file of [stale, alive, other]) writeFileSync(file, 'partial');
    await writeAll(path, 'x\n');
    expect(readdirSync(dir).sort()).toEqual(
      ['other.csv.tmp-' + String(dead) + '-0123456789ab', 'out.csv', `out.csv.tmp-${process.ppid}-0123456789ab`].sort(),
    );
  });

  it('a temporary output is removed when the process exits without committing (process.exit)', () => {
    const dir = join(folder, 'exit');
    mkdirSync(dir);
    const script = `
      import { openAtomicOutput } from ${JSON.stringify(join(root, 'dist', 'io', 'atomic-file.js'))};
      const output = openAtomicOutput(${JSON.stringify(join(dir, 'out.csv'))});
      output.stream.write('half', () => process.exit(7));
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script]);
    expect(result.status).toBe(7);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('the cache folder is created 0700 and the cache file 0600, whatever the umask', async () => {
    const path = join(folder, 'cache-home', 'ioc-enrich', 'cache.db');
    const previous = process.umask(0o022);
    try {
      await SqliteResultCache.open(path).close();
    } finally {
      process.umask(previous);
    }
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});

describe('extract on Ctrl-C', () => {
  it('stops, writes what it read, prints its summary and exits 130, leaving no temporary file', async () => {
    const dir = join(folder, 'signal');
    mkdirSync(dir);
    const input = join(dir, 'big.txt');
    const line = 'connection from 45.33.32.156 to evil.example.com, see http://bad.example.net/x?id=1\n';
    writeFileSync(input, line.repeat(2_000_000));
    const output = join(dir, 'out.csv');
    const child = spawn(process.execPath, [cli, 'extract', input, '-o', output], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Once the temporary output has rows, interrupt.
    const started = Date.now();
    for (;;) {
      const temporary = readdirSync(dir).find((name) => name.startsWith('out.csv.tmp-'));
      if (temporary !== undefined && statSync(join(dir, temporary)).size > 0) break;
      if (Date.now() - started > 20_000) throw new Error('extract wrote nothing in 20 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('interrupted: the output holds the records read before the signal');
    const rows = readFileSync(output, 'utf8').trimEnd().split('\n');
    expect(rows[0]).toBe(EXTRACT_COLUMNS.join(','));
    // Some rows, complete ones, not the whole input.
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.length).toBeLessThan(1 + 3 * 2_000_000);
    expect(rows.every((row) => row.split(',').length === EXTRACT_COLUMNS.length)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['big.txt', 'out.csv']);
  });
});
