// User values echoed in messages are cut to a readable size: a 1 MB field must not turn an
// error line into a megabyte of text (in a terminal, a log, a rejects file).

/** Longest echoed value, in UTF-16 units, including the "… (N characters)" tail. */
export const MAX_ECHO = 80;

/** `value` as is when short; else its start, an ellipsis and its length, `max` units at most. */
export function clip(value: unknown, max = MAX_ECHO): string {
  const s = String(value);
  if (s.length <= max) return s;
  const tail = `… (${s.length} characters)`;
  let end = Math.max(0, max - tail.length);
  // Never cut a surrogate pair in half.
  if (end > 0 && s.charCodeAt(end - 1) >= 0xd800 && s.charCodeAt(end - 1) <= 0xdbff) end--;
  return s.slice(0, end) + tail;
}
