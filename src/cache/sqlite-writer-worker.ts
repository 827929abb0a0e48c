/**
 * The writer thread of a SQLite cache (see sqlite-writer.ts): its own connection to the file, storing the
 * batches the cache posts, one transaction each, and answering each with its id (and the error, if any).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openCacheDatabase, replyStorer } from './sqlite-store.js';
import type { WriterReply, WriterRequest, WriterSetup } from './sqlite-writer.js';

const port = parentPort;
if (port === null) throw new Error('sqlite-writer-worker.js runs as a worker thread only');
const setup = workerData as WriterSetup;
const answer = (message: WriterReply): void => port.postMessage(message);
const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));
let store: ReturnType<typeof replyStorer> | undefined;
let db: ReturnType<typeof openCacheDatabase> | undefined;
// Why the file could not be opened: every batch is answered with it, and the cache throws it as its own.
let openError: string | undefined;
try {
  db = openCacheDatabase(setup.path, setup.busyTimeoutMs);
  // 8 MiB of page cache rather than the 32 MiB of the cache's reading connection: the writer needs the right edges
  // of its B-trees and the key index pages an upsert touches, not the lookup rows.
  db.pragma('cache_size = -8192');
  // A checkpoint every 16,384 pages of WAL (64 MiB) rather than SQLite's 1,000 (4 MiB): each checkpoint reads
  // back and rewrites what the WAL holds and syncs the file, and pages written again between two checkpoints
  // (the B-trees' inner pages and right edges) are copied once. Storing 100,000 replies took 4.6-5.0 s of this
  // thread's CPU against 5.6-6.0 s. The WAL file keeps that size until the last connection closes.
  db.pragma('wal_autocheckpoint = 16384');
  store = replyStorer(db);
  answer({ ready: true });
} catch (error) {
  openError = reason(error);
}
port.on('message', (request: WriterRequest) => {
  if (request.close === true) {
    db?.close();
    port.close();
    return;
  }
  try {
    if (store === undefined) throw new Error(openError ?? 'the cache could not be opened');
    store(request.rows);
    answer({ id: request.id });
  } catch (error) {
    answer({ id: request.id, error: reason(error) });
  }
});
