// The pki section: on-card SM2 key pairs (which EFs receive the keys and the certificate), the
// CA key alias and the certificate subject.
import { clip } from '../../bytes/index.js';
import { describeType } from '../expr.js';
import { entry, type LNode } from '../source.js';
import { didYouMean } from '../suggest.js';
import type { EfNode, KeyPairSpec, PkiSpec } from '../types.js';
import type { Context } from './context.js';

/** Subject attribute types keys/ca.ts accepts (a test keeps the two lists equal). */
export const SUBJECT_ATTRIBUTES: readonly string[] = ['C', 'ST', 'L', 'O', 'OU', 'CN', 'serialNumber', 'title', 'surname', 'givenName', 'emailAddress'];

function efAt(ctx: Context, map: LNode | undefined, key: string, what: string): EfNode | undefined {
  const p = ctx.str(map, key);
  if (p === undefined) return undefined;
  const path = p.replace(/^MF\//, '').replace(/^\//, '');
  const node = ctx.filesByPath.get(path);
  const loc = ctx.locOf(map, key);
  if (!node) {
    ctx.error(loc, 'unknown-file', `${what}: no file ${p} in the file tree`, didYouMean(path, [...ctx.filesByPath.keys()].filter((k) => ctx.filesByPath.get(k)!.kind === 'ef')) ?? 'paths are file names from the MF down, e.g. PKI/ADF1/EF0012');
    return undefined;
  }
  if (node.kind !== 'ef') {
    ctx.error(loc, 'unknown-file', `${what}: ${p} is a DF; an EF is needed`);
    return undefined;
  }
  return node;
}

export function readPki(ctx: Context): PkiSpec | undefined {
  const pki = ctx.map(ctx.get(ctx.root, 'pki'));
  if (!pki) return undefined;
  if (ctx.cos !== 'sscard') {
    ctx.error(pki.keyLoc ?? pki.loc, 'cos-mismatch', 'the pki step generates keys into EFs of the social-security COS; this card is globalplatform');
    return undefined;
  }
  const ca = ctx.alias(pki, 'ca', ['sm2'], 'CA key');
  const pinName = ctx.str(pki, 'pin');
  if (pinName !== undefined && !ctx.pinDecls.has(pinName)) {
    ctx.error(ctx.locOf(pki, 'pin'), 'unknown-pin', `PIN '${clip(pinName)}' is not defined`, didYouMean(pinName, ctx.pinDecls.keys()));
  }
  const keyPairs: KeyPairSpec[] = [];
  for (const e of ctx.entries(ctx.get(pki, 'keyPairs'))) {
    const pub = efAt(ctx, e.value, 'publicKey', `key pair ${e.key}`);
    const priv = efAt(ctx, e.value, 'privateKey', `key pair ${e.key}`);
    const cert = efAt(ctx, e.value, 'certificate', `key pair ${e.key}`);
    if (pub && (pub.structure !== 'transparent' || pub.internal || pub.size < 65)) {
      ctx.error(ctx.locOf(e.value, 'publicKey'), 'pki-file', `key pair ${e.key}: the public-key EF ${pub.name} must be a readable transparent EF of at least 65 bytes (04 ‖ x ‖ y)`);
    }
    if (priv && (!priv.internal || priv.size < 32)) {
      ctx.error(ctx.locOf(e.value, 'privateKey'), 'pki-file', `key pair ${e.key}: the private-key EF ${priv.name} must be an internal EF of at least 32 bytes`, 'internal: true, size: 32');
    }
    if (cert && (cert.structure !== 'transparent' || cert.internal)) {
      ctx.error(ctx.locOf(e.value, 'certificate'), 'pki-file', `key pair ${e.key}: the certificate EF ${cert.name} must be a readable transparent EF`);
    } else if (cert && cert.size < 512) {
      ctx.warn(ctx.locOf(e.value, 'certificate'), 'pki-file', `key pair ${e.key}: ${cert.name} is ${cert.size} bytes; SM2 certificates are usually 400-700 bytes`);
    }
    const dir = (ef: EfNode): string => (ef.path.includes('/') ? ef.path.slice(0, ef.path.lastIndexOf('/')) : '');
    if (pub && priv && dir(pub) !== dir(priv)) {
      ctx.error(ctx.locOf(e.value, 'privateKey'), 'pki-file', `key pair ${e.key}: the public and private key EFs must be in the same DF (the card generates into the current DF)`);
    }
    for (const ef of [pub, priv]) {
      if (ef && ef.access.update.kind === 'never') ctx.error(ef.loc, 'unwritable', `${ef.name} receives a generated key, but its update access is never`);
    }
    if (!pub || !priv || !cert) continue;
    const usage = ctx.get(e.value, 'keyUsage');
    keyPairs.push({
      name: e.key,
      df: dir(pub),
      publicKey: pub,
      privateKey: priv,
      certificate: cert,
      keyUsage: usage?.kind === 'seq' ? usage.items.flatMap((i) => (i.kind === 'scalar' && typeof i.value === 'string' ? [i.value] : [])) : ['digitalSignature'],
      loc: e.keyLoc,
    });
  }
  const subject: PkiSpec['subject'] = [];
  for (const e of ctx.entries(ctx.get(pki, 'subject'))) {
    if (!SUBJECT_ATTRIBUTES.includes(e.key)) {
      ctx.error(e.keyLoc, 'subject-attribute', `'${clip(e.key)}' is not a subject attribute cardsmith's CA knows`, didYouMean(e.key, SUBJECT_ATTRIBUTES) ?? `use ${SUBJECT_ATTRIBUTES.join(', ')}`);
      continue;
    }
    const v = ctx.exprNode(e.value, `subject ${e.key}`);
    if (!v) continue;
    if (v.type.t !== 'text') ctx.error(e.value.loc, 'expr-type', `subject ${e.key} must be text, but it is ${describeType(v.type)}`);
    if (e.key === 'C' && !(v.type.t === 'text' && v.type.charset !== 'any' && v.type.max === 2 && v.type.min === 2)) {
      ctx.error(e.value.loc, 'subject-attribute', 'subject C is a two-letter country code, e.g. CN');
    }
    subject.push({ type: e.key, value: v });
  }
  if (subject.length === 0 && entry(pki, 'subject') && ctx.entries(ctx.get(pki, 'subject')).length === 0) ctx.error(ctx.keyLocOf(pki, 'subject'), 'subject-attribute', 'the subject is empty; give at least CN');
  if (!ca) return undefined;
  return { ca, pin: pinName, keyPairs, subject, validityYears: ctx.num(pki, 'validityYears') ?? 10, loc: pki.keyLoc ?? pki.loc };
}
