import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type FaultOptions } from '../../src/emulator/index.js';
import { at, get } from './helpers.js';

const PATH = '/api/v3/domains/malware.example.com';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(faults: FaultOptions, seed = 1): Promise<Emulator> {
  emulator = await startEmulator({ faults, seed, unlimited: true });
  return emulator;
}

describe('fault injection', () => {
  it.each([
    ['tooManyRequests', 429, 'TooManyRequestsError'],
    ['transient', 503, 'TransientError'],
    ['deadline', 504, 'DeadlineExceededError'],
  ] as const)('%s answers v3 %i %s', async (kind, status, code) => {
    const server = await start({ [kind]: 1 });
    const reply = await get(server.url, PATH, 'k');
    expect(reply.status).toBe(status);
    expect(at(reply.json, 'error', 'code')).toBe(code);
    expect(server.stats()).toMatchObject({ faultsInjected: 1, faultsByKind: { [kind]: 1 }, itemsLookedUp: 0 });
  });

  it.each([
    ['tooManyRequests', 204],
    ['transient', 503],
    ['deadline', 504],
  ] as const)('%s answers v2 %i with an empty body', async (kind, status) => {
    const server = await start({ [kind]: 1 });
    const reply = await get(server.url, '/vtapi/v2/domain/report?apikey=k&domain=malware.example.com');
    expect(reply.status).toBe(status);
    expect(reply.text).toBe('');
  });

  it('reset destroys the connection without a reply', async () => {
    const server = await start({ reset: 1 });
    await expect(fetch(`${server.url}${PATH}`, { headers: { 'x-apikey': 'k' } })).rejects.toThrow();
    expect(server.stats()).toMatchObject({ faultsByKind: { reset: 1 }, byStatus: { reset: 1 } });
  });

  it('truncated sends half of the announced body, then cuts the connection', async () => {
    const server = await start({ truncated: 1 });
    const response = await fetch(`${server.url}${PATH}`, { headers: { 'x-apikey': 'k' } });
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
  });

  it('malformed sends a complete 200 reply whose body is not JSON', async () => {
    const server = await start({ malformed: 1 });
    const response = await fetch(`${server.url}${PATH}`, { headers: { 'x-apikey': 'k' } });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text.startsWith('{"data":')).toBe(true);
    expect(() => JSON.parse(text) as unknown).toThrow(SyntaxError);
  });

  it('slow sends the correct reply after the delay and charges it', async () => {
    const server = await start({ slow: 1, slowDelayMs: 5 });
    const reply = await get(server.url, PATH, 'k');
    expect(reply.status).toBe(200);
    expect(at(reply.json, 'data', 'id')).toBe('malware.example.com');
    expect(server.stats()).toMatchObject({ faultsByKind: { slow: 1 }, itemsLookedUp: 1 });
  });

  it('charges no quota for injected errors', async () => {
    emulator = await startEmulator({ faults: { transient: 1 }, perMinute: 1 });
    for (let i = 0; i < 3; i += 1) expect((await get(emulator.url, PATH, 'k')).status).toBe(503);
    expect(emulator.stats()).toMatchObject({ itemsLookedUp: 0, quotaRefusals: 0, faultsInjected: 3 });
  });

  it('draws the same faults from the same seed, and other faults from another seed', async () => {
    const faults = { transient: 0.3, deadline: 0.2 };
    const run = async (seed: number): Promise<number[]> => {
      const server = await start(faults, seed);
      const statuses: number[] = [];
      for (let i = 0; i < 40; i += 1) statuses.push((await get(server.url, PATH, 'k')).status);
      await server.close();
      emulator = undefined;
      return statuses;
    };
    const first = await run(42);
    expect(await run(42)).toEqual(first);
    expect(await run(43)).not.toEqual(first);
    expect(new Set(first)).toEqual(new Set([200, 503, 504]));
  });

  it('does not inject faults into overall_quotas or the stats endpoint', async () => {
    const server = await start({ transient: 1 });
    expect((await get(server.url, '/api/v3/users/k/overall_quotas', 'k')).status).toBe(200);
    expect((await get(server.url, '/__emulator/stats')).status).toBe(200);
    expect(server.stats().faultsInjected).toBe(0);
  });

  it('rejects fault probabilities that add up to more than 1', async () => {
    await expect(startEmulator({ faults: { transient: 0.6, reset: 0.6 } })).rejects.toMatchObject({
      code: 'BAD_OPTION',
      option: 'faults',
    });
  });
});
