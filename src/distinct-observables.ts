/**
 * The distinct observables of an `enrich` run, numbered 0, 1, 2… in order of first sighting. Pass one adds
 * them; the lookups, the results ({@link ResultStore}) and pass two refer to them by that number.
 *
 * Design decision: one map per type, keyed by the value itself, and the values in an array by number. An
 * {@link Observable} object per value and a `type:value` key string (what the run kept before) cost about 160
 * bytes more per distinct value than the value's own string (16 MB of the enrich benchmark's 100,000): the
 * objects are made when the lookups ask for them, one at a time, and dropped once looked up.
 */
import { observableKey } from './dedup.js';
import { IOC_TYPES, type IocType, type Observable } from './types.js';

export class DistinctObservables {
  readonly #byType = new Map<IocType, Map<string, number>>(IOC_TYPES.map((type) => [type, new Map()]));
  readonly #values: string[] = [];
  readonly #types: IocType[] = [];

  get size(): number {
    return this.#values.length;
  }

  /** Adds a value not seen before (a seen one is left as it is). */
  add(type: IocType, value: string): void {
    const numbers = this.#byType.get(type) as Map<string, number>;
    if (numbers.has(value)) return;
    numbers.set(value, this.#values.length);
    this.#values.push(value);
    this.#types.push(type);
  }

  /** The number of a value, or undefined when it was never added. */
  number(type: IocType, value: string): number | undefined {
    return this.#byType.get(type)?.get(value);
  }

  value(number: number): string {
    return this.#values[number] as string;
  }

  type(number: number): IocType {
    return this.#types[number] as IocType;
  }

  /** The observable of a number, made now (its key too). */
  observable(number: number): Observable {
    const type = this.type(number);
    const value = this.value(number);
    return { type, value, key: observableKey(type, value) };
  }
}
