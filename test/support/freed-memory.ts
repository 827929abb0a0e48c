/**
 * Memory glibc keeps after it was freed, made in a child process (RSS is process-wide): 64 MB in 32 KiB pieces
 * (from glibc's arena, below its mmap threshold), freed while one piece allocated after them is still held, so
 * that they stay in the process until the C library's heap is trimmed. Linux only (it reads /proc).
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

/**
 * The child's anonymous RSS in MB once the pieces are freed, and after `trim` (an expression, after `imports`) ran,
 * with what it returned.
 */
export function freedThenTrimmed(imports: string, trim: string): { freed: number; after: number; result: unknown } {
  const script = `
    import { readFileSync } from 'node:fs';
    ${imports}
    const anon = () => Number(/RssAnon:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
    let pieces = Array.from({ length: 2000 }, () => Buffer.allocUnsafeSlow(32 * 1024).fill(1));
    const held = Buffer.allocUnsafeSlow(1024).fill(1);
    pieces = undefined;
    gc();
    gc();
    const freed = anon();
    const result = ${trim};
    process.stdout.write(JSON.stringify({ freed, after: anon(), result: result ?? null, held: held.length }));
  `;
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  return JSON.parse(child.stdout) as { freed: number; after: number; result: unknown };
}

/** Whether this process runs on glibc (where the heap can be trimmed). */
export function onGlibc(): boolean {
  return (
    (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime !==
    undefined
  );
}
