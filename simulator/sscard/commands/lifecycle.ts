// Life-cycle commands (the PBOC-style COS, JR/T 0025): APPLICATION BLOCK 84 1E, APPLICATION
// UNBLOCK 84 18, CARD BLOCK 84 16 — each carries only a 4-byte PBOC MAC over the header, under
// the key of its type whose id is P1 (cardsmith choice) — and END OF PERSONALIZATION 80 EA 00 00
// (the instruction is cardsmith's choice; no public trace fixes one).
import { CellId, MF_NODE } from '../../core/cells.js';
import { SW, fail, ok, type Reply } from '../../core/sw.js';
import type { Ctx } from '../context.js';
import { KeyType } from '../keys.js';
import { hasPersoAuthority, macKey, verifyCommandMac } from '../security.js';

/** 84 1E <key id> <00 temporary | 01 permanent> 04 MAC: blocks the current DF (not the MF). */
export function applicationBlock(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.body.length !== 0) return fail(SW.WRONG_LENGTH);
  if (cmd.p2 !== 0x00 && cmd.p2 !== 0x01) return fail(SW.INCORRECT_P1P2);
  const df = c.fs.currentDf;
  if (df === MF_NODE) return fail(SW.CONDITIONS_NOT_SATISFIED);
  const restore = verifyCommandMac(c, macKey(c, KeyType.APP_BLOCK, cmd.p1));
  c.tx('application block', (tx) => {
    restore(tx);
    tx.put(CellId.dfstate(df), { t: 'dfstate', state: cmd.p2 === 0x01 ? 'terminated' : 'blocked' });
  });
  return ok();
}

/** 84 18 <key id> 00 04 MAC: lifts a temporary block of the current DF. */
export function applicationUnblock(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.body.length !== 0) return fail(SW.WRONG_LENGTH);
  if (cmd.p2 !== 0x00) return fail(SW.INCORRECT_P1P2);
  const df = c.fs.currentDf;
  if (c.tree.dfState(df) !== 'blocked') return fail(SW.CONDITIONS_NOT_SATISFIED);
  const restore = verifyCommandMac(c, macKey(c, KeyType.APP_BLOCK, cmd.p1));
  c.tx('application unblock', (tx) => {
    restore(tx);
    tx.put(CellId.dfstate(df), { t: 'dfstate', state: 'active' });
  });
  return ok();
}

/** 84 16 <key id> 00 04 MAC: blocks the whole card for ever. */
export function cardBlock(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.body.length !== 0) return fail(SW.WRONG_LENGTH);
  if (cmd.p2 !== 0x00) return fail(SW.INCORRECT_P1P2);
  const restore = verifyCommandMac(c, macKey(c, KeyType.CARD_BLOCK, cmd.p1));
  c.tx('card block', (tx) => {
    restore(tx);
    tx.put(CellId.card, { ...c.card(), lifecycle: 'blocked' });
  });
  return ok();
}

/** 80 EA 00 00: blank → personalized; needs the personalization authority (key 00 at the MF). */
export function endPersonalization(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.data.length !== 0) return fail(SW.WRONG_LENGTH);
  if (cmd.p1 !== 0 || cmd.p2 !== 0) return fail(SW.INCORRECT_P1P2);
  if (c.lifecycle() !== 'blank') return fail(SW.CONDITIONS_NOT_SATISFIED);
  if (!hasPersoAuthority(c)) return fail(SW.SECURITY_STATUS_NOT_SATISFIED);
  c.tx('end of personalization', (tx) => tx.put(CellId.card, { ...c.card(), lifecycle: 'personalized' }));
  return ok();
}
