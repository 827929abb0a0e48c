import { describe, expect, it } from 'vitest';
import { RateLimiter, type Acquired, type Permit } from '../../src/vt/rate-limiter.js';
import { virtualClock } from '../support/virtual-clock.js';

function permitOf(acquired: Acquired): Permit {
  if (!('permit' in acquired)) throw new Error(`expected a permit, got ${JSON.stringify(acquired)}`);
  return acquired.permit;
}

/** The most slots held by any window [t, t + 60 s) over the given (time, count) events. */
function busiestWindow(events: Array<[number, number]>): number {
  const sorted = [...events].sort((a, b) => a[0] - b[0]);
  let most = 0;
  for (let i = 0; i < sorted.length; i++) {
    let inWindow = 0;
    for (
      let j = i;
      j < sorted.length && (sorted[j] as [number, number])[0] < (sorted[i] as [number, number])[0] + 60_000;
      j++
    ) {
      inWindow += (sorted[j] as [number, number])[1];
    }
    most = Math.max(most, inWindow);
  }
  return most;
}

describe('RateLimiter: the minute window', () => {
  it.each([
    [4, 1, 40],
    [4, 4, 40],
    [10, 3, 100],
    [60, 7, 500],
  ])(
    'perMinute %i, requests of %i slots: no 60 s window ever holds more, and the pace stays near the limit',
    async (perMinute, size, total) => {
      const clock = virtualClock();
      const limiter = new RateLimiter({ perMinute, perDay: Infinity, perMonth: Infinity }, clock);
      const start = clock.now();
      const grants: Array<[number, number]> = [];
      let sent = 0;
      while (sent < total) {
        const permit = permitOf(await limiter.acquire(size));
        grants.push([clock.now(), permit.count]);
        sent += permit.count;
        clock.advance(150); // the reply takes 150 ms
        permit.settle(permit.count);
      }
      expect(busiestWindow(grants)).toBeLessThanOrEqual(perMinute);
      // Each full window is used: the run takes about (total / perMinute - 1) minutes, not much more.
      const perWindow = Math.floor(perMinute / size) * size;
      const minutes = (clock.now() - start) / 60_000;
      expect(minutes).toBeLessThanOrEqual(Math.ceil(total / perWindow) + 0.01);
      expect(minutes).toBeGreaterThanOrEqual(Math.ceil(total / perWindow) - 1);
    },
  );

  it('dates a slot by its reply, so a slow reply pushes the next use of its slot back', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ perMinute: 1, perDay: Infinity, perMonth: Infinity }, clock);
    const first = permitOf(await limiter.acquire(1));
    const sentAt = clock.now();
    clock.advance(5_000);
    first.settle(1);
    permitOf(await limiter.acquire(1));
    expect(clock.now() - sentAt).toBeGreaterThan(65_000);
  });

  it('keeps concurrent requests within the window, counting the ones still in flight', async () => {
    const clock = virtualClock();
    const perMinute = 12;
    const limiter = new RateLimiter({ perMinute, perDay: Infinity, perMonth: Infinity }, clock);
    const grants: Array<[number, number]> = [];
    const worker = async (latency: number): Promise<void> => {
      for (let i = 0; i < 15; i++) {
        const permit = permitOf(await limiter.acquire(1));
        grants.push([clock.now(), 1]);
        await clock.sleep(latency);
        permit.settle(1);
      }
    };
    await Promise.all([worker(100), worker(2_000), worker(700), worker(40)]);
    expect(grants).toHaveLength(60);
    expect(busiestWindow(grants)).toBeLessThanOrEqual(perMinute);
  });

  it('grants a request wider than the window what the window holds, rather than waiting forever', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ perMinute: 3, perDay: Infinity, perMonth: Infinity }, clock);
    expect(permitOf(await limiter.acquire(25)).count).toBe(3);
  });

  it('does not limit with perMinute Infinity', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ perMinute: Infinity, perDay: Infinity, perMonth: Infinity }, clock);
    for (let i = 0; i < 1_000; i++) permitOf(await limiter.acquire(25)).settle(25);
    expect(clock.slept()).toBe(0);
  });

  it('counts the minute usage the server reported as just spent', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ perMinute: 4, perDay: Infinity, perMonth: Infinity }, clock);
    limiter.applyServerUsage({ minuteUsed: 3, minuteAllowed: 4 });
    permitOf(await limiter.acquire(1)).settle(1);
    expect(clock.slept()).toBe(0);
    permitOf(await limiter.acquire(1));
    expect(clock.slept()).toBeGreaterThanOrEqual(60_000);
  });
});

describe('RateLimiter: daily and monthly budgets', () => {
  it('grants at most the day’s budget, cutting a batch down to what is left, then reports it exhausted', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ perMinute: 100, perDay: 10, perMonth: 1_000 }, clock);
    const counts: number[] = [];
    for (;;) {
      const acquired = await limiter.acquire(4);
      if ('exhausted' in acquired) {
        expect(acquired.exhausted).toBe('daily');
        break;
      }
      const permit = permitOf(acquired);
      counts.push(permit.count);
      permit.settle(permit.count);
    }
    expect(counts).toEqual([4, 4, 2]);
  });

  it('gives back what was not counted (a refusal or a failure)', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ perMinute: 100, perDay: 2, perMonth: 1_000 }, clock);
    permitOf(await limiter.acquire(1)).settle(0);
    permitOf(await limiter.acquire(1)).settle(1);
    permitOf(await limiter.acquire(1)).settle(1);
    expect(await limiter.acquire(1)).toEqual({ exhausted: 'daily' });
  });

  it('reports the month when the month runs out first', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ perMinute: 100, perDay: 10, perMonth: 3 }, clock);
    permitOf(await limiter.acquire(3)).settle(3);
    expect(await limiter.acquire(1)).toEqual({ exhausted: 'monthly' });
  });

  it('starts from the usage the server reported, and from its lower allowance', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ perMinute: 100, perDay: 500, perMonth: 15_500 }, clock);
    limiter.applyServerUsage({ dayUsed: 7, dayAllowed: 10, monthUsed: 7, monthAllowed: 15_500 });
    expect(limiter.remaining()).toBe(3);
    expect(permitOf(await limiter.acquire(4)).count).toBe(3);
  });

  it('opens a new day’s budget at 00:00 UTC', async () => {
    const clock = virtualClock(Date.UTC(2026, 10, 22, 23, 59, 0));
    const limiter = new RateLimiter({ perMinute: 100, perDay: 1, perMonth: 100 }, clock);
    permitOf(await limiter.acquire(1)).settle(1);
    expect(await limiter.acquire(1)).toEqual({ exhausted: 'daily' });
    clock.advance(61_000);
    expect(permitOf(await limiter.acquire(1)).count).toBe(1);
  });

  it('exhaust() closes a budget the server says is spent', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ perMinute: 100, perDay: 500, perMonth: 15_500 }, clock);
    limiter.exhaust('monthly');
    expect(await limiter.acquire(1)).toEqual({ exhausted: 'monthly' });
  });
});

describe('RateLimiter: abort', () => {
  it('answers waiting acquires `aborted` once the signal fires', async () => {
    const clock = virtualClock();
    const controller = new AbortController();
    const limiter = new RateLimiter({ perMinute: 1, perDay: Infinity, perMonth: Infinity }, clock, controller.signal);
    const first = permitOf(await limiter.acquire(1));
    // The one slot is in flight: the next acquire waits for it to settle.
    const waiting = limiter.acquire(1);
    controller.abort();
    expect(await waiting).toEqual({ aborted: true });
    first.settle(1);
  });
});
