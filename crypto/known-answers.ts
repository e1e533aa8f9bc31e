// Runs the known-answer vectors of test-vectors/*.json (format in test-vectors/README.md).
// Shared by the tap test and `cardsmith selftest`, so users can check their installation with
// the same vectors CI checks. Adding a vector is adding JSON; adding an op is one case below.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { equal, fromHex, toHex } from '../bytes/index.js';
import { crypt, isBlockAlg, type BlockAlg } from './block.js';
import { cmac } from './cmac.js';
import { diversify, emvOptionA, type DiversifyMethod, type KeyType } from './diversify.js';
import { hash, type HashAlg } from './hash.js';
import { kcv, type KcvAlg } from './kcv.js';
import { scp03Kdf } from './kdf.js';
import { mac9797 } from './mac.js';
import { pbocMac } from './pboc-mac.js';
import { sm2PublicKey, sm2Sign, sm2Verify, sm2Za } from './sm2.js';

export interface Vector {
  name: string;
  source: string;
  op: string;
  valid?: boolean;
  [field: string]: unknown;
}

export interface VectorFile {
  file: string;
  description: string;
  vectors: Vector[];
}

export interface VectorResult {
  ok: boolean;
  /** Why it failed: expected and computed outputs (vectors hold only published test keys). */
  detail?: string;
}

export function loadVectorFiles(dir: string): VectorFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const parsed = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { description?: string; vectors?: Vector[] };
      if (!Array.isArray(parsed.vectors)) throw new Error(`${file}: no "vectors" array`);
      return { file, description: parsed.description ?? '', vectors: parsed.vectors };
    });
}

function str(v: Vector, field: string): string {
  const value = v[field];
  if (typeof value !== 'string') throw new Error(`vector '${v.name}': field "${field}" missing or not a string`);
  return value;
}

function hex(v: Vector, field: string): Uint8Array {
  return fromHex(str(v, field), `vector '${v.name}' field ${field}`);
}

function optHex(v: Vector, field: string): Uint8Array | undefined {
  return v[field] === undefined ? undefined : hex(v, field);
}

/** Message fields: `message` (hex) or `messageText` (ASCII), optionally repeated `repeat` times. */
function message(v: Vector): Uint8Array {
  const one = v.messageText !== undefined ? new TextEncoder().encode(str(v, 'messageText')) : hex(v, 'message');
  const times = typeof v.repeat === 'number' ? v.repeat : 1;
  const out = new Uint8Array(one.length * times);
  for (let i = 0; i < times; i++) out.set(one, i * one.length);
  return out;
}

function id(v: Vector): Uint8Array | undefined {
  if (v.idHex !== undefined) return hex(v, 'idHex');
  if (v.id !== undefined) return new TextEncoder().encode(str(v, 'id'));
  return undefined;
}

function same(expected: Uint8Array, got: Uint8Array, what = 'output'): VectorResult {
  return equal(expected, got) ? { ok: true } : { ok: false, detail: `${what}: expected ${toHex(expected)}, got ${toHex(got)}` };
}

/** Compares as a prefix: published MACs are often truncated. */
function samePrefix(expected: Uint8Array, got: Uint8Array): VectorResult {
  return same(expected, got.subarray(0, expected.length), 'mac');
}

function blockAlg(v: Vector): BlockAlg {
  const alg = str(v, 'alg');
  if (!isBlockAlg(alg)) throw new Error(`vector '${v.name}': unknown block cipher '${alg}'`);
  return alg;
}

function checkCipher(v: Vector): VectorResult {
  const alg = blockAlg(v);
  const mode = str(v, 'mode') as 'ecb' | 'cbc';
  const key = hex(v, 'key');
  const iv = optHex(v, 'iv');
  const pt = hex(v, 'plaintext');
  const ct = hex(v, 'ciphertext');
  const enc = same(ct, crypt(alg, mode, 'encrypt', key, pt, iv), 'encrypt');
  return enc.ok ? same(pt, crypt(alg, mode, 'decrypt', key, ct, iv), 'decrypt') : enc;
}

function checkIterate(v: Vector): VectorResult {
  const alg = blockAlg(v);
  const key = hex(v, 'key');
  let block = hex(v, 'plaintext');
  const n = Number(v.iterations);
  for (let i = 0; i < n; i++) block = crypt(alg, 'ecb', 'encrypt', key, block);
  return same(hex(v, 'ciphertext'), block);
}

function checkSm2Verify(v: Vector): VectorResult {
  let valid: boolean;
  try {
    valid = sm2Verify(hex(v, 'publicKey'), message(v), hex(v, 'signature'), { id: id(v) });
  } catch (e) {
    // A malformed key or signature is a rejection too, which is what a valid:false vector wants.
    if (v.valid === false) return { ok: true };
    throw e;
  }
  const want = v.valid !== false;
  return valid === want ? { ok: true } : { ok: false, detail: `verify returned ${valid}, expected ${want}` };
}

function checkSm2Sign(v: Vector): VectorResult {
  const d = hex(v, 'privateKey');
  if (v.publicKey !== undefined) {
    const pub = same(hex(v, 'publicKey'), sm2PublicKey(d), 'public key');
    if (!pub.ok) return pub;
  }
  const signature = sm2Sign(d, message(v), { id: id(v), k: hex(v, 'k') });
  const sig = same(hex(v, 'signature'), signature, 'signature');
  if (!sig.ok) return sig;
  return sm2Verify(sm2PublicKey(d), message(v), signature, { id: id(v) }) ? { ok: true } : { ok: false, detail: 'own signature does not verify' };
}

const OPS: Record<string, (v: Vector) => VectorResult> = {
  cipher: checkCipher,
  'cipher-iterate': checkIterate,
  hash: (v) => same(hex(v, 'digest'), hash(str(v, 'alg') as HashAlg, message(v)), 'digest'),
  cmac: (v) => samePrefix(hex(v, 'mac'), cmac(blockAlg(v), hex(v, 'key'), message(v))),
  mac9797: (v) =>
    samePrefix(
      hex(v, 'mac'),
      mac9797({ alg: blockAlg(v), algorithm: Number(v.algorithm) as 1 | 3, padding: Number(v.padding) as 1 | 2, key: hex(v, 'key'), data: message(v), iv: optHex(v, 'iv') }),
    ),
  'pboc-mac': (v) => samePrefix(hex(v, 'mac'), pbocMac({ alg: str(v, 'alg') as 'des' | 'des3' | 'sm4', key: hex(v, 'key'), iv: hex(v, 'iv'), data: message(v) })),
  kcv: (v) => same(hex(v, 'kcv'), kcv(str(v, 'alg') as KcvAlg, hex(v, 'key'), hex(v, 'kcv').length), 'kcv'),
  diversify: (v) =>
    same(
      hex(v, 'key'),
      diversify({
        method: str(v, 'method') as DiversifyMethod,
        master: hex(v, 'master'),
        data: hex(v, 'data'),
        keyType: v.keyType as KeyType | undefined,
        alg: v.alg as 'des3' | 'sm4' | 'aes' | undefined,
      }),
      'key',
    ),
  'emv-option-a': (v) => same(hex(v, 'key'), emvOptionA(hex(v, 'master'), str(v, 'pan'), str(v, 'psn')), 'key'),
  'sm2-verify': checkSm2Verify,
  'sm2-sign': checkSm2Sign,
  'sm2-za': (v) => same(hex(v, 'za'), sm2Za(hex(v, 'publicKey'), id(v)), 'Z_A'),
  'scp03-kdf': (v) => same(hex(v, 'output'), scp03Kdf(hex(v, 'key'), parseInt(str(v, 'constant'), 16), hex(v, 'context'), Number(v.bits)), 'output'),
};

export const KNOWN_OPS = Object.keys(OPS);

/** Checks one vector. A vector marked valid:false passes when the operation rejects or disagrees. */
export function checkVector(v: Vector): VectorResult {
  const op = OPS[v.op];
  if (!op) return { ok: false, detail: `unknown op '${v.op}' (known: ${KNOWN_OPS.join(', ')})` };
  if (typeof v.source !== 'string' || v.source.trim() === '') return { ok: false, detail: 'vector has no source' };
  if (v.valid === false && v.op !== 'sm2-verify') {
    try {
      const r = op(v);
      return r.ok ? { ok: false, detail: 'marked valid:false but the computation matched' } : { ok: true };
    } catch {
      return { ok: true };
    }
  }
  try {
    return op(v);
  } catch (e) {
    return { ok: false, detail: `threw ${(e as Error).name}: ${(e as Error).message}` };
  }
}
