// The card CA: X.509 v3 certificates signed with SM3withSM2 for SM2 public keys read from cards
// (GM/T 0006: signature OID 1.2.156.10197.1.501, key id-ecPublicKey + curve
// 1.2.156.10197.1.301), built with @peculiar/asn1-x509. The CA key stays in the key store: this
// module asks the provider for a signature (r ‖ s, Z_A with the default ID "1234567812345678") and
// puts it in DER as SEQUENCE { INTEGER r, INTEGER s }. The signature AlgorithmIdentifier has no
// parameters (as for ECDSA in RFC 5758, and as GM/T 0015 certificates carry it).
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { createHash, randomBytes } from 'node:crypto';
import { concat, toHex } from '../bytes/index.js';
import { sm2Verify, sm2Za } from '../crypto/sm2.js';
import { CertificateError } from './errors.js';
import type { KeyProvider, KeyRef } from './types.js';

export const OID_SM3_WITH_SM2 = '1.2.156.10197.1.501';
export const OID_SM2_CURVE = '1.2.156.10197.1.301';
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';

/** Subject attribute names accepted in "C=CN, O=…, CN=…" and in profiles. */
export const NAME_OIDS: Readonly<Record<string, string>> = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  serialNumber: '2.5.4.5',
  title: '2.5.4.12',
  surname: '2.5.4.4',
  givenName: '2.5.4.42',
  emailAddress: '1.2.840.113549.1.9.1',
};
const OID_NAMES = Object.fromEntries(Object.entries(NAME_OIDS).map(([k, v]) => [v, k]));

export interface SubjectField {
  type: string;
  value: string;
}

/** Parses "C=CN, O=Example Bureau, CN=Zhang San" (a backslash escapes a comma or backslash). Order is kept. */
export function parseSubject(text: string): SubjectField[] {
  const fields: SubjectField[] = [];
  let cur = '';
  const parts: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) cur += text[++i];
    else if (c === ',') {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq < 1) throw new CertificateError(`ca: subject part '${p.trim()}' is not TYPE=value (types: ${Object.keys(NAME_OIDS).join(', ')})`);
    fields.push({ type: p.slice(0, eq).trim(), value: p.slice(eq + 1).trim() });
  }
  return fields;
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function toName(fields: readonly SubjectField[]): Name {
  if (fields.length === 0) throw new CertificateError('ca: the subject is empty; give at least CN=…');
  return new Name(
    fields.map((f) => {
      const oid = NAME_OIDS[f.type] ?? (/^\d+(\.\d+)+$/.test(f.type) ? f.type : undefined);
      if (!oid) throw new CertificateError(`ca: unknown subject attribute '${f.type}' (use ${Object.keys(NAME_OIDS).join(', ')} or a dotted OID)`);
      if (f.value.length === 0 || f.value.length > 256) throw new CertificateError(`ca: subject ${f.type} must be 1 to 256 characters`);
      if (f.type === 'C' && !/^[A-Z]{2}$/.test(f.value)) throw new CertificateError(`ca: subject C must be a two-letter country code, got '${f.value}'`);
      const value =
        f.type === 'emailAddress'
          ? new AttributeValue({ ia5String: f.value })
          : (f.type === 'C' || f.type === 'serialNumber') && PRINTABLE.test(f.value)
            ? new AttributeValue({ printableString: f.value })
            : new AttributeValue({ utf8String: f.value });
      return new RelativeDistinguishedName([new AttributeTypeAndValue({ type: oid, value })]);
    }),
  );
}

export function nameToString(name: Name): string {
  return name
    .map((rdn) => rdn.map((a) => `${OID_NAMES[a.type] ?? a.type}=${a.value.toString().replace(/([,\\])/g, '\\$1')}`).join('+'))
    .join(', ');
}

const buf = (a: ArrayBuffer | Uint8Array): Uint8Array => (a instanceof Uint8Array ? a : new Uint8Array(a));
const ab = (u: Uint8Array): ArrayBuffer => u.slice().buffer;

function oidDer(oid: string): Uint8Array {
  const arcs = oid.split('.').map(Number);
  const out: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const bytes: number[] = [];
    let v = arc;
    do {
      bytes.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < bytes.length - 1; i++) bytes[i]! |= 0x80;
    out.push(...bytes);
  }
  return Uint8Array.of(0x06, out.length, ...out);
}

function derInteger(v: Uint8Array): Uint8Array {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  let body = v.subarray(i);
  if (body[0]! & 0x80) body = concat(Uint8Array.of(0), body);
  return concat(Uint8Array.of(0x02, body.length), body);
}

/** r ‖ s (64 bytes) → DER SEQUENCE { INTEGER r, INTEGER s }. */
export function signatureToDer(rs: Uint8Array): Uint8Array {
  if (rs.length !== 64) throw new CertificateError(`ca: an SM2 signature is 64 bytes (r ‖ s), got ${rs.length}`);
  const body = concat(derInteger(rs.subarray(0, 32)), derInteger(rs.subarray(32)));
  return concat(Uint8Array.of(0x30, body.length), body);
}

/** DER SEQUENCE { INTEGER r, INTEGER s } → r ‖ s; throws CertificateError for anything else. */
export function signatureFromDer(der: Uint8Array): Uint8Array {
  const bad = () => new CertificateError('ca: the signature is not a DER SEQUENCE of two INTEGERs');
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) throw bad();
  const out = new Uint8Array(64);
  let o = 2;
  for (let k = 0; k < 2; k++) {
    if (der[o] !== 0x02) throw bad();
    const len = der[o + 1]!;
    let v = der.subarray(o + 2, o + 2 + len);
    if (v.length !== len || len === 0) throw bad();
    while (v.length > 1 && v[0] === 0) v = v.subarray(1);
    if (v.length > 32) throw bad();
    out.set(v, k * 32 + 32 - v.length);
    o += 2 + len;
  }
  if (o !== der.length) throw bad();
  return out;
}

function checkPublicKey(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 65 || publicKey[0] !== 0x04) {
    throw new CertificateError(`ca: the card's public key must be 65 bytes, 04 ‖ x ‖ y (got ${publicKey instanceof Uint8Array ? publicKey.length : typeof publicKey} bytes)`);
  }
  try {
    sm2Za(publicKey);
  } catch {
    throw new CertificateError('ca: the public key is not a point on the SM2 curve (check how it was read from the card)');
  }
  return publicKey;
}

function spki(publicKey: Uint8Array): SubjectPublicKeyInfo {
  return new SubjectPublicKeyInfo({
    algorithm: new AlgorithmIdentifier({ algorithm: OID_EC_PUBLIC_KEY, parameters: ab(oidDer(OID_SM2_CURVE)) }),
    subjectPublicKey: ab(publicKey),
  });
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(publicKey).digest());
}

function ext(id: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

export interface CertificateRequest {
  /** The card's SM2 public key, 04 ‖ x ‖ y. */
  publicKey: Uint8Array;
  subject: readonly SubjectField[] | string;
  /** Days from now; default 3650 for a CA, 1825 for a card. */
  days?: number;
  /** Default: 16 random bytes (positive). */
  serial?: Uint8Array;
  /** 'sign' (default): digitalSignature + nonRepudiation; 'encrypt': keyEncipherment + dataEncipherment + keyAgreement. */
  keyUse?: 'sign' | 'encrypt';
  /** The moment the certificate starts (default now). */
  notBefore?: Date;
}

function serialBytes(serial?: Uint8Array): Uint8Array {
  const s = serial ? serial.slice() : new Uint8Array(randomBytes(16));
  if (s.length === 0 || s.length > 20) throw new CertificateError('ca: a serial number is 1 to 20 bytes');
  if (!serial) s[0] = (s[0]! & 0x7f) | 0x01;
  return s[0]! & 0x80 ? concat(Uint8Array.of(0), s) : s;
}

interface TbsParts {
  issuer: Name;
  subject: Name;
  publicKey: Uint8Array;
  serial: Uint8Array;
  notBefore: Date;
  days: number;
  extensions: Extension[];
}

async function signTbs(provider: KeyProvider, ca: KeyRef, p: TbsParts): Promise<Uint8Array> {
  const sigAlg = new AlgorithmIdentifier({ algorithm: OID_SM3_WITH_SM2 });
  const notBefore = new Date(Math.floor(p.notBefore.getTime() / 1000) * 1000);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: ab(p.serial),
    signature: sigAlg,
    issuer: p.issuer,
    validity: new Validity({ notBefore, notAfter: new Date(notBefore.getTime() + p.days * 86_400_000) }),
    subject: p.subject,
    subjectPublicKeyInfo: spki(p.publicKey),
    extensions: new Extensions(p.extensions),
  });
  const tbsDer = buf(AsnConvert.serialize(tbs));
  const rs = await provider.sign(ca, tbsDer);
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: sigAlg, signatureValue: ab(signatureToDer(rs)) });
  return buf(AsnConvert.serialize(cert));
}

function subjectFields(s: CertificateRequest['subject']): SubjectField[] {
  return typeof s === 'string' ? parseSubject(s) : [...s];
}

/** A self-signed CA certificate for an SM2 key in the store (store it with KeyStore.setCertificate). */
export async function createCaCertificate(provider: KeyProvider, ca: KeyRef, subject: CertificateRequest['subject'], opts: { days?: number; serial?: Uint8Array; pathLen?: number } = {}): Promise<Uint8Array> {
  const publicKey = await provider.publicKey(ca);
  const name = toName(subjectFields(subject));
  const ski = keyIdentifier(publicKey);
  return signTbs(provider, ca, {
    issuer: name,
    subject: name,
    publicKey,
    serial: serialBytes(opts.serial),
    notBefore: new Date(),
    days: opts.days ?? 3650,
    extensions: [
      ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, ...(opts.pathLen !== undefined ? { pathLenConstraint: opts.pathLen } : { pathLenConstraint: 0 }) })),
      ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
      ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(ab(ski))),
    ],
  });
}

export interface IssuedCertificate {
  der: Uint8Array;
  serial: string;
  subject: string;
  issuer: string;
}

/** A card certificate: the card's public key, the subject the profile names, signed by the CA key. */
export async function issueCertificate(provider: KeyProvider, ca: KeyRef, request: CertificateRequest): Promise<IssuedCertificate> {
  const publicKey = checkPublicKey(request.publicKey);
  const caDer = await provider.certificate(ca);
  if (!caDer) {
    const info = await provider.info(ca);
    throw new CertificateError(`ca: ${info.label} v${info.version} has no CA certificate yet; create one with cardsmith keys ca-init or store one with cardsmith keys ca-import`);
  }
  const caCert = AsnConvert.parse(caDer, Certificate);
  const caPublic = await provider.publicKey(ca);
  const serial = serialBytes(request.serial);
  const subject = toName(subjectFields(request.subject));
  const use = request.keyUse ?? 'sign';
  const flags = use === 'sign' ? KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation : KeyUsageFlags.keyEncipherment | KeyUsageFlags.dataEncipherment | KeyUsageFlags.keyAgreement;
  const der = await signTbs(provider, ca, {
    issuer: caCert.tbsCertificate.subject,
    subject,
    publicKey,
    serial,
    notBefore: request.notBefore ?? new Date(),
    days: request.days ?? 1825,
    extensions: [
      ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
      ext(id_ce_keyUsage, true, new KeyUsage(flags)),
      ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(ab(keyIdentifier(publicKey)))),
      ext(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(ab(keyIdentifier(caPublic))) })),
    ],
  });
  return { der, serial: toHex(serial), subject: nameToString(subject), issuer: nameToString(caCert.tbsCertificate.subject) };
}

export interface ParsedCertificate {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  /** 04 ‖ x ‖ y, hex */
  publicKey: string;
  publicKeyBytes: Uint8Array;
  /** The DER of the TBSCertificate as it is in the certificate (what the signature covers). */
  tbs: Uint8Array;
  /** r ‖ s */
  signature: Uint8Array;
  selfSigned: boolean;
  isCa: boolean;
}

export function parseCertificate(der: Uint8Array): ParsedCertificate {
  let cert: Certificate;
  try {
    cert = AsnConvert.parse(der, Certificate);
  } catch {
    throw new CertificateError('ca: not a DER X.509 certificate');
  }
  const t = cert.tbsCertificate;
  if (cert.signatureAlgorithm.algorithm !== OID_SM3_WITH_SM2) {
    throw new CertificateError(`ca: the certificate is signed with ${cert.signatureAlgorithm.algorithm}, not SM3withSM2 (${OID_SM3_WITH_SM2})`);
  }
  const alg = t.subjectPublicKeyInfo.algorithm;
  if (alg.algorithm !== OID_EC_PUBLIC_KEY || !alg.parameters || toHex(buf(alg.parameters)) !== toHex(oidDer(OID_SM2_CURVE))) {
    throw new CertificateError('ca: the certificate does not carry an SM2 public key (id-ecPublicKey with curve 1.2.156.10197.1.301)');
  }
  const publicKeyBytes = buf(t.subjectPublicKeyInfo.subjectPublicKey);
  const tbs = cert.tbsCertificateRaw ? buf(cert.tbsCertificateRaw) : buf(AsnConvert.serialize(t));
  const bc = t.extensions?.find((e) => e.extnID === id_ce_basicConstraints);
  const isCa = bc ? AsnConvert.parse(bc.extnValue, BasicConstraints).cA : false;
  return {
    subject: nameToString(t.subject),
    issuer: nameToString(t.issuer),
    serial: toHex(buf(t.serialNumber)),
    notBefore: t.validity.notBefore.getTime().toISOString(),
    notAfter: t.validity.notAfter.getTime().toISOString(),
    publicKey: toHex(publicKeyBytes),
    publicKeyBytes,
    tbs,
    signature: signatureFromDer(buf(cert.signatureValue)),
    selfSigned: toHex(buf(AsnConvert.serialize(t.subject))) === toHex(buf(AsnConvert.serialize(t.issuer))),
    isCa,
  };
}

/** True when the certificate's signature verifies under `caPublicKey` (default SM2 ID). */
export function verifyCertificate(der: Uint8Array, caPublicKey: Uint8Array): boolean {
  const c = parseCertificate(der);
  return sm2Verify(caPublicKey, c.tbs, c.signature);
}

export function toPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

/** DER from DER or PEM bytes. */
export function fromPem(data: Uint8Array): Uint8Array {
  const text = Buffer.from(data).toString('latin1');
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text);
  return m ? new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')) : data;
}
