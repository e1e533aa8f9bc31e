// Response length rules (ISO/IEC 7816-3 §12.2 for T=0, ISO/IEC 7816-4 §5.1 for Ne):
// T=0 (card option): a case-2 command whose Le differs from the data available gets 6Cxx (repeat
// with Le = xx); any other command with response data gets 61xx and the data waits for GET
// RESPONSE 00 C0 00 00 Le, which serves it in pieces (61xx while more remains) and ends with
// the command's own status word.
// T=1 (default): data longer than Ne gets 6Cxx (no data); data without an Le field is returned
// anyway (cardsmith choice: lenient, like most T=1 cards with a case-3 SELECT).
import { SW, fail, reply, type Reply } from './sw.js';

export interface Pending {
  data: Uint8Array;
  sw: number;
}

const xx = (n: number) => (n >= 256 ? 0x00 : n);

/**
 * Applies the rules to a handler's reply for a command with data length `nc` and Ne `ne`; may
 * leave data pending for GET RESPONSE (T=0) in `session.pending`.
 */
export function shapeReply(r: Reply, nc: number, ne: number | undefined, t0: boolean, session: { pending: Pending | undefined }): Reply {
  const n = r.data.length;
  if (n === 0) return r;
  if (!t0) {
    if (ne !== undefined && n > ne) return reply(0x6c00 | xx(n));
    return r;
  }
  if (nc === 0 && ne !== undefined) {
    return n === ne ? r : reply(0x6c00 | xx(n));
  }
  session.pending = { data: r.data, sw: r.sw };
  return reply(0x6100 | xx(n));
}

/** GET RESPONSE 00 C0 00 00 Le against what is pending (6985 when nothing is). */
export function getResponse(pending: Pending | undefined, p1: number, p2: number, nc: number, ne: number | undefined): { reply: Reply; pending: Pending | undefined } {
  if (p1 !== 0 || p2 !== 0) return fail(SW.INCORRECT_P1P2);
  if (nc !== 0 || ne === undefined) return fail(SW.WRONG_LENGTH);
  if (!pending) return fail(SW.CONDITIONS_NOT_SATISFIED);
  const left = pending.data.length;
  if (ne > left) return { reply: reply(0x6c00 | xx(left)), pending };
  if (ne === left) return { reply: reply(pending.sw, pending.data), pending: undefined };
  const rest = pending.data.slice(ne);
  return { reply: reply(0x6100 | xx(rest.length), pending.data.slice(0, ne)), pending: { data: rest, sw: pending.sw } };
}
