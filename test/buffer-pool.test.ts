import { describe, expect, it } from 'vitest';
import { BufferPool } from '../src/buffer-pool.js';

describe('BufferPool', () => {
  it('gives a new buffer of at least the size asked and at least its minimum', () => {
    const pool = new BufferPool(1024, 2);
    expect(pool.take(10).length).toBe(1024);
    expect(pool.take(5000).length).toBe(5000);
  });

  it('reuses a buffer given back that is large enough, and makes a new one for a larger size', () => {
    const pool = new BufferPool(1024, 2);
    const first = pool.take(100);
    pool.give(first.subarray(0, 10));
    const again = pool.take(1000);
    expect(again.buffer).toBe(first.buffer);
    expect(again.length).toBe(1024);
    pool.give(again);
    const larger = pool.take(2000);
    expect(larger.buffer).not.toBe(first.buffer);
    // The smaller one is still there for the next small request.
    expect(pool.take(1).buffer).toBe(first.buffer);
  });

  it('keeps at most `keep` buffers', () => {
    const pool = new BufferPool(64, 2);
    const taken = [pool.take(1), pool.take(1), pool.take(1)];
    for (const buffer of taken) pool.give(buffer);
    const reused = [pool.take(1), pool.take(1), pool.take(1)].map((buffer) => buffer.buffer);
    expect(reused.filter((buffer) => taken.some((given) => given.buffer === buffer))).toHaveLength(2);
  });
});
