// READ BINARY / UPDATE BINARY (ISO/IEC 7816-4 §11.3.3, §11.3.5), even INS only: P1 b8 = 1 →
// P1 b5-b1 is an SFI (b7-b6 = 00) and P2 the offset; P1 b8 = 0 → P1-P2 is a 15-bit offset.
// With CLA 04 the data field ends with a 4-byte PBOC MAC (access condition 3x).
import { SW, fail, reply, type Reply } from '../../core/sw.js';
import type { Ctx } from '../context.js';
import { targetEf } from '../files.js';
import { authorize } from '../security.js';

function address(p1: number, p2: number): { sfi: number; offset: number } {
  if ((p1 & 0x80) === 0) return { sfi: 0, offset: (p1 << 8) | p2 };
  if ((p1 & 0x60) !== 0 || (p1 & 0x1f) === 0 || (p1 & 0x1f) === 0x1f) return fail(SW.INCORRECT_P1P2);
  return { sfi: p1 & 0x1f, offset: p2 };
}

export function readBinary(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.body.length !== 0 || cmd.ne === undefined) return fail(SW.WRONG_LENGTH);
  const { sfi, offset } = address(cmd.p1, cmd.p2);
  const { node, spec } = targetEf(c, sfi);
  if (spec.structure !== 'transparent') return fail(SW.INCOMPATIBLE_FILE_STRUCTURE);
  // An internal EF (a private key) never leaves the card, whatever its access conditions say.
  if (spec.internal) return fail(SW.SECURITY_STATUS_NOT_SATISFIED);
  if (offset >= spec.size) return fail(SW.WRONG_P1P2);
  const restore = authorize(c, spec.access.read, c.tree.parent(node)!);
  c.tx('read binary', restore);
  const available = spec.size - offset;
  const n = Math.min(cmd.ne, available);
  // Cells are never changed in place, so the reply may show the stored bytes: process() copies them out once.
  const content = c.tree.binary(node);
  const data = offset === 0 && n === content.length ? content : content.subarray(offset, offset + n);
  // Le 00 (or 0000) asks for "as much as there is"; an explicit larger Le gets the warning.
  const asked = cmd.ne !== 256 && cmd.ne !== 65536 && cmd.ne > available;
  return reply(asked ? SW.END_OF_FILE : SW.OK, data);
}

export function updateBinary(c: Ctx): Reply {
  const { cmd } = c;
  const body = cmd.body;
  if (body.length === 0) return fail(SW.WRONG_LENGTH);
  const { sfi, offset } = address(cmd.p1, cmd.p2);
  const { node, spec } = targetEf(c, sfi);
  if (spec.structure !== 'transparent') return fail(SW.INCOMPATIBLE_FILE_STRUCTURE);
  if (offset >= spec.size) return fail(SW.WRONG_P1P2);
  if (offset + body.length > spec.size) return fail(SW.NOT_ENOUGH_MEMORY);
  const restore = authorize(c, spec.access.update, c.tree.parent(node)!);
  c.tx('update binary', (tx) => {
    restore(tx);
    const next = new Uint8Array(c.tree.binary(node));
    next.set(body, offset);
    c.tree.writeBinary(tx, node, next);
  });
  return reply(SW.OK);
}
