/**
 * Worker thread of parallel extraction: receives the run's {@link ChunkContext} once (as workerData), then parts;
 * answers each with its {@link ChunkResult}, in the order received.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { extractChunk, newChunkState, type ChunkContext, type ChunkJob } from './chunk-extract.js';

const port = parentPort;
if (port === null) throw new Error('extract-worker.js runs as a worker thread');
const state = newChunkState(workerData as ChunkContext);
// Parts are handled one after the other: the reader is asynchronous, and the memo's bookkeeping is per part.
let queue: Promise<void> = Promise.resolve();
port.on('message', (job: ChunkJob) => {
  queue = queue.then(async () => {
    const result = await extractChunk(job, state);
    // The rows move to the main thread rather than being copied.
    port.postMessage(result, [result.rows.buffer, result.gaps.buffer, result.input.buffer] as ArrayBuffer[]);
  });
});
