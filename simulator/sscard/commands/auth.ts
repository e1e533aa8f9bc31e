// GET CHALLENGE (ISO/IEC 7816-4 §11.5.3), EXTERNAL AUTHENTICATE (§11.5.4) and INTERNAL
// AUTHENTICATE (§11.5.2) as the social-security COS does them (LD/T 32 and the PBOC-style COS), with
// cardsmith's exact definitions (docs/simulator.md):
//   EXTERNAL AUTHENTICATE 00 82 00 <key id> Lc C, C = ECB_K(challenge ‖ 00…) where the challenge
//   is right-padded with zeros to a whole number of cipher blocks (3DES: 4/8 → 8, 16 → 16 bytes;
//   SM4: 16), K = the key's 3DES or SM4 key. Keys of type external-auth, then master, are accepted.
//   INTERNAL AUTHENTICATE 00 88 00 <key id> Lc D Le → ECB_K(D), D a whole number of blocks.
import { constantTimeEqual } from '../../../bytes/index.js';
import { blockCipher } from '../../../crypto/block.js';
import { SW, fail, ok, reply, triesLeft, type Reply } from '../../core/sw.js';
import { Granted } from '../../fs/runtime.js';
import type { Ctx } from '../context.js';
import { blockSize, findKey, KeyType, triesLeftOf, type KeyRef } from '../keys.js';
import { AUTH_KEY_TYPES, guarded } from '../security.js';

export function getChallenge(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.data.length !== 0) return fail(SW.WRONG_LENGTH);
  if (cmd.p1 !== 0 || cmd.p2 !== 0) return fail(SW.INCORRECT_P1P2);
  const n = cmd.ne;
  if (n !== 4 && n !== 8 && n !== 16) return fail(SW.WRONG_LENGTH);
  const challenge = c.drbg.bytes(n);
  c.session.challenge = challenge;
  // Nothing changes the challenge in place, and process() copies the reply out.
  return ok(challenge);
}

/** The block the host encrypts: the challenge right-padded with zeros to whole cipher blocks. */
export function paddedChallenge(challenge: Uint8Array, block: number): Uint8Array {
  const out = new Uint8Array(Math.max(block, Math.ceil(challenge.length / block) * block));
  out.set(challenge);
  return out;
}

export function ecb(key: KeyRef, data: Uint8Array): Uint8Array {
  return blockCipher(key.entry.alg === 'sm4' ? 'sm4' : 'des3').encryptEcb(key.entry.value, data);
}

export function externalAuthenticate(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.p1 !== 0) return fail(SW.INCORRECT_P1P2);
  const key = findKey(c.tree, c.store, c.fs.currentDf, AUTH_KEY_TYPES, cmd.p2) ?? fail(SW.REFERENCED_DATA_NOT_FOUND);
  if (triesLeftOf(c.store, key) <= 0) return fail(SW.AUTH_METHOD_BLOCKED);
  const challenge = c.session.challenge;
  if (!challenge) return fail(SW.REFERENCE_DATA_NOT_USABLE);
  const expectedInput = paddedChallenge(challenge, blockSize(key.entry.alg));
  if (cmd.data.length !== expectedInput.length) return fail(SW.WRONG_LENGTH);
  c.takeChallenge();
  const cryptogram = cmd.data;
  const result = guarded(c, key, `external-auth key ${key.entry.id}`, () => constantTimeEqual(ecb(key, expectedInput), cryptogram));
  if (!result.ok) {
    c.fs.revoke(Granted.key(key.df, key.entry.id));
    return reply(triesLeft(result.left));
  }
  c.tx('external authenticate', result.restore);
  c.fs.grant(Granted.key(key.df, key.entry.id), key.df);
  return ok();
}

export function internalAuthenticate(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.p1 !== 0) return fail(SW.INCORRECT_P1P2);
  const key = findKey(c.tree, c.store, c.fs.currentDf, [KeyType.INTERNAL_AUTH], cmd.p2) ?? fail(SW.REFERENCED_DATA_NOT_FOUND);
  const block = blockSize(key.entry.alg);
  if (cmd.data.length === 0 || cmd.data.length % block !== 0 || cmd.data.length > 128) return fail(SW.WRONG_LENGTH);
  return ok(ecb(key, cmd.data));
}
