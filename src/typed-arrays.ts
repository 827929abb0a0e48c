/** A typed array of `size` elements holding `array`'s first (the rest zero), for tables that double as they fill. */
export function grown<T extends Int32Array | Uint8Array | Float64Array>(array: T, size: number): T {
  const larger = new (array.constructor as new (size: number) => T)(size);
  larger.set(array);
  return larger;
}
