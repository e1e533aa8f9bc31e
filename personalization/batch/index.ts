// Batch input: cardholder records in CSV or JSON Lines, streamed and checked against a profile.
export { batchFormat, checkBatch, readBatch, todayUtc } from './check.js';
export type { BatchFormat, BatchItem, BatchRecord, BatchReport, CheckBatchOptions, ReadBatchOptions } from './check.js';
export { csvCell, parseCsv } from './csv.js';
export type { CsvField, CsvItem } from './csv.js';
export { parseJsonl, splitLines } from './jsonl.js';
export type { JsonlItem } from './jsonl.js';
export { readUtf8 } from './decode.js';
export { KeySet } from './dedupe.js';
export { BatchError, formatReject, mask } from './errors.js';
export type { Reject } from './errors.js';
export { checkField, gbkLength } from './fields.js';
export type { FieldContext, FieldResult } from './fields.js';
