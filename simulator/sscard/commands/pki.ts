// Generation-3 PKI application commands (LD/T 32): on-card SM2 key generation
//   80 40 00 00 08 C0 02 <public-key EF FID> C2 02 <private-key EF FID> Le
// → 04 ‖ X ‖ Y (65 bytes; the response format is cardsmith's choice), the public key written to
// the first EF (65 bytes) and the private key d (32 bytes) to the second, an internal EF that no
// command ever reads — both in one transaction. And, to prove a key pair works (cardsmith
// choice), PSO COMPUTE DIGITAL SIGNATURE 00 2A 9E 9A Lc M Le → r ‖ s (64 bytes): SM3withSM2
// over M with the default ID and the private key in EF 0013 of the current DF (Z_A uses the
// public key of that private key, i.e. what key generation wrote to EF 0012). Key generation needs the update access of both EFs, signing the "use" access
// (first AC byte) of the private-key EF. The SM2 randomness comes from the card's seeded DRBG.
import { sm2GenerateKeyPair, sm2Sign } from '../../../crypto/sm2.js';
import { parseTlv, type TlvNode } from '../../../iso7816/index.js';
import { SW, fail, ok, type Reply } from '../../core/sw.js';
import type { EfSpec } from '../../fs/spec.js';
import type { Ctx } from '../context.js';
import { authorize } from '../security.js';

export const SIGNING_PRIVATE_FID = 0x0013;

/** In T=1 a too-small Le must stop a command with effects before it acts (6Cxx: not executed). */
function requireNe(c: Ctx, n: number): void {
  if (!c.options.t0 && c.cmd.ne !== undefined && c.cmd.ne < n) fail(0x6c00 | n);
}

function efIn(c: Ctx, fid: number): { node: number; spec: EfSpec } {
  const node = c.tree.childByFid(c.fs.currentDf, fid);
  if (node === undefined) return fail(SW.FILE_NOT_FOUND);
  const spec = c.tree.spec(node);
  if (spec.type !== 'ef' || spec.structure !== 'transparent') return fail(SW.INCOMPATIBLE_FILE_STRUCTURE);
  return { node, spec };
}

export function generateKeyPair(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.p1 !== 0 || cmd.p2 !== 0) return fail(SW.INCORRECT_P1P2);
  if (cmd.data.length === 0) return fail(SW.WRONG_LENGTH);
  let nodes: TlvNode[];
  try {
    nodes = parseTlv(cmd.data);
  } catch {
    return fail(SW.INCORRECT_DATA);
  }
  const [a, b] = nodes;
  if (nodes.length !== 2 || a!.tag !== 0xc0 || b!.tag !== 0xc2 || a!.length !== 2 || b!.length !== 2) return fail(SW.INCORRECT_DATA);
  const pubFid = (a!.value[0]! << 8) | a!.value[1]!;
  const privFid = (b!.value[0]! << 8) | b!.value[1]!;
  const pub = efIn(c, pubFid);
  const priv = efIn(c, privFid);
  if (pub.spec.internal || !priv.spec.internal) return fail(SW.INCOMPATIBLE_FILE_STRUCTURE);
  if (pub.spec.size < 65 || priv.spec.size < 32) return fail(SW.NOT_ENOUGH_MEMORY);
  requireNe(c, 65);
  const df = c.fs.currentDf;
  const restorePriv = authorize(c, priv.spec.access.update, df);
  const restorePub = authorize(c, pub.spec.access.update, df);
  const pair = sm2GenerateKeyPair((n) => c.drbg.bytes(n));
  c.tx('generate key pair', (tx) => {
    restorePriv(tx);
    restorePub(tx);
    const pubData = new Uint8Array(c.tree.binary(pub.node));
    pubData.set(pair.publicKey);
    const privData = new Uint8Array(c.tree.binary(priv.node));
    privData.set(pair.privateKey);
    c.tree.writeBinary(tx, pub.node, pubData);
    c.tree.writeBinary(tx, priv.node, privData);
  });
  pair.privateKey.fill(0);
  return ok(pair.publicKey);
}

export function computeSignature(c: Ctx): Reply {
  const { cmd } = c;
  if (cmd.p1 !== 0x9e || cmd.p2 !== 0x9a) return fail(SW.INCORRECT_P1P2);
  if (cmd.data.length === 0) return fail(SW.WRONG_LENGTH);
  const priv = efIn(c, SIGNING_PRIVATE_FID);
  if (!priv.spec.internal || priv.spec.size < 32) return fail(SW.REFERENCED_DATA_NOT_FOUND);
  const restore = authorize(c, priv.spec.access.read, c.fs.currentDf);
  c.tx('sign', restore);
  const d = c.tree.binary(priv.node).slice(0, 32);
  try {
    return ok(sm2Sign(d, cmd.data, { random: (n) => c.drbg.bytes(n) }));
  } catch {
    // No key pair generated yet (d = 0) or a public key that is not on the curve.
    return fail(SW.CONDITIONS_NOT_SATISFIED);
  } finally {
    d.fill(0);
  }
}
