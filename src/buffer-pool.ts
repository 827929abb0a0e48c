/**
 * Big buffers for reuse, for the streams that copy through buffers of their own: the parts of an input and their
 * rows (src/parallel), and the redacting writer's copies (src/redact.ts). Design decision: a fresh buffer per use is
 * external memory that V8 frees only at its next collection, and peak RSS grew by tens of MB with them.
 */
export class BufferPool {
  readonly #free: ArrayBuffer[] = [];
  readonly #minBytes: number;
  readonly #keep: number;

  /** `minBytes`: the least a new buffer holds; `keep`: how many buffers given back are kept at most. */
  constructor(minBytes: number, keep: number) {
    this.#minBytes = minBytes;
    this.#keep = keep;
  }

  /** A buffer of at least `size` bytes (all of its memory: its length may be more than `size`). */
  take(size: number): Buffer {
    for (let index = this.#free.length - 1; index >= 0; index--) {
      const buffer = this.#free[index] as ArrayBuffer;
      if (buffer.byteLength >= size) {
        this.#free.splice(index, 1);
        return Buffer.from(buffer, 0, buffer.byteLength);
      }
    }
    return Buffer.allocUnsafeSlow(Math.max(size, this.#minBytes));
  }

  /** Takes back a buffer from {@link take} that is no longer used. */
  give(buffer: Buffer): void {
    if (this.#free.length < this.#keep) this.#free.push(buffer.buffer as ArrayBuffer);
  }
}
