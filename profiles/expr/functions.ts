// The fixed table of functions an expression may call, in the order docs and hints list them.
import type { FnSpec } from './fnspec.js';
import { BYTES_FUNCTIONS } from './functions-bytes.js';
import { TEXT_FUNCTIONS } from './functions-text.js';

export const FUNCTIONS: ReadonlyMap<string, FnSpec> = new Map<string, FnSpec>([...TEXT_FUNCTIONS, ...BYTES_FUNCTIONS]);

/** Signature and one-line description of every function (for docs and `did you mean`). */
export function functionList(): { name: string; signature: string }[] {
  return [...FUNCTIONS].map(([name, f]) => ({ name, signature: f.signature }));
}
