// Security checks of the social-security COS: access conditions against the security status
// (ISO/IEC 7816-4 §5.4), error counters that are decremented *before* a secret is compared and
// restored only after a success (so that cutting the power during a wrong guess never gives a
// free try), and the PBOC MAC check of secure-messaging commands (the PBOC-style COS, JR/T 0025: ISO 9797-1
// padding 2, IV = card challenge ‖ zeros, 4-byte MAC).
import { concat, constantTimeEqual } from '../../bytes/index.js';
import { pbocIv, pbocMac } from '../../crypto/pboc-mac.js';
import { CellId, MF_NODE, type Cell } from '../core/cells.js';
import type { TransactionWriter } from '../core/store.js';
import { SW, fail } from '../core/sw.js';
import type { AccessCondition } from '../fs/access.js';
import { Granted } from '../fs/runtime.js';
import type { Command, Ctx } from './context.js';
import { blockSize, findKey, KeyType, MASTER_KEY_ID, triesLeftOf, type KeyRef } from './keys.js';

/** Work to add to the command's effect transaction (e.g. restoring an error counter). */
export type Restore = (tx: TransactionWriter<Cell>) => void;
const NOTHING: Restore = () => {};

/**
 * While the card is blank, external authentication with key 00 at the MF (the transport key,
 * or the MF master key that replaced it) is the personalization authority: it satisfies every
 * access condition except NEVER (cardsmith choice).
 */
export function hasPersoAuthority(c: Ctx): boolean {
  return c.lifecycle() === 'blank' && c.fs.has(Granted.key(MF_NODE, MASTER_KEY_ID));
}

/** Types that EXTERNAL AUTHENTICATE and the 2x access condition accept, in lookup order. */
export const AUTH_KEY_TYPES = [KeyType.EXTERNAL_AUTH, KeyType.MASTER] as const;

/**
 * Checks access condition `ac` of a file in DF `df` for the current command. Returns the work
 * the command's transaction must include (for a MAC check: restoring the key's counter).
 */
export function authorize(c: Ctx, ac: AccessCondition, df: number): Restore {
  const cmd = c.cmd;
  if (ac.kind === 'never') return fail(SW.SECURITY_STATUS_NOT_SATISFIED);
  if (ac.kind === 'sm') {
    if (!cmd.sm) {
      if (hasPersoAuthority(c)) return NOTHING;
      return fail(SW.SECURITY_STATUS_NOT_SATISFIED);
    }
    const key = findKey(c.tree, c.store, df, [KeyType.LINE_PROTECTION], ac.keyId);
    if (!key) return fail(SW.REFERENCED_DATA_NOT_FOUND);
    return verifyCommandMac(c, key);
  }
  // Secure messaging is accepted only where the access condition asks for it.
  if (cmd.sm) return fail(SW.SM_NOT_SUPPORTED);
  if (ac.kind === 'always' || hasPersoAuthority(c)) return NOTHING;
  if (ac.kind === 'pin') {
    const pin = findKey(c.tree, c.store, df, [KeyType.PIN], ac.id);
    if (pin && c.fs.has(Granted.pin(pin.df, ac.id))) return NOTHING;
    return fail(SW.SECURITY_STATUS_NOT_SATISFIED);
  }
  const key = findKey(c.tree, c.store, df, AUTH_KEY_TYPES, ac.id);
  if (key && c.fs.has(Granted.key(key.df, ac.id))) return NOTHING;
  return fail(SW.SECURITY_STATUS_NOT_SATISFIED);
}

/**
 * The error-counter discipline for every secret comparison: refuse a blocked reference (6983),
 * commit the decremented counter, *then* compare. On a match, return the restore to put in the
 * effect transaction; on a mismatch return the tries left (the counter is already down).
 */
export function guarded(c: Ctx, ref: KeyRef, what: string, compare: () => boolean): { ok: true; restore: Restore } | { ok: false; left: number } {
  const left = triesLeftOf(c.store, ref);
  if (left <= 0) return fail(SW.AUTH_METHOD_BLOCKED);
  const triesId = CellId.tries(ref.df, ref.entry.type, ref.entry.id);
  c.tx(`decrement ${triesId}`, (tx) => tx.put(triesId, { t: 'tries', left: left - 1 }));
  c.trace(`compare ${what}`);
  if (!compare()) return { ok: false, left: left - 1 };
  const limit = ref.entry.limit;
  return { ok: true, restore: (tx) => tx.put(triesId, { t: 'tries', left: limit }) };
}

/** The bytes a command MAC covers: CLA INS P1 P2 Lc ‖ data without the MAC (Lc as sent). */
export function macInput(cmd: Command): Uint8Array {
  return concat(Uint8Array.of(cmd.cla, cmd.ins, cmd.p1, cmd.p2, cmd.data.length), cmd.body);
}

/** PBOC MAC under `key` with IV = challenge ‖ zeros. */
export function commandMac(key: KeyRef, challenge: Uint8Array, input: Uint8Array): Uint8Array {
  const alg = key.entry.alg === 'sm4' ? 'sm4' : 'des3';
  return pbocMac({ alg, key: key.entry.value, iv: pbocIv(challenge, blockSize(key.entry.alg)), data: input });
}

/** Verifies the MAC of the current secure-messaging command (CLA 04 / 84) under `key`. */
export function verifyCommandMac(c: Ctx, key: KeyRef): Restore {
  const cmd = c.cmd;
  if (!cmd.sm || !cmd.mac) return fail(SW.SM_DATA_INCORRECT);
  return verifyMac(c, key, macInput(cmd), cmd.mac);
}

/**
 * Verifies `mac` over `input` under `key`: needs a challenge (6984 without one, or with one
 * longer than the cipher block), decrements the key's counter first, answers 6988 for a wrong
 * MAC. Returns the counter restore for the effect transaction.
 */
export function verifyMac(c: Ctx, key: KeyRef, input: Uint8Array, mac: Uint8Array): Restore {
  if (key.entry.alg === 'pin') return fail(SW.CONDITIONS_NOT_SATISFIED);
  if (triesLeftOf(c.store, key) <= 0) return fail(SW.AUTH_METHOD_BLOCKED);
  const challenge = c.takeChallenge();
  if (!challenge || challenge.length > blockSize(key.entry.alg)) return fail(SW.REFERENCE_DATA_NOT_USABLE);
  const result = guarded(c, key, `mac ${key.entry.type}/${key.entry.id}`, () => constantTimeEqual(commandMac(key, challenge, input), mac));
  if (!result.ok) return fail(SW.SM_DATA_INCORRECT);
  return result.restore;
}

/** Looks up a MAC key of `type` with `id` from the current DF upward; 6A88 when absent. */
export function macKey(c: Ctx, type: number, id: number): KeyRef {
  return findKey(c.tree, c.store, c.fs.currentDf, [type], id) ?? fail(SW.REFERENCED_DATA_NOT_FOUND);
}
