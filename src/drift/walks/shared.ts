/** `values` in shared memory (a copy unless they are there already), for samples kept long: references. */
export function inSharedMemory(values: Float64Array): Float64Array {
  if (values.buffer instanceof SharedArrayBuffer) return values;
  const copy = new Float64Array(new SharedArrayBuffer(values.byteLength));
  copy.set(values);
  return copy;
}
