// A streaming CSV reader (RFC 4180: comma-separated, fields optionally in double quotes, "" for
// a quote inside quotes, line breaks allowed inside quotes; LF, CRLF or CR between records). It
// is written here, about 150 lines, rather than taken from npm, because the batch checker needs
// what general parsers do not report: the line and column where each field starts (for rejects
// that point at the spreadsheet cell) and a precise error — where a quote was opened and never
// closed — instead of silently glued fields. It reads chunk by chunk and keeps only the current
// record, so memory does not grow with the file. csvCell writes the cells of the CSV files
// cardsmith itself produces (the rejects report).

export interface CsvField {
  value: string;
  line: number;
  col: number;
}

export type CsvItem =
  | { kind: 'row'; line: number; fields: CsvField[] }
  /** A malformed record: reported, and reading resumes at the next line. */
  | { kind: 'error'; line: number; col: number; code: string; problem: string; hint?: string }
  /** A quote opened and never closed: nothing after it can be read. */
  | { kind: 'fatal'; line: number; col: number; code: string; problem: string; hint?: string };

const enum S {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
  SkipLine,
}

export async function* parseCsv(chunks: AsyncIterable<string>): AsyncGenerator<CsvItem> {
  let state = S.FieldStart;
  let line = 1;
  let col = 1;
  let field = '';
  let fieldLine = 1;
  let fieldCol = 1;
  let fields: CsvField[] = [];
  let recordLine = 1;
  let prevCr = false;
  let first = true;
  let rowHasContent = false;

  const endField = (): void => {
    fields.push({ value: field, line: fieldLine, col: fieldCol });
    field = '';
  };

  for await (let chunk of chunks) {
    if (first) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    const out: CsvItem[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      // CR LF is one line break: the LF after a CR was already counted.
      if (prevCr) {
        prevCr = false;
        if (c === '\n') continue;
      }
      const newline = c === '\n' || c === '\r';
      if (c === '\r') prevCr = true;
      if (state === S.FieldStart) {
        fieldLine = line;
        fieldCol = col;
        if (c === '"') {
          state = S.Quoted;
          rowHasContent = true;
          col++;
          continue;
        }
        // Any other character starts an unquoted field (and is handled as one below).
        state = S.Unquoted;
      }
      switch (state) {
        case S.SkipLine:
          if (newline) {
            line++;
            col = 1;
            state = S.FieldStart;
            fields = [];
            field = '';
            rowHasContent = false;
            recordLine = line;
          } else col++;
          continue;
        case S.Unquoted:
          if (c === ',') {
            endField();
            rowHasContent = true;
            state = S.FieldStart;
            col++;
          } else if (newline) {
            if (rowHasContent || field.length > 0) {
              endField();
              out.push({ kind: 'row', line: recordLine, fields });
            }
            fields = [];
            rowHasContent = false;
            line++;
            col = 1;
            recordLine = line;
            state = S.FieldStart;
          } else if (c === '"') {
            out.push({ kind: 'error', line: recordLine, col, code: 'csv-quote', problem: 'a quote inside a field that does not start with a quote', hint: 'put the whole field in quotes and double the quote: "a ""b"" c"' });
            state = S.SkipLine;
            col++;
          } else {
            field += c;
            rowHasContent = true;
            col++;
          }
          continue;
        case S.Quoted:
          if (c === '"') state = S.QuoteInQuoted;
          else field += c === '\r' ? '\n' : c;
          if (newline) {
            line++;
            col = 1;
          } else col++;
          continue;
        case S.QuoteInQuoted:
          if (c === '"') {
            field += '"';
            state = S.Quoted;
            col++;
          } else if (c === ',') {
            endField();
            state = S.FieldStart;
            col++;
          } else if (newline) {
            endField();
            out.push({ kind: 'row', line: recordLine, fields });
            fields = [];
            rowHasContent = false;
            line++;
            col = 1;
            recordLine = line;
            state = S.FieldStart;
          } else {
            out.push({ kind: 'error', line: recordLine, col, code: 'csv-quote', problem: 'text after the closing quote of a field', hint: 'a quoted field ends at its closing quote; double quotes inside it ("")' });
            state = S.SkipLine;
            col++;
          }
          continue;
      }
    }
    for (const item of out) yield item;
  }
  if (state === S.Quoted) {
    yield { kind: 'fatal', line: fieldLine, col: fieldCol, code: 'csv-unclosed-quote', problem: 'this quoted field is never closed; the rest of the file would be read as one field', hint: 'add the closing quote' };
    return;
  }
  if (state === S.QuoteInQuoted || state === S.Unquoted || (state === S.FieldStart && rowHasContent)) {
    endField();
    yield { kind: 'row', line: recordLine, fields };
  }
}

/**
 * One cell of a CSV file cardsmith writes (RFC 4180 quoting). Text that a spreadsheet would run
 * as a formula — starting with = + - @, a tab or a carriage return — gets a leading single quote
 * (OWASP "CSV injection"): a rejects file quotes the batch, and a batch can come from anyone.
 * Numbers are written as they are.
 */
export function csvCell(v: string | number | undefined): string {
  if (typeof v === 'number') return String(v);
  let s = v ?? '';
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
