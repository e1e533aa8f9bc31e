// SM2 digital signatures (GB/T 32918.2-2016) on the recommended curve (GB/T 32918.5-2017),
// using @noble/curves' generic short-Weierstrass point arithmetic. SM2 signing is not ECDSA
// (r = e + x1, s = (1 + d)^-1 (k - r d)), so only the curve arithmetic comes from noble.
import { weierstrass } from '@noble/curves/abstract/weierstrass.js';
import { invert, mod } from '@noble/curves/abstract/modular.js';
import { randomBytes } from 'node:crypto';
import { abytes, concat, uintBE } from '../bytes/index.js';
import { sm3 } from './sm3.js';

/** Recommended curve parameters, GB/T 32918.5-2017 §3 (also GM/T 0003.5-2012). */
export const SM2_CURVE = Object.freeze({
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  h: 1n,
  Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
});

const Point = weierstrass(SM2_CURVE);
const { n } = SM2_CURVE;

/** The default user ID of GB/T 35276 / GM/T 0009 when none is agreed: ASCII "1234567812345678". */
export const SM2_DEFAULT_ID = new TextEncoder().encode('1234567812345678');

export interface Sm2KeyPair {
  privateKey: Uint8Array; // 32 bytes, big-endian d
  publicKey: Uint8Array; // 65 bytes, 04 ‖ x ‖ y
}

export type RandomSource = (length: number) => Uint8Array;
const systemRandom: RandomSource = (len) => new Uint8Array(randomBytes(len));

function toBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function to32(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Uniform scalar in [1, max] by rejection sampling, so seeded sources stay reproducible. */
function randomScalar(random: RandomSource, max: bigint): bigint {
  for (;;) {
    const v = toBigInt(abytes(random(32), 'sm2: random source output', 32));
    if (v >= 1n && v <= max) return v;
  }
}

function parsePrivate(privateKey: Uint8Array): bigint {
  abytes(privateKey, 'sm2: private key', 32);
  const d = toBigInt(privateKey);
  // d = n - 1 is excluded because signing divides by (1 + d).
  if (d < 1n || d > n - 2n) throw new RangeError('sm2: private key is out of range [1, n-2]');
  return d;
}

function parsePublic(publicKey: Uint8Array): InstanceType<typeof Point> {
  abytes(publicKey, 'sm2: public key', 33, 65);
  try {
    const P = Point.fromBytes(publicKey);
    P.assertValidity();
    return P;
  } catch {
    throw new RangeError('sm2: public key is not a valid point on the SM2 curve');
  }
}

export function sm2PublicKey(privateKey: Uint8Array): Uint8Array {
  return Point.BASE.multiply(parsePrivate(privateKey)).toBytes(false);
}

export function sm2GenerateKeyPair(random: RandomSource = systemRandom): Sm2KeyPair {
  const privateKey = to32(randomScalar(random, n - 2n));
  return { privateKey, publicKey: sm2PublicKey(privateKey) };
}

/** Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ xA ‖ yA), GB/T 32918.2 §5.5. */
export function sm2Za(publicKey: Uint8Array, id: Uint8Array = SM2_DEFAULT_ID): Uint8Array {
  abytes(id, 'sm2: id');
  if (id.length * 8 > 0xffff) throw new RangeError('sm2: id longer than 8191 bytes');
  const { x, y } = parsePublic(publicKey).toAffine();
  const c = SM2_CURVE;
  return sm3(uintBE(id.length * 8, 2), id, to32(c.a), to32(c.b), to32(c.Gx), to32(c.Gy), to32(x), to32(y));
}

/** e = SM3(Z_A ‖ M) as an integer (the digest the signature equations use). */
function messageDigest(publicKey: Uint8Array, message: Uint8Array, id: Uint8Array): bigint {
  return toBigInt(sm3(sm2Za(publicKey, id), abytes(message, 'sm2: message')));
}

export interface Sm2SignOptions {
  id?: Uint8Array;
  /** Where the nonce k comes from; a seeded source makes the simulator's signatures reproducible. */
  random?: RandomSource;
  /** A fixed nonce, for published known-answer vectors only: reusing k reveals the private key. */
  k?: Uint8Array;
}

/** Returns the signature as r ‖ s, 64 bytes (GM/T 0009's raw form; DER lives with the certificates). */
export function sm2Sign(privateKey: Uint8Array, message: Uint8Array, opts: Sm2SignOptions = {}): Uint8Array {
  const d = parsePrivate(privateKey);
  const publicKey = Point.BASE.multiply(d).toBytes(false);
  const e = messageDigest(publicKey, message, opts.id ?? SM2_DEFAULT_ID);
  const random = opts.random ?? systemRandom;
  for (;;) {
    const k = opts.k ? toBigInt(abytes(opts.k, 'sm2: k', 32)) : randomScalar(random, n - 1n);
    if (k < 1n || k >= n) throw new RangeError('sm2: k is out of range [1, n-1]');
    const x1 = Point.BASE.multiply(k).toAffine().x;
    const r = mod(e + x1, n);
    if (r === 0n || r + k === n) {
      if (opts.k) throw new RangeError('sm2: the fixed k gives r = 0 or r + k = n; pick another');
      continue;
    }
    const s = mod(invert(1n + d, n) * (k - r * d), n);
    if (s === 0n) {
      if (opts.k) throw new RangeError('sm2: the fixed k gives s = 0; pick another');
      continue;
    }
    return concat(to32(r), to32(s));
  }
}

/** True when `signature` (r ‖ s) is valid for `message` under `publicKey`; false for any mismatch. */
export function sm2Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, opts: { id?: Uint8Array } = {}): boolean {
  abytes(signature, 'sm2: signature', 64);
  const P = parsePublic(publicKey);
  const r = toBigInt(signature.subarray(0, 32));
  const s = toBigInt(signature.subarray(32));
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  const t = mod(r + s, n);
  if (t === 0n) return false;
  const e = messageDigest(publicKey, message, opts.id ?? SM2_DEFAULT_ID);
  const sum = Point.BASE.multiply(s).add(P.multiply(t));
  if (sum.is0()) return false;
  return mod(e + sum.toAffine().x, n) === r;
}
