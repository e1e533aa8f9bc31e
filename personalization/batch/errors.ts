// Problems with a batch of cardholder records. A record that fails a check is a *reject* (data):
// the batch goes on, and the rejects report lists every one. A batch that cannot be read at all
// (no header, a broken quote, bytes that are not UTF-8) ends with a BatchError. Neither ever
// carries a cardholder value in clear: messages name the line, column and field, and values
// appear only masked.
import { clip, MAX_ECHO } from '../../bytes/index.js';
import { CardsmithError, type ErrorKind } from '../../errors/index.js';

/** One record (or, for `fatal`, the batch) refused: where, which field, and why. */
export interface Reject {
  /** 1-based line where the record starts in the batch file. */
  line: number;
  /** 1-based column of the offending field (CSV: where the field starts; JSON Lines: where the key is). */
  column?: number | undefined;
  field?: string | undefined;
  /** Stable identifier of the kind of problem (docs/profiles.md "Batch input"). */
  code: string;
  problem: string;
  hint?: string | undefined;
  /** The value masked (first and last character kept), when showing that much helps find the record. */
  masked?: string | undefined;
}

export class BatchError extends CardsmithError {
  override readonly name = 'BatchError';
  readonly kind: ErrorKind = 'input';
  constructor(
    readonly file: string,
    readonly reject: Reject,
  ) {
    super(formatReject(file, reject));
  }
}

/** `file:line:column: field: problem (value 1****X) (hint: …)`. */
export function formatReject(file: string, r: Reject): string {
  const where = `${file}:${r.line}${r.column !== undefined ? `:${r.column}` : ''}`;
  const field = r.field !== undefined ? `${clip(r.field)}: ` : '';
  const value = r.masked !== undefined ? ` (value ${r.masked})` : '';
  // Clipped as a backstop: problems and hints may quote the batch (a column name, a path).
  const hint = r.hint ? ` (hint: ${clip(r.hint, 400)})` : '';
  return `${where}: ${field}${clip(r.problem, 400)}${value}${hint}`;
}

/**
 * Cardholder data is personal: keep the first and last character of values of 6 characters or
 * more, replace the rest with '*'; shorter values are masked whole. Past MAX_ECHO characters the
 * stars stop at an ellipsis and the length is given instead (a 1 MB field, one short line).
 */
export function mask(value: string): string {
  const chars = Array.from(value);
  if (chars.length < 6) return '*'.repeat(chars.length);
  if (chars.length <= MAX_ECHO) return chars[0] + '*'.repeat(chars.length - 2) + chars[chars.length - 1];
  const tail = `${chars[chars.length - 1]} (${chars.length} characters)`;
  return chars[0] + '*'.repeat(MAX_ECHO - 3 - tail.length) + '…' + tail;
}
