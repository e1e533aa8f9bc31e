// PIN commands of the social-security COS (LD/T 32 and the PBOC-style COS; byte formats are cardsmith's
// where the public record is silent — docs/simulator.md "PINs"):
//   VERIFY          00 20 00 <ref> Lc PIN(BCD)       plain
//                   00 20 00 <ref>                   → 9000 verified / 63Cx tries left / 6983 blocked
//                   00 20 01 <ref> 10 E              generation-3 PKI: E = SM4-ECB(SM3(PIN)[0..16], challenge16)
//   PIN HASH        80 C4 01 <n> Lc C1 n PIN Le      → SM3(PIN bytes), 32 bytes
//   RELOAD PIN      80 5E 00 <ref> Lc newPIN ‖ MAC   MAC under the PIN-reload key with the PIN's id
//   CHANGE PIN      80 5E 01 <ref> Lc oldPIN ‖ FF ‖ newPIN
//   PIN UNBLOCK     84 24 00 <ref> Lc [newPIN] ‖ MAC MAC under the PUK with the PIN's id
// <ref> = P2: b5-b1 PIN id, b8 = 1 "specific" (only the current DF), b8 = 0 "global" (the
// current DF, then its ancestors, as for every key lookup). b7-b6 must be 0.
import { concat, constantTimeEqual } from '../../../bytes/index.js';
import { blockCipher } from '../../../crypto/block.js';
import { sm3 } from '../../../crypto/sm3.js';
import { parseTlv } from '../../../iso7816/index.js';
import { CellId, type Cell } from '../../core/cells.js';
import type { TransactionWriter } from '../../core/store.js';
import { SW, fail, ok, reply, triesLeft, type Reply } from '../../core/sw.js';
import { Granted } from '../../fs/runtime.js';
import type { Ctx } from '../context.js';
import { findKey, isBcdPin, keyIn, KeyType, triesLeftOf, type KeyRef } from '../keys.js';
import { guarded, verifyCommandMac, verifyMac } from '../security.js';

function pinRef(c: Ctx, p2: number): KeyRef {
  if ((p2 & 0x60) !== 0) return fail(SW.INCORRECT_P1P2);
  const id = p2 & 0x1f;
  const found = (p2 & 0x80) !== 0 ? keyIn(c.store, c.fs.currentDf, KeyType.PIN, id) : findKey(c.tree, c.store, c.fs.currentDf, [KeyType.PIN], id);
  return found ?? fail(SW.REFERENCED_DATA_NOT_FOUND);
}

/** The generation-3 PIN digest: SM3 of the BCD PIN bytes (LD/T 32 test vector). */
export function pinDigest(pin: Uint8Array): Uint8Array {
  return sm3(pin);
}

export function verify(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.p1 !== 0x00 && cmd.p1 !== 0x01) return fail(SW.INCORRECT_P1P2);
  const pin = pinRef(c, cmd.p2);
  const granted = Granted.pin(pin.df, pin.entry.id);
  if (cmd.data.length === 0) {
    // ISO 7816-4 §11.5.6: no data field asks for the verification status.
    if (cmd.p1 !== 0x00) return fail(SW.WRONG_LENGTH);
    const left = triesLeftOf(c.store, pin);
    if (left <= 0) return fail(SW.AUTH_METHOD_BLOCKED);
    return c.fs.has(granted) ? ok() : reply(triesLeft(left));
  }
  let compare: () => boolean;
  if (cmd.p1 === 0x00) {
    if (cmd.data.length > 8) return fail(SW.WRONG_LENGTH);
    const offered = cmd.data;
    compare = () => constantTimeEqual(offered, pin.entry.value);
  } else {
    if (cmd.data.length !== 16) return fail(SW.WRONG_LENGTH);
    if (triesLeftOf(c.store, pin) <= 0) return fail(SW.AUTH_METHOD_BLOCKED);
    const challenge = c.takeChallenge();
    if (!challenge || challenge.length !== 16) return fail(SW.REFERENCE_DATA_NOT_USABLE);
    const offered = cmd.data;
    compare = () => {
      const key = pinDigest(pin.entry.value).slice(0, 16);
      const expected = blockCipher('sm4').encryptEcb(key, challenge);
      key.fill(0);
      return constantTimeEqual(offered, expected);
    };
  }
  const result = guarded(c, pin, `pin ${pin.entry.id}`, compare);
  if (!result.ok) {
    c.fs.revoke(granted);
    return reply(triesLeft(result.left));
  }
  c.tx('verify', result.restore);
  c.fs.grant(granted, pin.df);
  return ok();
}

export function pinHash(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.p1 !== 0x01) return fail(SW.INCORRECT_P1P2);
  if (cmd.data.length === 0) return fail(SW.WRONG_LENGTH);
  let value: Uint8Array;
  try {
    const nodes = parseTlv(cmd.data);
    if (nodes.length !== 1 || nodes[0]!.tag !== 0xc1) return fail(SW.INCORRECT_DATA);
    value = nodes[0]!.value;
  } catch {
    return fail(SW.INCORRECT_DATA);
  }
  if (value.length < 1 || value.length > 8) return fail(SW.INCORRECT_DATA);
  // P2 is the PIN length in bytes (03 in the public trace with a 3-byte PIN): our reading.
  if (cmd.p2 !== value.length) return fail(SW.INCORRECT_P1P2);
  return ok(pinDigest(value));
}

/** Writes a new PIN value (when given) and resets the PIN's counter: two cells. */
function putPin(tx: TransactionWriter<Cell>, pin: KeyRef, value: Uint8Array | undefined): void {
  if (value) tx.put(CellId.key(pin.df, pin.entry.type, pin.entry.id), { t: 'key', key: { ...pin.entry, value } });
  tx.put(CellId.tries(pin.df, pin.entry.type, pin.entry.id), { t: 'tries', left: pin.entry.limit });
}

export function changeOrReloadPin(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.p1 !== 0x00 && cmd.p1 !== 0x01) return fail(SW.INCORRECT_P1P2);
  const pin = pinRef(c, cmd.p2);
  if (cmd.p1 === 0x00) {
    // RELOAD: new PIN ‖ MAC, the MAC over 80 5E 00 P2 Lc ‖ new PIN, IV = challenge ‖ zeros.
    if (cmd.data.length < 5) return fail(SW.WRONG_LENGTH);
    const newPin = cmd.data.slice(0, -4);
    const mac = cmd.data.slice(-4);
    if (!isBcdPin(newPin)) return fail(SW.INCORRECT_DATA);
    const key = findKey(c.tree, c.store, pin.df, [KeyType.PIN_RELOAD], pin.entry.id) ?? fail(SW.REFERENCED_DATA_NOT_FOUND);
    const input = concat(Uint8Array.of(cmd.cla, cmd.ins, cmd.p1, cmd.p2, cmd.data.length), newPin);
    const restore = verifyMac(c, key, input, mac);
    c.tx('reload pin', (tx) => {
      restore(tx);
      putPin(tx, pin, newPin);
    });
    c.fs.revoke(Granted.pin(pin.df, pin.entry.id));
    return ok();
  }
  // CHANGE: old PIN ‖ FF ‖ new PIN.
  const sep = cmd.data.indexOf(0xff);
  if (sep < 1 || sep > 8 || cmd.data.length - sep - 1 < 1 || cmd.data.length - sep - 1 > 8) return fail(SW.WRONG_LENGTH);
  const oldPin = cmd.data.slice(0, sep);
  const newPin = cmd.data.slice(sep + 1);
  if (!isBcdPin(newPin)) return fail(SW.INCORRECT_DATA);
  const result = guarded(c, pin, `pin ${pin.entry.id}`, () => constantTimeEqual(oldPin, pin.entry.value));
  const granted = Granted.pin(pin.df, pin.entry.id);
  if (!result.ok) {
    c.fs.revoke(granted);
    return reply(triesLeft(result.left));
  }
  c.tx('change pin', (tx) => {
    result.restore(tx);
    putPin(tx, pin, newPin);
  });
  c.fs.grant(granted, pin.df);
  return ok();
}

export function pinUnblock(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.p1 !== 0x00) return fail(SW.INCORRECT_P1P2);
  const pin = pinRef(c, cmd.p2);
  const newPin = cmd.body.length > 0 ? cmd.body : undefined;
  if (newPin && !isBcdPin(newPin)) return fail(SW.INCORRECT_DATA);
  const puk = findKey(c.tree, c.store, pin.df, [KeyType.PIN_UNBLOCK], pin.entry.id) ?? fail(SW.REFERENCED_DATA_NOT_FOUND);
  const restore = verifyCommandMac(c, puk);
  c.tx('pin unblock', (tx) => {
    restore(tx);
    putPin(tx, pin, newPin);
  });
  return ok();
}
