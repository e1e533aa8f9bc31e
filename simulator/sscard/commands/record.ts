// READ RECORD / UPDATE RECORD / APPEND RECORD (ISO/IEC 7816-4 §11.4): SFI in P2 b8-b4 (0 = the
// current EF), P2 b3-b1 = 100 → P1 is a record number (P1 00 = the current record).
// SIMPLE-TLV record files (FDB 03/05/07) identify a record by its first byte, its tag: for them
// P2 b3-b1 = 100 reads or updates *the record whose tag equals P1* — what the public social-
// security traces `00 B2 <tag> <SFI<<3|04>` and `00 DC <tag> …` rely on (LD/T 32; our
// reading, documented) — and b3-b1 = 000 (first occurrence of record identifier P1) does the same.
import { SW, fail, reply, type Reply } from '../../core/sw.js';
import type { EfSpec } from '../../fs/spec.js';
import type { Ctx } from '../context.js';
import { targetEf } from '../files.js';
import { authorize } from '../security.js';

function addressing(p2: number): { sfi: number; mode: number } {
  const sfi = p2 >> 3;
  const mode = p2 & 0x07;
  if (sfi === 0x1f) return fail(SW.INCORRECT_P1P2);
  return { sfi, mode };
}

function recordEf(c: Ctx, sfi: number): { node: number; spec: EfSpec } {
  const t = targetEf(c, sfi);
  if (t.spec.structure === 'transparent') return fail(SW.INCOMPATIBLE_FILE_STRUCTURE);
  return t;
}

/** The record number P1 designates under `mode` (100 or 000), or 6A83. */
function recordNumber(c: Ctx, node: number, spec: EfSpec, p1: number, mode: number): number {
  if (mode !== 0x04 && mode !== 0x00) return fail(SW.INCORRECT_P1P2);
  if (mode === 0x00 && !spec.tlv) return fail(SW.INCOMPATIBLE_FILE_STRUCTURE);
  if (p1 === 0x00) {
    if (mode === 0x00) return fail(SW.INCORRECT_P1P2);
    const cur = c.fs.currentEf === node ? c.fs.currentRecord : null;
    if (cur === null || cur > c.tree.recordCount(node)) return fail(SW.RECORD_NOT_FOUND);
    return cur;
  }
  if (spec.tlv) return c.tree.recordsWithTag(node, p1)[0] ?? fail(SW.RECORD_NOT_FOUND);
  if (p1 > c.tree.recordCount(node)) return fail(SW.RECORD_NOT_FOUND);
  return p1;
}

/** Record length rules: fixed and cyclic files exactly the record length, variable 1..max; TLV well-formed. */
function checkRecord(spec: EfSpec, body: Uint8Array): void {
  if (body.length === 0 || body.length > spec.recordLength) return fail(SW.WRONG_LENGTH);
  if (spec.structure !== 'linear-variable' && body.length !== spec.recordLength) return fail(SW.WRONG_LENGTH);
  if (spec.tlv) {
    // SIMPLE-TLV (ISO 7816-4 §5.2.1): tag 01–FE, one length byte 00–FE, then exactly that much value.
    const tag = body[0]!;
    if (tag === 0x00 || tag === 0xff || body.length < 2 || body[1]! === 0xff) return fail(SW.INCORRECT_DATA);
    // Fixed-length TLV records may carry padding after the value; variable ones must be exact.
    const end = 2 + body[1]!;
    if (spec.structure === 'linear-variable' ? end !== body.length : end > body.length) return fail(SW.INCORRECT_DATA);
  }
}

export function readRecord(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.body.length !== 0 || cmd.ne === undefined) return fail(SW.WRONG_LENGTH);
  const { sfi, mode } = addressing(cmd.p2);
  if (mode !== 0x04 && mode !== 0x00) return fail(SW.INCORRECT_P1P2);
  const { node, spec } = recordEf(c, sfi);
  const k = recordNumber(c, node, spec, cmd.p1, mode);
  const restore = authorize(c, spec.access.read, c.tree.parent(node)!);
  c.tx('read record', restore);
  c.fs.currentRecord = k;
  return reply(SW.OK, c.tree.record(node, k));
}

export function updateRecord(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.body.length === 0) return fail(SW.WRONG_LENGTH);
  const { sfi, mode } = addressing(cmd.p2);
  if (mode !== 0x04 && mode !== 0x00) return fail(SW.INCORRECT_P1P2);
  const { node, spec } = recordEf(c, sfi);
  const k = recordNumber(c, node, spec, cmd.p1, mode);
  checkRecord(spec, cmd.body);
  // The tag is the record's identity: an update may change its value, not which record it is.
  if (spec.tlv && cmd.body[0] !== c.tree.record(node, k)[0]) return fail(SW.INCORRECT_DATA);
  const restore = authorize(c, spec.access.update, c.tree.parent(node)!);
  c.tx('update record', (tx) => {
    restore(tx);
    c.tree.updateRecord(tx, node, k, cmd.body);
  });
  c.fs.currentRecord = k;
  return reply(SW.OK);
}

export function appendRecord(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.body.length === 0) return fail(SW.WRONG_LENGTH);
  const { sfi, mode } = addressing(cmd.p2);
  if (cmd.p1 !== 0x00 || mode !== 0x00) return fail(SW.INCORRECT_P1P2);
  const { node, spec } = recordEf(c, sfi);
  checkRecord(spec, cmd.body);
  if (spec.tlv && c.tree.recordsWithTag(node, cmd.body[0]!).length > 0) return fail(SW.INCORRECT_DATA);
  const count = c.tree.recordCount(node);
  if (spec.structure !== 'cyclic' && count >= spec.maxRecords) return fail(SW.NOT_ENOUGH_MEMORY);
  const restore = authorize(c, spec.access.append, c.tree.parent(node)!);
  c.tx('append record', (tx) => {
    restore(tx);
    c.tree.appendRecord(tx, node, cmd.body);
  });
  c.fs.currentRecord = spec.structure === 'cyclic' ? 1 : count + 1;
  return reply(SW.OK);
}
