/**
 * The distinct observables of an `enrich` run, numbered 0, 1, 2… in order of first sighting. Pass one adds
 * them; the lookups, the results ({@link ResultStore}) and pass two refer to them by that number.
 *
 * Design decision (issue 12, enrich's peak RSS): a table of its own over typed arrays, the values' text one byte per
 * character in one buffer, not a `Map` per type keyed by the values' strings with the values in an array by number.
 * Those took about 110 bytes per distinct value of V8's heap (the string, the map entry, two array slots; 11 MB of
 * the enrich benchmark's 100,000), which V8 then let grow by its own margin; this takes about 70 bytes, outside
 * V8's heap. A value with a character above U+00FF (rare: screening makes names punycode) keeps its string, in a
 * side map. Before that, an {@link Observable} object and a `type:value` key per value (what the run kept first)
 * cost about 160 bytes more again: objects are made when the lookups ask for them, one at a time.
 */
import { observableKey } from './dedup.js';
import { IOC_TYPES, type IocType, type Observable } from './types.js';
import { grown } from './typed-arrays.js';

const EMPTY = -1;
/** Marks, in #lengths, a value kept as a string in #wide. */
const WIDE = -1;

const TYPE_INDEX = new Map<IocType, number>(IOC_TYPES.map((type, index) => [type, index]));

/** FNV-1a over the type's index and the value's UTF-16 code units; `wide` is set when one is above 0xFF. */
function hashOf(typeIndex: number, value: string, wide: { found: boolean }): number {
  let hash = Math.imul(0x811c9dc5 ^ typeIndex, 0x01000193);
  let all = 0;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    all |= code;
    hash = Math.imul(hash ^ code, 0x01000193);
  }
  wide.found = all > 0xff;
  return hash;
}

export class DistinctObservables {
  /** Slot → number, or EMPTY. Kept at most half full. */
  #slots = new Int32Array(4096).fill(EMPTY);
  /** By number: its hash, its type's index in IOC_TYPES, where its text starts in #bytes and its length (or WIDE). */
  #hashes = new Int32Array(1024);
  #types = new Uint8Array(1024);
  #starts = new Float64Array(1024);
  #lengths = new Int32Array(1024);
  /** The values' text, one byte per character (latin1). */
  #bytes: Buffer = Buffer.allocUnsafe(64 * 1024);
  #used = 0;
  /** By number: the values with a character above U+00FF. */
  readonly #wide = new Map<number, string>();
  #size = 0;
  readonly #scratch = { found: false };

  get size(): number {
    return this.#size;
  }

  /** Adds a value not seen before (a seen one is left as it is). */
  add(type: IocType, value: string): void {
    const typeIndex = TYPE_INDEX.get(type) as number;
    const hash = hashOf(typeIndex, value, this.#scratch);
    const slot = this.#find(typeIndex, value, hash);
    if (this.#slots[slot] !== EMPTY) return;
    const number = this.#size++;
    if (number === this.#hashes.length) {
      const size = number * 2;
      this.#hashes = grown(this.#hashes, size);
      this.#types = grown(this.#types, size);
      this.#starts = grown(this.#starts, size);
      this.#lengths = grown(this.#lengths, size);
    }
    this.#hashes[number] = hash;
    this.#types[number] = typeIndex;
    if (this.#scratch.found) {
      this.#lengths[number] = WIDE;
      this.#wide.set(number, value);
    } else {
      if (this.#used + value.length > this.#bytes.length) {
        const larger = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.#used + value.length));
        this.#bytes.copy(larger, 0, 0, this.#used);
        this.#bytes = larger;
      }
      this.#starts[number] = this.#used;
      this.#lengths[number] = value.length;
      this.#used += this.#bytes.write(value, this.#used, 'latin1');
    }
    this.#slots[slot] = number;
    if (this.#size * 2 > this.#slots.length) this.#rehash();
  }

  /** The number of a value, or undefined when it was never added. */
  number(type: IocType, value: string): number | undefined {
    const typeIndex = TYPE_INDEX.get(type);
    if (typeIndex === undefined) return undefined;
    const number = this.#slots[this.#find(typeIndex, value, hashOf(typeIndex, value, this.#scratch))] as number;
    return number === EMPTY ? undefined : number;
  }

  value(number: number): string {
    const length = this.#lengths[number] as number;
    if (length === WIDE) return this.#wide.get(number) as string;
    const start = this.#starts[number] as number;
    return this.#bytes.toString('latin1', start, start + length);
  }

  type(number: number): IocType {
    return IOC_TYPES[this.#types[number] as number] as IocType;
  }

  /** The observable of a number, made now (its key too). */
  observable(number: number): Observable {
    const type = this.type(number);
    const value = this.value(number);
    return { type, value, key: observableKey(type, value) };
  }

  /** The slot of the value (its number is there), or the empty slot where it would go. */
  #find(typeIndex: number, value: string, hash: number): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let slot = (hash ^ (hash >>> 16)) & mask; ; slot = (slot + 1) & mask) {
      const number = slots[slot] as number;
      if (number === EMPTY || (this.#hashes[number] === hash && this.#equals(number, typeIndex, value))) return slot;
    }
  }

  #equals(number: number, typeIndex: number, value: string): boolean {
    if (this.#types[number] !== typeIndex) return false;
    const length = this.#lengths[number] as number;
    if (length === WIDE) return this.#wide.get(number) === value;
    if (length !== value.length) return false;
    const bytes = this.#bytes;
    const start = this.#starts[number] as number;
    for (let index = 0; index < length; index++) if (bytes[start + index] !== value.charCodeAt(index)) return false;
    return true;
  }

  #rehash(): void {
    const slots = new Int32Array(this.#slots.length * 2).fill(EMPTY);
    const mask = slots.length - 1;
    for (let number = 0; number < this.#size; number++) {
      const hash = this.#hashes[number] as number;
      let slot = (hash ^ (hash >>> 16)) & mask;
      while (slots[slot] !== EMPTY) slot = (slot + 1) & mask;
      slots[slot] = number;
    }
    this.#slots = slots;
  }
}
