// Problems found in a profile, each tied to the file, line and column where it can be fixed.
// A diagnostic is data, not an exception: validation collects every one of them so a person can
// fix a profile in one pass; ProfileError carries them all when a caller needs a loaded profile.
import { clip } from '../bytes/index.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

/** A place in a source file; line and column are 1-based (column counts UTF-16 units, as editors do). */
export interface Loc {
  file: string;
  line: number;
  col: number;
}

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  severity: Severity;
  /** Stable identifier of the kind of problem (docs/profiles.md "Validation messages" lists them). */
  code: string;
  message: string;
  /** What to do about it, when there is something more specific to say than the message. */
  hint?: string | undefined;
  loc: Loc;
}

/** Backstop: a message or hint longer than this (it quotes the user's text) is clipped. */
const MAX_TEXT = 400;

/** `file:line:col: error: message (hint: …)` — the form editors and CI logs link to. */
export function formatDiagnostic(d: Diagnostic): string {
  const hint = d.hint ? ` (hint: ${clip(d.hint, MAX_TEXT)})` : '';
  return `${formatLoc(d.loc)}: ${d.severity}: ${clip(d.message, MAX_TEXT)}${hint}`;
}

export function formatLoc(loc: Loc): string {
  return `${loc.file}:${loc.line}:${loc.col}`;
}

/** Sorts by file, line, column, then keeps the first of identical (place, message) pairs. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  const sorted = [...list].sort(
    (a, b) => a.loc.file.localeCompare(b.loc.file) || a.loc.line - b.loc.line || a.loc.col - b.loc.col || a.message.localeCompare(b.message),
  );
  for (const d of sorted) {
    const key = `${formatLoc(d.loc)}|${d.severity}|${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

/**
 * A profile that cannot be used. `diagnostics` holds every error and warning; the message names
 * the first error and how many more there are. The CLI maps it to exit code 2 (bad input).
 */
export class ProfileError extends CardsmithError {
  override readonly name = 'ProfileError';
  readonly kind: ErrorKind = 'input';

  constructor(readonly diagnostics: readonly Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0] ?? diagnostics[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''}; cardsmith profile validate lists them)` : '';
    super(first ? `${formatDiagnostic(first)}${more}` : 'profile: invalid profile');
  }
}
