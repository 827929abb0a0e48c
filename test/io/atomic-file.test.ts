import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, open, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAtomicOutput } from '../../src/io/atomic-file.js';

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ioc-atomic-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** A fresh empty folder and a target path in it. */
async function target(): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(folder, 'case-'));
  return { dir, path: join(dir, 'out.csv') };
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

describe('openAtomicOutput', () => {
  it('a pipe nobody reads: abort returns at once (the pipe is only opened for the first byte)', async () => {
    const { dir } = await target();
    const fifo = join(dir, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const output = openAtomicOutput(fifo);
    const outcome = await Promise.race([
      output.abort().then(() => 'aborted'),
      new Promise((resolve) => setTimeout(() => resolve('hung'), 5_000)),
    ]);
    expect(outcome).toBe('aborted');
    expect((await lstat(fifo)).isFIFO()).toBe(true);
  });

  it('a pipe whose reader waits: abort before any write gives it its end of file', async () => {
    const { dir } = await target();
    const fifo = join(dir, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = createReadStream(fifo);
    const ended = once(reader, 'end');
    reader.resume();
    // The reader's open blocks (in libuv's thread pool) until a writer comes: give it time to be waiting.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const output = openAtomicOutput(fifo);
    await output.abort();
    const outcome = await Promise.race([
      ended.then(() => 'ended'),
      new Promise((resolve) => setTimeout(() => resolve('waiting'), 5_000)),
    ]);
    expect(outcome).toBe('ended');
  });

  it('a pipe whose reader comes later: the rows wait for it, then all arrive', async () => {
    const { dir } = await target();
    const fifo = join(dir, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const output = openAtomicOutput(fifo);
    const rows = 'x'.repeat(200_000);
    const written = write(output.stream, rows).then(() => output.commit());
    await new Promise((resolve) => setTimeout(resolve, 200));
    const received: Buffer[] = [];
    const reader = createReadStream(fifo);
    reader.on('data', (chunk: string | Buffer) => {
      received.push(Buffer.from(chunk));
    });
    await Promise.all([written, once(reader, 'end')]);
    expect(Buffer.concat(received).toString('utf8')).toBe(rows);
  });

  it('a symbolic link to a regular file: the file is replaced, the link stays', async () => {
    const { dir } = await target();
    const real = join(dir, 'real.csv');
    await writeFile(real, 'old\n');
    const link = join(dir, 'link.csv');
    await symlink(real, link);
    const output = openAtomicOutput(link);
    await write(output.stream, 'new\n');
    await output.commit();
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readFile(real, 'utf8')).toBe('new\n');
    expect((await readdir(dir)).sort()).toEqual(['link.csv', 'real.csv']);
  });

  it.skipIf(process.platform !== 'linux')(
    'a descriptor of this process (/proc/self/fd/N, as /dev/stdout is) is appended to, never truncated or replaced',
    async () => {
      const { dir } = await target();
      const file = join(dir, 'log.txt');
      await writeFile(file, 'kept\n');
      const handle = await open(file, 'a');
      try {
        const output = openAtomicOutput(`/proc/self/fd/${handle.fd}`);
        await write(output.stream, 'added\n');
        await output.commit();
      } finally {
        await handle.close();
      }
      expect(await readFile(file, 'utf8')).toBe('kept\nadded\n');
      expect(await readdir(dir)).toEqual(['log.txt']);
    },
  );

  it('writes a pipe (or device) in place: it is never replaced by a regular file', async () => {
    const { dir } = await target();
    const fifo = join(dir, 'pipe');
    const made = spawnSync('mkfifo', [fifo]);
    expect(made.status).toBe(0);
    const received: Buffer[] = [];
    const reader = createReadStream(fifo);
    reader.on('data', (chunk: string | Buffer) => {
      received.push(Buffer.from(chunk));
    });
    const ended = once(reader, 'end');
    const output = openAtomicOutput(fifo);
    await write(output.stream, 'a,b\n');
    await write(output.stream, '1,2\n');
    await output.commit();
    await ended;
    expect(Buffer.concat(received).toString('utf8')).toBe('a,b\n1,2\n');
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    expect(await readdir(dir)).toEqual(['pipe']);
  });

  it('writes to a temporary file in the same folder and renames it on commit', async () => {
    const { dir, path } = await target();
    const output = openAtomicOutput(path);
    await write(output.stream, 'a,b\n');
    await write(output.stream, '1,2\n');
    const during = await readdir(dir);
    expect(during).toHaveLength(1);
    expect(during[0]).toMatch(new RegExp(`^out\\.csv\\.tmp-${process.pid}-[0-9a-f]+$`));
    await output.commit();
    expect(await readdir(dir)).toEqual(['out.csv']);
    expect(await readFile(path, 'utf8')).toBe('a,b\n1,2\n');
  });

  it('replaces an existing file only on commit: a reader sees the old or the new file, never a part', async () => {
    const { path } = await target();
    await writeFile(path, 'old\n');
    const output = openAtomicOutput(path);
    await write(output.stream, 'new, first half\n');
    expect(await readFile(path, 'utf8')).toBe('old\n');
    await write(output.stream, 'new, second half\n');
    expect(await readFile(path, 'utf8')).toBe('old\n');
    await output.commit();
    expect(await readFile(path, 'utf8')).toBe('new, first half\nnew, second half\n');
  });

  it('abort removes the temporary file and leaves the target as it was', async () => {
    const { dir, path } = await target();
    await writeFile(path, 'old\n');
    const output = openAtomicOutput(path);
    await write(output.stream, 'partial');
    await output.abort();
    expect(await readdir(dir)).toEqual(['out.csv']);
    expect(await readFile(path, 'utf8')).toBe('old\n');
  });

  it('abort with nothing written, and with no target, leaves nothing', async () => {
    const { dir, path } = await target();
    const output = openAtomicOutput(path);
    await output.abort();
    expect(await readdir(dir)).toEqual([]);
  });

  it('commit rejects when the folder does not exist', async () => {
    const output = openAtomicOutput(join(folder, 'no-such-folder', 'out.csv'));
    output.stream.write('x');
    await expect(output.commit()).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('commit twice is one commit; abort after commit does nothing', async () => {
    const { dir, path } = await target();
    const output = openAtomicOutput(path);
    output.stream.write('done\n');
    const first = output.commit();
    expect(output.commit()).toBe(first);
    await first;
    await output.abort();
    expect(await readdir(dir)).toEqual(['out.csv']);
    expect(await readFile(path, 'utf8')).toBe('done\n');
  });

  it('`-` is stdout: commit does not end it', async () => {
    const chunks: string[] = [];
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString());
        callback();
      },
    });
    const output = openAtomicOutput('-', { stdout });
    expect(output.stream).toBe(stdout);
    output.stream.write('row\n');
    await output.commit();
    expect(stdout.writableEnded).toBe(false);
    expect(chunks.join('')).toBe('row\n');
  });
});
