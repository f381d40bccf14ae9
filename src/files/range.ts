import { UnsatisfiableRangeError, type FileRange, type SuffixRange } from './storage.js';

/**
 * The inclusive bytes a range asks for in a file of `size` bytes, as HTTP reads it: an end past
 * the file is cut to its last byte, a suffix longer than the file is the whole file, and a start
 * past the end (or an empty suffix) cannot be satisfied.
 */
export function resolveRange(range: FileRange | SuffixRange, size: number): { start: number; end: number } {
  if ('suffix' in range) {
    if (range.suffix <= 0 || size === 0) throw new UnsatisfiableRangeError(size);
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  if (range.start >= size) throw new UnsatisfiableRangeError(size);
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}
