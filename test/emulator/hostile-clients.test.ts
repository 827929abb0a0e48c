/**
 * The emulator survives hostile clients (issue 13, section 0): a huge POST body is refused at a bound, without
 * being read into memory, and a bad key is refused before any body is read.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { emulatorOptions } from '../../src/cli/emulator-command.js';
import { get } from './helpers.js';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

/** POSTs `size` bytes (streamed in 64 KiB chunks, so the test itself holds none of them) and resolves with the status. */
function post(url: string, path: string, size: number): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const req = request(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    req.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, sent }));
    });
    // The server closes the connection once it has answered: writing on is an expected error.
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error),
    );
    const pump = (): void => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

describe('the emulator and hostile clients', () => {
  it('refuses a POST body over 1 MiB with 413, reads no more of it, and keeps serving', async () => {
    emulator = await startEmulator({ unlimited: true });
    const { status, sent } = await post(emulator.url, '/vtapi/v2/url/report?apikey=good-key-123', 64 * 1024 * 1024);
    expect(status).toBe(413);
    // The client was cut off long before it could send its 64 MiB.
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    expect((await get(emulator.url, '/api/v3/domains/malware.example.com', 'good-key-123')).status).toBe(200);
  });

  it('refuses a bad key in the query before reading the body', async () => {
    emulator = await startEmulator({ keys: [{ key: 'the-good-key', tier: 'public' }] });
    const { status } = await post(emulator.url, '/vtapi/v2/url/report?apikey=wrong-key', 8 * 1024 * 1024);
    expect(status).toBe(403);
  });

  it('still takes a small form body (v2 parameters in the body)', async () => {
    emulator = await startEmulator({ unlimited: true });
    const reply = await new Promise<number>((resolve, reject) => {
      const req = request(`${emulator?.url ?? ''}/vtapi/v2/domain/report`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      req.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('apikey=some-key-123&domain=malware.example.com');
    });
    expect(reply).toBe(200);
  });

  it.each(['0x50', '1e3', ' 80', '80.0', '65536', '-1', ''])('rejects --port %j', (port) => {
    expect(() => emulatorOptions(['--port', port])).toThrow(/--port/);
  });

  it.each([
    ['0', 0],
    ['8990', 8990],
    ['65535', 65535],
  ])('accepts --port %s', (port, value) => {
    expect(emulatorOptions(['--port', port])).toMatchObject({ port: value });
  });
});
