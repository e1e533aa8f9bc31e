// SELECT (ISO/IEC 7816-4 §11.2.2): P1 00 FID (MF, or a file near the current DF), 01 child DF,
// 02 EF under the current DF, 03 parent DF, 04 DF name (P2 b2-b1: 00 first/only, 10 next
// occurrence; right-truncated names match), 08 path from the MF, 09 path from the current DF.
// P2 b4-b3: 00 FCI, 01 FCP, 11 no data (10 FMD is not supported → 6A86).
import { MF_NODE } from '../../core/cells.js';
import { SW, fail, reply, type Reply } from '../../core/sw.js';
import { encodeFci, encodeFcp } from '../../fs/fcp.js';
import { MF_FID } from '../../fs/spec.js';
import type { Ctx } from '../context.js';
import { fcpContext, visible } from '../files.js';

export function select(c: Ctx): Reply {
  const { p1, p2, data } = c.cmd;
  if ((p2 & 0xf0) !== 0) return fail(SW.INCORRECT_P1P2);
  const answer = p2 & 0x0c;
  if (answer === 0x08) return fail(SW.INCORRECT_P1P2);
  const occurrence = p2 & 0x03;
  if (occurrence !== 0 && !(p1 === 0x04 && occurrence === 0x02)) return fail(SW.INCORRECT_P1P2);

  const target = resolve(c, p1, occurrence, data);
  if (target === undefined || !visible(c, target)) return fail(SW.FILE_NOT_FOUND);
  const state = c.tree.effectiveState(target);
  if (state === 'terminated') return fail(SW.FUNCTION_NOT_SUPPORTED);

  const spec = c.tree.spec(target);
  if (spec.type === 'df') c.fs.selectDf(c.tree, target);
  else c.fs.selectEf(c.tree, target);

  const sw = state === 'blocked' ? SW.FILE_DEACTIVATED : SW.OK;
  if (answer === 0x0c) return reply(sw);
  const ctx = fcpContext(c, target);
  return reply(sw, answer === 0x04 ? encodeFcp(spec, ctx) : encodeFci(spec, ctx));
}

function fidOf(data: Uint8Array): number {
  if (data.length !== 2) return fail(SW.WRONG_LENGTH);
  return (data[0]! << 8) | data[1]!;
}

function resolve(c: Ctx, p1: number, occurrence: number, data: Uint8Array): number | undefined {
  const { tree } = c;
  const cur = c.fs.currentDf;
  switch (p1) {
    case 0x00: {
      if (data.length === 0) return MF_NODE;
      const fid = fidOf(data);
      if (fid === MF_FID) return MF_NODE;
      // ISO 7816-4 §5.3.1.1: the children of the current DF, the current DF, its parent, the parent's children.
      const parent = tree.parent(cur);
      if (tree.childByFid(cur, fid) !== undefined) return tree.childByFid(cur, fid);
      if (tree.spec(cur).fid === fid) return cur;
      if (parent !== null && tree.spec(parent).fid === fid) return parent;
      return parent === null ? undefined : tree.childByFid(parent, fid);
    }
    case 0x01: {
      const n = tree.childByFid(cur, fidOf(data));
      return n !== undefined && tree.spec(n).type === 'df' ? n : undefined;
    }
    case 0x02: {
      const n = tree.childByFid(cur, fidOf(data));
      return n !== undefined && tree.spec(n).type === 'ef' ? n : undefined;
    }
    case 0x03:
      if (data.length !== 0) return fail(SW.WRONG_LENGTH);
      return tree.parent(cur) ?? undefined;
    case 0x04: {
      if (data.length < 1 || data.length > 16) return fail(SW.WRONG_LENGTH);
      const matches = tree.dfsByName(data).filter((n) => visible(c, n));
      if (occurrence === 0x00) return matches[0];
      // Next occurrence: the first match after the current DF in tree order.
      const order = tree.preorder();
      const at = order.indexOf(cur);
      return matches.find((n) => order.indexOf(n) > at);
    }
    case 0x08:
    case 0x09: {
      if (data.length < 2 || data.length % 2 !== 0) return fail(SW.WRONG_LENGTH);
      const fids: number[] = [];
      for (let i = 0; i < data.length; i += 2) fids.push((data[i]! << 8) | data[i + 1]!);
      // A path from the MF may start with 3F00 itself; ISO leaves it out, many hosts put it in.
      if (p1 === 0x08 && fids[0] === MF_FID) fids.shift();
      let node: number | undefined = p1 === 0x08 ? MF_NODE : cur;
      for (const fid of fids) {
        if (node === undefined || tree.spec(node).type !== 'df') return undefined;
        node = tree.childByFid(node, fid);
      }
      return node;
    }
    default:
      return fail(SW.INCORRECT_P1P2);
  }
}
