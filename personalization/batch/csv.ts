// A streaming CSV reader (RFC 4180: comma-separated, fields optionally in double quotes, "" for
// a quote inside quotes, line breaks allowed inside quotes; LF, CRLF or CR between records). It
// is written here, about 200 lines, rather than taken from npm, because the batch checker needs
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

const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const QUOTE = 0x22;

/**
 * The reader itself, fed chunk by chunk and synchronous, so that a batch reader pays one await
 * per chunk rather than one per record. Runs of plain characters are sliced, not copied one by one.
 */
export class CsvParser {
  private state = S.FieldStart;
  private line = 1;
  private col = 1;
  private field = '';
  private fieldLine = 1;
  private fieldCol = 1;
  private fields: CsvField[] = [];
  private recordLine = 1;
  private prevCr = false;
  private first = true;
  private rowHasContent = false;

  private endField(): void {
    this.fields.push({ value: this.field, line: this.fieldLine, col: this.fieldCol });
    this.field = '';
  }

  private nextLine(): void {
    this.fields = [];
    this.rowHasContent = false;
    this.line++;
    this.col = 1;
    this.recordLine = this.line;
    this.state = S.FieldStart;
  }

  /** Parses the next chunk; the records it completes are appended to `out`. */
  push(chunk: string, out: CsvItem[]): void {
    if (this.first) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      this.first = false;
    }
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk.charCodeAt(i);
      // CR LF is one line break: the LF after a CR was already counted.
      if (this.prevCr) {
        this.prevCr = false;
        if (c === LF) continue;
      }
      const newline = c === LF || c === CR;
      if (c === CR) this.prevCr = true;
      if (this.state === S.FieldStart) {
        this.fieldLine = this.line;
        this.fieldCol = this.col;
        if (c === QUOTE) {
          this.state = S.Quoted;
          this.rowHasContent = true;
          this.col++;
          continue;
        }
        // Any other character starts an unquoted field (and is handled as one below).
        this.state = S.Unquoted;
      }
      switch (this.state) {
        case S.SkipLine:
          if (newline) {
            this.line++;
            this.col = 1;
            this.state = S.FieldStart;
            this.fields = [];
            this.field = '';
            this.rowHasContent = false;
            this.recordLine = this.line;
          } else this.col++;
          continue;
        case S.Unquoted:
          if (c === COMMA) {
            this.endField();
            this.rowHasContent = true;
            this.state = S.FieldStart;
            this.col++;
          } else if (newline) {
            if (this.rowHasContent || this.field.length > 0) {
              this.endField();
              out.push({ kind: 'row', line: this.recordLine, fields: this.fields });
            }
            this.nextLine();
          } else if (c === QUOTE) {
            out.push({ kind: 'error', line: this.recordLine, col: this.col, code: 'csv-quote', problem: 'a quote inside a field that does not start with a quote', hint: 'put the whole field in quotes and double the quote: "a ""b"" c"' });
            this.state = S.SkipLine;
            this.col++;
          } else {
            const j = plainRun(chunk, i + 1, false);
            this.field += chunk.slice(i, j);
            this.rowHasContent = true;
            this.col += j - i;
            i = j - 1;
          }
          continue;
        case S.Quoted:
          if (c === QUOTE) {
            this.state = S.QuoteInQuoted;
            this.col++;
          } else if (newline) {
            this.field += '\n';
            this.line++;
            this.col = 1;
          } else {
            const j = plainRun(chunk, i + 1, true);
            this.field += chunk.slice(i, j);
            this.col += j - i;
            i = j - 1;
          }
          continue;
        case S.QuoteInQuoted:
          if (c === QUOTE) {
            this.field += '"';
            this.state = S.Quoted;
            this.col++;
          } else if (c === COMMA) {
            this.endField();
            this.state = S.FieldStart;
            this.col++;
          } else if (newline) {
            this.endField();
            out.push({ kind: 'row', line: this.recordLine, fields: this.fields });
            this.nextLine();
          } else {
            out.push({ kind: 'error', line: this.recordLine, col: this.col, code: 'csv-quote', problem: 'text after the closing quote of a field', hint: 'a quoted field ends at its closing quote; double quotes inside it ("")' });
            this.state = S.SkipLine;
            this.col++;
          }
          continue;
      }
    }
  }

  /** Ends the text: the last record when it has no line break after it, or the fatal unclosed quote. */
  end(out: CsvItem[]): void {
    if (this.state === S.Quoted) {
      out.push({ kind: 'fatal', line: this.fieldLine, col: this.fieldCol, code: 'csv-unclosed-quote', problem: 'this quoted field is never closed; the rest of the file would be read as one field', hint: 'add the closing quote' });
      return;
    }
    if (this.state === S.QuoteInQuoted || this.state === S.Unquoted || (this.state === S.FieldStart && this.rowHasContent)) {
      this.endField();
      out.push({ kind: 'row', line: this.recordLine, fields: this.fields });
    }
  }
}

/** End of the run of characters from `i` that need no state change (quoted: no quote or line break; unquoted: no comma either). */
function plainRun(chunk: string, i: number, quoted: boolean): number {
  for (; i < chunk.length; i++) {
    const d = chunk.charCodeAt(i);
    if (d === QUOTE || d === LF || d === CR || (!quoted && d === COMMA)) return i;
  }
  return i;
}

export async function* parseCsv(chunks: AsyncIterable<string>): AsyncGenerator<CsvItem> {
  const parser = new CsvParser();
  const out: CsvItem[] = [];
  for await (const chunk of chunks) {
    parser.push(chunk, out);
    yield* out;
    out.length = 0;
  }
  parser.end(out);
  yield* out;
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
