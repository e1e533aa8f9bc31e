// Batch input: a batch of cardholder records in CSV (UTF-8, header row) or JSON
// Lines, read as a stream and checked record by record against the profile's record declaration
// (record.fields, record.rules, record.key). Memory stays flat whatever the batch size: one
// chunk's records at a time, a digest per key for duplicate detection, the checks of a bounded
// number of file paths, and at most `maxRejects` rejects kept in memory (the rejects file gets
// them all). The checks are synchronous: a record costs no await of its own.
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { PRIVATE_FILE_MODE } from '../../files/private.js';
import { clip } from '../../bytes/index.js';
import { createCardEvaluator, didYouMean, ExprEvalError, showValue, type CardEvaluator, type FieldSpec, type Profile } from '../../profiles/index.js';
import { CsvParser, type CsvItem } from './csv.js';
import { readUtf8 } from './decode.js';
import { KeySet } from './dedupe.js';
import { BatchError, mask, type Reject } from './errors.js';
import { FileChecks } from './file-check.js';
import { checkField, type FieldContext } from './fields.js';
import { keyColumn, parseJsonl } from './jsonl.js';
import { REPLACEMENT_FIELD, replacementFields, replacementOf } from './replacement.js';

export type BatchFormat = 'csv' | 'jsonl';

export interface ReadBatchOptions {
  /** Default: from the extension (.csv; .jsonl, .ndjson). */
  format?: BatchFormat;
  /** The prep date, YYYYMMDD (default: today, UTC): dates with `past: true` may not be after it. */
  today?: string;
  /** Name of the batch file in messages (default: the path as given). */
  display?: string;
  signal?: AbortSignal;
}

/** A checked record: field name → normalized value ('' for an absent optional field). */
export type BatchRecord = Record<string, string>;

export type BatchItem = { ok: true; line: number; record: BatchRecord } | { ok: false; line: number; rejects: Reject[] };

export function batchFormat(path: string, format?: BatchFormat): BatchFormat {
  if (format) return format;
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new BatchError(path, { line: 1, code: 'format', problem: `cannot tell the batch format from '${ext || 'no extension'}'`, hint: 'name the file .csv or .jsonl, or give the format' });
}

export function todayUtc(): string {
  return new Date().toISOString().slice(0, 10).replaceAll('-', '');
}

/** A field's raw value and the column it starts at. */
interface RawValue {
  value: string;
  col?: number | undefined;
}

interface RawRecord {
  line: number;
  /** Field name → raw value, or undefined when the record lacks the field. */
  get: (name: string) => RawValue | undefined;
  /** Fields present with a value that is not text (reported already, so not "missing"). */
  present?: Set<string> | undefined;
  rejects: Reject[];
  /** The line could not be split into fields at all: its rejects say why, and nothing else is checked. */
  unreadable?: boolean | undefined;
}

/**
 * The records of a batch, checked, in file order: each is either accepted (normalized values) or
 * rejected (every problem found in it). Throws BatchError when the batch cannot be read on: bad
 * UTF-8, an unclosed quote, a header that does not match the profile.
 */
export async function* readBatch(profile: Profile, path: string, options: ReadBatchOptions = {}): AsyncGenerator<BatchItem> {
  const display = options.display ?? path;
  const format = batchFormat(path, options.format);
  const today = options.today ?? todayUtc();
  const builtIn = new Set(replacementFields(profile.record.fields).map((f) => f.name));
  const fields = new Map([...profile.record.fields, ...replacementFields(profile.record.fields)].map((f) => [f.name, f]));
  const specs = [...fields.values()];
  const baseDir = dirname(resolve(path));
  // One file checker per batch: each photo path is looked at once, each folder's real path found once.
  const ctx: FieldContext = { today, baseDir, files: new FileChecks(baseDir) };
  const keys = new KeySet();
  const keyField = profile.record.key;
  const fileFields = new Set(profile.record.fields.filter((f) => f.type === 'file').map((f) => f.name));
  // Rules over a file field would compare file contents; they are not meant for that.
  const rules = profile.record.rules.filter((rule) => !rule.equal.some((e) => e.refs.fields.some((f) => fileFields.has(f))));
  // Rules that name no profile value depend on the record alone (values are memoized per
  // evaluator): one evaluator serves the batch, reading the record being checked through a view.
  let current: BatchRecord = {};
  const view = new Proxy<BatchRecord>({}, { get: (_, name) => (typeof name === 'string' ? current[name] : undefined) });
  const shared = rules.every((rule) => rule.equal.every((e) => e.refs.values.length === 0)) ? createCardEvaluator(profile, { record: view, today }) : undefined;
  const batches = format === 'csv' ? csvRecords(profile, fields, path, display, options.signal) : jsonlRecords(fields, path, display, options.signal);
  let records = 0;
  for await (const raws of batches) {
    for (const raw of raws) {
      records++;
      yield checkRecord(raw);
    }
  }
  // A batch of no records would become a batch folder with nothing to run.
  if (records === 0) {
    throw new BatchError(display, {
      line: format === 'csv' ? 2 : 1,
      code: 'no-records',
      problem: format === 'csv' ? 'the batch has a header row and no records' : 'the batch has no records',
      hint: format === 'csv' ? 'add one line per cardholder under the header' : 'one JSON object per line, one line per cardholder',
    });
  }

  function checkRecord(raw: RawRecord): BatchItem {
    const rejects = raw.rejects;
    if (raw.unreadable) return { ok: false, line: raw.line, rejects };
    const record: BatchRecord = {};
    for (const spec of specs) {
      const name = spec.name;
      const got = raw.get(name);
      if (got === undefined) {
        if (raw.present?.has(name)) continue;
        if (spec.required) rejects.push({ line: raw.line, field: name, code: 'missing', problem: 'is missing', hint: `add "${name}" to the record` });
        else if (!builtIn.has(name)) record[name] = ''; // the replacement columns appear only when the batch has them
        continue;
      }
      const r = checkField(spec, got.value, ctx);
      if (r.ok) record[name] = r.value;
      else rejects.push({ line: raw.line, column: got.col, field: name, code: r.code, problem: r.problem, hint: r.hint, ...(r.mask ? { masked: mask(got.value) } : {}) });
    }
    if (keyField !== undefined && record[keyField] !== undefined && record[keyField] !== '') {
      const first = keys.add(record[keyField]!, raw.line);
      if (first !== undefined) {
        rejects.push({ line: raw.line, column: raw.get(keyField)?.col, field: keyField, code: 'duplicate', problem: `the same ${keyField} as line ${first}`, hint: 'a cardholder appears once per batch', masked: mask(record[keyField]!) });
      }
    }
    const replacement = replacementOf(record);
    if (typeof replacement === 'string') rejects.push({ line: raw.line, column: raw.get(REPLACEMENT_FIELD)?.col, field: REPLACEMENT_FIELD, code: 'replacement', problem: replacement });
    if (rejects.length === 0 && rules.length > 0) {
      current = record;
      const ev = shared ?? createCardEvaluator(profile, { record, today });
      for (const rule of rules) {
        const problem = ruleProblem(ev, rule.equal);
        if (problem) {
          const field = rule.equal.flatMap((e) => e.refs.fields)[0];
          rejects.push({ line: raw.line, column: field ? raw.get(field)?.col : undefined, field, code: 'rule', problem: problem === true ? rule.message : `${rule.message} (${problem})` });
        }
      }
    }
    return rejects.length === 0 ? { ok: true, line: raw.line, record } : { ok: false, line: raw.line, rejects };
  }
}

function ruleProblem(ev: CardEvaluator, equal: RuleExprs): true | string | undefined {
  try {
    const a = showValue(ev.evaluate(equal[0]));
    const b = showValue(ev.evaluate(equal[1]));
    return a === b ? undefined : true;
  } catch (e) {
    if (e instanceof ExprEvalError) return e.message;
    throw e;
  }
}

type RuleExprs = Profile['record']['rules'][number]['equal'];

const unreadable = (line: number, reject: Reject): RawRecord => ({ line, get: () => undefined, unreadable: true, rejects: [reject] });

/** The records of a CSV batch, a chunk's worth at a time (one await per chunk, not per record). */
async function* csvRecords(profile: Profile, fields: Map<string, FieldSpec>, path: string, display: string, signal?: AbortSignal): AsyncGenerator<RawRecord[]> {
  let header: { name: string; col: number }[] | undefined;
  let columns: Map<string, number> | undefined;
  const parser = new CsvParser();
  const items: CsvItem[] = [];
  // The records parsed so far, and the error that ends the batch after them, if any.
  let fail: unknown;
  const records = (): RawRecord[] => {
    const out: RawRecord[] = [];
    for (const item of items) {
      if (item.kind === 'fatal') {
        fail = new BatchError(display, { line: item.line, column: item.col, code: item.code, problem: item.problem, hint: item.hint });
        break;
      }
      if (!header) {
        if (item.kind === 'error') {
          fail = new BatchError(display, { line: item.line, column: item.col, code: item.code, problem: `header: ${item.problem}`, hint: item.hint });
          break;
        }
        try {
          header = checkHeader(profile, fields, item.fields, display);
        } catch (e) {
          fail = e;
          break;
        }
        columns = new Map(header.map((h, i) => [h.name, i]));
        continue;
      }
      if (item.kind === 'error') {
        out.push(unreadable(item.line, { line: item.line, column: item.col, code: item.code, problem: item.problem, hint: item.hint }));
        continue;
      }
      if (item.fields.length !== header.length) {
        const n = item.fields.length;
        out.push(unreadable(item.line, { line: item.line, column: 1, code: 'csv-columns', problem: `has ${n} field${n === 1 ? '' : 's'}, the header has ${header.length}`, hint: 'a comma inside a value needs quotes around the value' }));
        continue;
      }
      const row = item.fields;
      const at = columns!;
      const get = (name: string): RawValue | undefined => {
        const i = at.get(name);
        return i === undefined ? undefined : row[i];
      };
      out.push({ line: item.line, get, rejects: [] });
    }
    items.length = 0;
    return out;
  };
  for await (const chunk of readUtf8(path, display, signal)) {
    parser.push(chunk, items);
    yield records();
    if (fail !== undefined) throw fail;
  }
  parser.end(items);
  yield records();
  if (fail !== undefined) throw fail;
  if (!header) throw new BatchError(display, { line: 1, code: 'empty', problem: 'the batch is empty: no header row', hint: `the first line names the fields: ${[...fields.keys()].join(',')}` });
}

function checkHeader(profile: Profile, fields: Map<string, FieldSpec>, row: { value: string; col: number; line: number }[], display: string): { name: string; col: number }[] {
  const seen = new Set<string>();
  for (const f of row) {
    if (!fields.has(f.value)) {
      throw new BatchError(display, {
        line: f.line,
        column: f.col,
        code: 'unknown-column',
        problem: `column '${clip(f.value)}' is not a field of profile ${profile.name}`,
        hint: didYouMean(f.value, fields.keys()) ?? `the fields are ${[...fields.keys()].join(', ')}`,
      });
    }
    if (seen.has(f.value)) throw new BatchError(display, { line: f.line, column: f.col, code: 'duplicate-column', problem: `column '${clip(f.value)}' appears twice in the header` });
    seen.add(f.value);
  }
  const missing = [...fields.values()].filter((f) => f.required && !seen.has(f.name)).map((f) => f.name);
  if (missing.length > 0) {
    throw new BatchError(display, { line: row[0]?.line ?? 1, column: 1, code: 'missing-column', problem: `the header lacks the required field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, hint: `profile ${profile.name} needs ${missing.join(', ')}` });
  }
  return row.map((f) => ({ name: f.value, col: f.col }));
}

async function* jsonlRecords(fields: Map<string, FieldSpec>, path: string, display: string, signal?: AbortSignal): AsyncGenerator<RawRecord[]> {
  for await (const item of parseJsonl(readUtf8(path, display, signal))) {
    if (item.kind === 'error') {
      yield [unreadable(item.line, { line: item.line, column: item.col, code: item.code, problem: item.problem, hint: item.hint })];
      continue;
    }
    const values = new Map<string, { value: string; col?: number | undefined }>();
    const present = new Set<string>();
    const rejects: Reject[] = [];
    for (const [k, v] of Object.entries(item.value)) {
      const col = keyColumn(item.text, k);
      if (!fields.has(k)) {
        rejects.push({ line: item.line, column: col, field: clip(k), code: 'unknown-field', problem: 'is not a field of the profile', hint: didYouMean(k, fields.keys()) ?? `the fields are ${[...fields.keys()].join(', ')}` });
        continue;
      }
      if (v === null) continue;
      if (typeof v === 'string') values.set(k, { value: v, col });
      else if (typeof v === 'number' && Number.isFinite(v)) values.set(k, { value: String(v), col });
      else {
        present.add(k);
        rejects.push({ line: item.line, column: col, field: k, code: 'json-type', problem: `must be a string, got ${Array.isArray(v) ? 'a list' : typeof v}`, hint: 'write values as JSON strings, e.g. "01"' });
      }
    }
    yield [{ line: item.line, get: (name) => values.get(name), present, rejects }];
  }
}

// ---------------------------------------------------------------------------------------------

export interface CheckBatchOptions extends ReadBatchOptions {
  /** Accept the valid records of a batch that has rejects (default false: any reject refuses the batch). */
  skipInvalid?: boolean;
  /** Write every reject to this file, one JSON object per line. */
  rejectsFile?: string;
  /** Rejects kept in the returned report (default 1000); the rejects file gets all of them. */
  maxRejects?: number;
}

export interface BatchReport {
  file: string;
  format: BatchFormat;
  /** Data records read (the header is not counted). */
  records: number;
  valid: number;
  rejected: number;
  /** True when the batch can go on to prep: no rejects, or `skipInvalid` and no fatal problem. */
  ok: boolean;
  /** The first `maxRejects` rejects, in file order (a record may have several). */
  rejects: Reject[];
  /** More rejects were found than the report keeps. */
  truncated: boolean;
  /** The problem that stopped reading, if any. */
  fatal?: Reject | undefined;
  rejectsFile?: string | undefined;
}

/** Reads the whole batch and reports counts and rejects; writes the rejects file when asked. */
export async function checkBatch(profile: Profile, path: string, options: CheckBatchOptions = {}): Promise<BatchReport> {
  const display = options.display ?? path;
  const max = options.maxRejects ?? 1000;
  const report: BatchReport = { file: display, format: batchFormat(path, options.format), records: 0, valid: 0, rejected: 0, ok: false, rejects: [], truncated: false };
  let out: FileHandle | undefined;
  let pending = '';
  if (options.rejectsFile !== undefined) {
    // Opened before reading, so an unwritable path fails at once; 0600: rejects name people.
    out = await open(options.rejectsFile, 'w', PRIVATE_FILE_MODE);
    await out.chmod(PRIVATE_FILE_MODE); // a file that was there keeps its mode otherwise
    report.rejectsFile = options.rejectsFile;
  }
  const keep = async (r: Reject): Promise<void> => {
    if (report.rejects.length < max) report.rejects.push(r);
    else report.truncated = true;
    if (!out) return;
    pending += JSON.stringify({ file: display, ...r }) + '\n';
    if (pending.length >= 64 * 1024) {
      await out.write(pending);
      pending = '';
    }
  };
  try {
    for await (const item of readBatch(profile, path, options)) {
      report.records++;
      if (item.ok) report.valid++;
      else {
        report.rejected++;
        for (const r of item.rejects) await keep(r);
      }
    }
  } catch (e) {
    if (!(e instanceof BatchError)) throw e;
    report.fatal = e.reject;
    await keep(e.reject);
  } finally {
    if (out) {
      if (pending) await out.write(pending);
      await out.close();
    }
  }
  report.ok = report.fatal === undefined && (report.rejected === 0 || options.skipInvalid === true);
  return report;
}
