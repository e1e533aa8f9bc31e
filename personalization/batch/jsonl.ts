// JSON Lines (jsonlines.org): one JSON object per line, UTF-8. Read line by line from text chunks,
// so memory holds one line at a time. Blank lines are skipped.

export type JsonlItem =
  | { kind: 'object'; line: number; text: string; value: Record<string, unknown> }
  | { kind: 'error'; line: number; col: number; code: string; problem: string; hint?: string };

/** Lines of text with their 1-based numbers (LF or CRLF). */
export async function* splitLines(chunks: AsyncIterable<string>): AsyncGenerator<{ line: number; text: string }> {
  let rest = '';
  let line = 1;
  let first = true;
  for await (let chunk of chunks) {
    if (first) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    rest += chunk;
    let nl: number;
    let start = 0;
    const out: { line: number; text: string }[] = [];
    while ((nl = rest.indexOf('\n', start)) >= 0) {
      const end = nl > start && rest.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
      out.push({ line: line++, text: rest.slice(start, end) });
      start = nl + 1;
    }
    rest = rest.slice(start);
    for (const o of out) yield o;
  }
  if (rest.length > 0) yield { line, text: rest.endsWith('\r') ? rest.slice(0, -1) : rest };
}

export async function* parseJsonl(chunks: AsyncIterable<string>): AsyncGenerator<JsonlItem> {
  for await (const { line, text } of splitLines(chunks)) {
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      // V8 names the position: "… in JSON at position 17" (Node 20) — not the text, which may hold personal data.
      const m = /position (\d+)/.exec((e as Error).message);
      const col = m ? Number(m[1]) + 1 : 1;
      yield { kind: 'error', line, col, code: 'json-syntax', problem: `not valid JSON (${jsonProblem((e as Error).message)})`, hint: 'each line is one JSON object: {"field": "value", …}' };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { kind: 'error', line, col: 1, code: 'json-not-object', problem: `the line is ${Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`}, not a JSON object`, hint: 'each line is one JSON object: {"field": "value", …}' };
      continue;
    }
    yield { kind: 'object', line, text, value: value as Record<string, unknown> };
  }
}

/** The kind of JSON error without quoting the input (V8 quotes a piece of it in some messages). */
function jsonProblem(message: string): string {
  if (/Unexpected end/i.test(message)) return 'it ends too early';
  if (/Unterminated string/i.test(message)) return 'a string is not closed';
  if (/Unexpected token|Unexpected non-whitespace|is not valid JSON|Expected/i.test(message)) return 'unexpected character';
  if (/Bad control character/i.test(message)) return 'a control character inside a string';
  return 'syntax error';
}

/** 1-based column where `"key"` appears in the line, or undefined. */
export function keyColumn(text: string, key: string): number | undefined {
  const i = text.indexOf(JSON.stringify(key));
  return i >= 0 ? i + 1 : undefined;
}
