// The script of one social-security card (docs/simulator.md formats), from a blank card: one
// EXTERNAL AUTHENTICATE with the transport key gives the personalization authority, which holds
// only while the MF is not re-selected (security status rule), so the tree is built depth-first,
// DFs are re-entered by AID or path (the MF stays a strict ancestor) and the MF's own keys,
// which replace the transport key, are written last, just before END OF PERSONALIZATION.
import { concat, toHex, uintBE } from '../../bytes/index.js';
import { buildTlv, encodeBcd, encodeTlvRecordSafe } from './tlv.js';
import { encodeCommand, MAX_SHORT_DATA, MAX_SHORT_LE } from '../../iso7816/index.js';
import { elementRecord, encodeParts, type FieldValue } from '../../profiles/index.js';
import type { AccessSpec, CardKeySpec, DataElement, DfNode, EfNode, PinSpec, Profile } from '../../profiles/types.js';
import type { CheckStep, RunPart, SealedKey, Step, StoredKey } from '../script.js';
import { once, type CardInputs } from './card-context.js';
import { cardDependence } from './card-dependence.js';
import { ScriptTemplate } from './template.js';
import { needsCard, runKey, runParts, type RunContext } from './runparts.js';
import { PrepError } from './errors.js';

/** What the sscard script needs of one card (the template's per-card context). */
export interface SsCardInputs extends CardInputs {
  run: RunContext;
  /** The transport key, sealed for this card, or named when the key store keeps it. */
  transport: SealedKey | StoredKey;
  /** PIN digits by PIN name. */
  pins: ReadonlyMap<string, string>;
  /** Subject attributes for the PKI step, evaluated. */
  subject: Record<string, string>;
}

const KEY_TYPE: Record<string, number> = {
  master: 0x01,
  'external-auth': 0x02,
  'internal-auth': 0x03,
  'pin-unblock': 0x04,
  'pin-reload': 0x05,
  'line-protection': 0x06,
  'app-block': 0x07,
  'card-block': 0x08,
};
const PIN_TYPE = 0x0a;
const ALG = { des3: 0x01, sm4: 0x02, aes: 0x00 } as const;
/** READ/UPDATE BINARY without an SFI: P1-P2 is a 15-bit offset (ISO/IEC 7816-4, P1 b8 = 0). */
const MAX_BINARY_OFFSET = 0x7fff;
const EMPTY = new Uint8Array(0);

export function accessByte(a: AccessSpec): number {
  switch (a.kind) {
    case 'always':
      return 0x00;
    case 'never':
      return 0xff;
    case 'pin':
      return 0x10 | a.id;
    case 'key':
      return 0x20 | a.id;
    case 'sm':
      return 0x30 | a.id;
  }
}

const h = toHex;
const fid2 = (fid: number) => uintBE(fid, 2);

/**
 * A command APDU in hex, encoded by iso7816: Lc/Le short while they fit (Le 256 → 00), extended
 * (00 hh ll / hh ll) beyond. `le` is Ne, the number of bytes wanted (1..65536).
 */
function apdu(cla: number, ins: number, p1: number, p2: number, data: Uint8Array = EMPTY, le?: number): string {
  return h(encodeCommand({ cla, ins, p1, p2, data, le }));
}

const SELECT_MF = apdu(0x00, 0xa4, 0x00, 0x0c, Uint8Array.of(0x3f, 0x00));
const END_OF_PERSONALIZATION = apdu(0x80, 0xea, 0x00, 0x00);

/** P1-P2 of READ/UPDATE BINARY at `offset` (no SFI). */
function binaryOffset(offset: number, what: string): [number, number] {
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_BINARY_OFFSET) {
    throw new PrepError(`${what}: offset ${offset} does not fit the 15 bits of P1-P2 (0..${MAX_BINARY_OFFSET})`);
  }
  return [offset >> 8, offset & 0xff];
}

export function fcpDf(df: DfNode): Uint8Array {
  const parts = [buildTlv(0x82, Uint8Array.of(0x38))];
  if (df.fid !== undefined) parts.push(buildTlv(0x83, fid2(df.fid)));
  if (df.aid !== undefined) parts.push(buildTlv(0x84, df.aid));
  parts.push(buildTlv(0x86, Uint8Array.of(accessByte(df.access.create), accessByte(df.access.keyWrite), 0x00)));
  if (df.fciProprietary !== undefined) parts.push(buildTlv(0xa5, df.fciProprietary));
  return buildTlv(0x62, parts);
}

export function fcpEf(ef: EfNode): Uint8Array {
  const transparent = ef.structure === 'transparent';
  const RECORD_FDB: Record<string, number> = { 'linear-fixed': 0x02, 'linear-variable': 0x04, cyclic: 0x06 };
  const fdb = ef.internal ? 0x09 : transparent ? 0x01 : (RECORD_FDB[ef.structure] ?? 0x04) + (ef.tlv ? 1 : 0);
  const parts = [buildTlv(0x82, transparent ? Uint8Array.of(fdb) : Uint8Array.of(fdb, 0x21, 0x00, ef.recordLength, ef.maxRecords)), buildTlv(0x83, fid2(ef.fid))];
  if (transparent) parts.push(buildTlv(0x80, fid2(ef.size)));
  if (ef.sfi !== undefined) parts.push(buildTlv(0x88, Uint8Array.of(ef.sfi << 3)));
  parts.push(buildTlv(0x86, Uint8Array.of(accessByte(ef.access.read), accessByte(ef.access.update), accessByte(ef.access.append))));
  return buildTlv(0x62, parts);
}

/** SELECT of a DF without answer: by AID when it has one, else by path from the MF. */
function selectDf(df: DfNode, pathFids: number[]): Step {
  if (df.aid !== undefined) return { op: 'apdu', apdu: apdu(0x00, 0xa4, 0x04, 0x0c, df.aid), note: `select ${df.name || 'MF'}` };
  if (pathFids.length === 0) return { op: 'apdu', apdu: SELECT_MF, note: 'select MF' };
  return { op: 'apdu', apdu: apdu(0x00, 0xa4, 0x08, 0x0c, concat(...pathFids.map(fid2))), note: `select ${df.path}` };
}

const selectEf = (ef: EfNode): Step => ({ op: 'apdu', apdu: apdu(0x00, 0xa4, 0x02, 0x0c, fid2(ef.fid)), note: `select ${ef.name}` });

export function pinBcd(digits: string): Uint8Array {
  return encodeBcd(digits, { pad: 'right' });
}

/** Key block header (docs/simulator.md WRITE KEY): type ‖ id ‖ version ‖ algorithm ‖ error limit. */
function keyHeader(k: CardKeySpec): Uint8Array {
  const type = KEY_TYPE[k.role];
  if (type === undefined) throw new PrepError(`key ${k.name}: role ${k.role} has no sscard key type`);
  return Uint8Array.of(type, k.id, k.version, ALG[k.alg], k.tries ?? 15);
}

/** The sscard script of a profile, compiled once: fixed runs of steps and the ones built per card. */
export interface SsCardTemplate {
  steps: ScriptTemplate<SsCardInputs>;
  verify: ScriptTemplate<SsCardInputs>;
}

/**
 * Compiles the profile's script (the order is the one the file header explains). `perCardOnly`
 * builds every step per card: the reference the tests hold the compiled template against.
 */
export function compileSsCard(profile: Profile, perCardOnly = false): SsCardTemplate {
  const mf = profile.mf;
  if (!mf) throw new PrepError(`profile ${profile.name}: no file tree`);
  const steps = new ScriptTemplate<SsCardInputs>(perCardOnly);
  const verify = new ScriptTemplate<SsCardInputs>(perCardOnly);
  const perCard = cardDependence(profile);
  // The largest writes and reads the card takes (card.maxCommandData / maxResponseLength):
  // 255 / 256 keep every APDU short; more makes prep use extended-length APDUs (fewer of them).
  const writeChunk = profile.maxCommandData;
  const readChunk = profile.maxResponseLength;
  const openMf = (): void => {
    steps.fixed({ op: 'apdu', apdu: SELECT_MF, note: 'select MF' });
    steps.card((c) => [{ op: 'open', protocol: 'ssc-ext-auth', keyId: 0x00, key: c.transport, challengeLength: 8, note: 'transport key: personalization authority' }]);
  };

  const writeKey = (k: CardKeySpec): void => {
    const header = keyHeader(k);
    const note = `write key ${k.name} (${k.role} ${h(Uint8Array.of(k.id))} v${k.version})`;
    if (k.derive.phase === 'prep') {
      steps.card(async (c) => {
        const key = c.prepKeys.get(k.name);
        if (!key) throw new PrepError(`key ${k.name} was not derived`);
        return [{ op: 'sealed-apdu', header: '80D40000', data: await c.seal(concat(header, key.value), key.kcv), note }];
      });
    } else {
      const build = (c: SsCardInputs): Step[] => [{ op: 'run-apdu', header: '80D40000', data: [{ hex: h(header) }, { key: runKey(k, c.run) }], note }];
      if (k.derive.data.some(perCard)) steps.card(build);
      else steps.fixedBy(build);
    }
  };
  const writePin = (p: PinSpec): void => {
    steps.card(async (c) => {
      const block = concat(Uint8Array.of(PIN_TYPE, p.id, 0x01, 0x00, p.tries), pinBcd(c.pins.get(p.name)!));
      return [{ op: 'sealed-apdu', header: '80D40000', data: await c.seal(block), note: `write PIN ${p.name}` }];
    });
  };

  /** An element's writes (into `steps`) and checks (into the DF's `items`), built once per card. */
  const element = (ef: EfNode, el: DataElement, items: ScriptTemplate<SsCardInputs>): void => {
    const build = (c: SsCardInputs) => once(c, el, () => elementSteps(ef, el, c, writeChunk, readChunk));
    // Transparent data may be big (a photo): it goes into the batch's pack, per card.
    if (ef.structure === 'transparent' || (el.value && perCard(el.value)) || el.parts?.some((p) => perCard(p.value))) {
      steps.card((c) => build(c).write);
      items.card((c) => build(c).check);
    } else {
      steps.fixedBy((c) => build(c).write);
      items.fixedBy((c) => build(c).check);
    }
  };

  const buildDf = (df: DfNode, path: number[]): void => {
    for (const k of df.keys) writeKey(k);
    for (const p of df.pins) writePin(p);
    const efs = df.children.filter((c): c is EfNode => c.kind === 'ef');
    for (const ef of efs) steps.fixed({ op: 'apdu', apdu: apdu(0x80, 0xe0, 0x00, 0x00, fcpEf(ef)), note: `create ${ef.path}` });
    // This DF's checks: its PINs' try counters and verification first, then its files.
    const checks = verify.sub();
    for (const p of df.pins) {
      const ref = 0x80 | p.id;
      checks.fixed({ op: 'check', apdu: apdu(0x00, 0x20, 0x00, ref), sw: [`63C${p.tries.toString(16).toUpperCase()}`], what: `${p.name} tries` });
      checks.card(async (c) => [{ op: 'sealed-apdu', header: h(Uint8Array.of(0x00, 0x20, 0x00, ref)), data: await c.seal(pinBcd(c.pins.get(p.name)!)), note: `verify ${p.name}` }]);
    }
    for (const ef of efs) {
      if (ef.elements.length === 0) continue;
      if (ef.sfi === undefined || ef.structure === 'transparent') steps.fixed(selectEf(ef));
      if (ef.structure === 'transparent') checks.fixed(selectEf(ef));
      for (const el of ef.elements) element(ef, el, checks);
    }
    // Key pairs generated in this DF: the card makes the pair, the CA certifies it at run time.
    for (const kp of profile.pki?.keyPairs.filter((k) => k.df === df.path) ?? []) {
      const gen = apdu(0x80, 0x40, 0x00, 0x00, concat(buildTlv(0xc0, fid2(kp.publicKey.fid)), buildTlv(0xc2, fid2(kp.privateKey.fid))), MAX_SHORT_LE);
      steps.card((c) => [
        {
          op: 'keygen-cert',
          generate: gen,
          certificateFile: h(fid2(kp.certificate.fid)),
          subject: c.subject,
          ca: { label: profile.pki!.ca.label, version: c.run.versionOf(profile.pki!.ca.label) },
          chunk: writeChunk,
          // Left out with the default limits, so that their scripts stay as before (the runner
          // then reads back in `chunk`-byte pieces).
          ...(writeChunk !== MAX_SHORT_DATA || readChunk !== MAX_SHORT_LE ? { readChunk } : {}),
          note: `key pair ${kp.name}`,
        },
      ]);
      checks.fixed(selectEfFid(kp.publicKey.fid, kp.publicKey.name), { op: 'check', apdu: apdu(0x00, 0xb0, 0, 0, undefined, 65), what: `${kp.name} public key present` });
      checks.fixed(selectEfFid(kp.certificate.fid, kp.certificate.name), { op: 'check', apdu: apdu(0x00, 0xb0, 0, 0, undefined, 4), what: `${kp.name} certificate present` });
    }
    verify.group(selectDf(df, path), checks);
    // Child DFs, depth-first; this DF is re-selected between them (not after the last).
    const dfs = df.children.filter((c): c is DfNode => c.kind === 'df');
    dfs.forEach((child, i) => {
      steps.fixed({ op: 'apdu', apdu: apdu(0x80, 0xe0, 0x00, 0x00, fcpDf(child)), note: `create ${child.path}` });
      buildDf(child, child.fid !== undefined ? [...path, child.fid] : path);
      if (i < dfs.length - 1) steps.fixed(selectDf(df, path));
    });
  };

  openMf();
  let first = true;
  for (const child of mf.children) {
    if (child.kind === 'ef') {
      steps.fixed({ op: 'apdu', apdu: apdu(0x80, 0xe0, 0x00, 0x00, fcpEf(child)), note: `create ${child.path}` });
      continue;
    }
    if (!first) openMf();
    first = false;
    steps.fixed({ op: 'apdu', apdu: apdu(0x80, 0xe0, 0x00, 0x00, fcpDf(child)), note: `create ${child.path}` });
    buildDf(child, child.fid !== undefined ? [child.fid] : []);
  }
  // The MF's keys last: MF key 00 replaces the transport key that the authority came from.
  openMf();
  for (const k of mf.keys) writeKey(k);
  for (const p of mf.pins) writePin(p);
  steps.fixed({ op: 'apdu', apdu: END_OF_PERSONALIZATION, note: 'end of personalization' });

  verify.fixed({ op: 'apdu', apdu: SELECT_MF, note: 'select MF' }, { op: 'check', apdu: END_OF_PERSONALIZATION, sw: ['6985'], what: 'life cycle: personalized' });
  return { steps, verify };
}

/** Transparent data from this size on goes into the batch's pack instead of the script. */
export const BLOB_MIN_BYTES = 256;

/** The writes and checks of one data element on one card. */
function elementSteps(ef: EfNode, el: DataElement, c: SsCardInputs, writeChunk: number, readChunk: number): { write: Step[]; check: Step[] } {
  const what = `${ef.path}/${el.name}`;
  const run = (el.value && needsCard(el.value.node, c.run)) || (el.parts?.some((p) => needsCard(p.value.node, c.run)) ?? false);
  if (ef.structure === 'transparent') {
    if (run) throw new PrepError(`${what}: transparent data that needs the card is not supported by prep`);
    const bytes = elementRecord(el, c.ev);
    if (bytes === undefined) return { write: [], check: [] };
    const off = el.offset ?? 0;
    const ref = bytes.length >= BLOB_MIN_BYTES ? c.blobs.add(bytes) : undefined;
    const write: Step[] = [];
    const check: CheckStep[] = [];
    for (let i = 0; i < bytes.length; i += writeChunk) {
      const o = off + i;
      const [p1, p2] = binaryOffset(o, what);
      const part = bytes.subarray(i, i + writeChunk);
      write.push(
        ref
          ? { op: 'run-apdu', header: h(Uint8Array.of(0x00, 0xd6, p1, p2)), data: [{ ...ref, from: i, length: part.length }], note: `${what} @${o}` }
          : { op: 'apdu', apdu: apdu(0x00, 0xd6, p1, p2, part), note: `${what} @${o}` },
      );
    }
    for (let i = 0; i < bytes.length; i += readChunk) {
      const o = off + i;
      const [p1, p2] = binaryOffset(o, what);
      const part = bytes.subarray(i, i + readChunk);
      const read = apdu(0x00, 0xb0, p1, p2, undefined, part.length);
      check.push(ref ? { op: 'check', apdu: read, expectBlob: { ...ref, from: i, length: part.length }, what: `${what} @${o}` } : { op: 'check', apdu: read, expect: h(part), what: `${what} @${o}` });
    }
    return { write, check };
  }
  // Record files start empty on this COS: every record is appended.
  const p2 = ef.sfi !== undefined ? ef.sfi << 3 : 0;
  const readP2 = ef.sfi !== undefined ? (ef.sfi << 3) | 0x04 : 0x04;
  const p1 = el.tag ?? el.record ?? 0;
  if (!run) {
    const rec = elementRecord(el, c.ev);
    if (rec === undefined) return { write: [], check: [] };
    return {
      write: [{ op: 'apdu', apdu: apdu(0x00, 0xe2, 0x00, p2, rec), note: `append ${what}` }],
      check: [{ op: 'check', apdu: apdu(0x00, 0xb2, p1, readP2, undefined, MAX_SHORT_LE), expect: h(rec), what }],
    };
  }
  const data: RunPart[] = [];
  if (el.parts) {
    for (const part of el.parts) {
      if (needsCard(part.value.node, c.run)) {
        if (part.encoding !== 'binary') throw new PrepError(`${what}.${part.name}: a run-time part must be binary`);
        data.push(...runParts(part.value.node, c.run, `${what}.${part.name}`));
      } else {
        const v = c.ev.evaluate(part.value);
        const fv: FieldValue = part.encoding === 'binary' && typeof v === 'string' ? hexBytes(v) : v instanceof Uint8Array ? v : String(v);
        data.push({ hex: h(encodeParts([part], { [part.name]: fv })) });
      }
    }
  } else {
    if (el.encoding !== 'binary') throw new PrepError(`${what}: a run-time element must be binary`);
    data.push(...runParts(el.value!.node, c.run, what));
  }
  const length = el.length ?? el.parts?.reduce((n, p) => n + (p.length ?? 0), 0) ?? 0;
  const head = el.tag !== undefined ? [{ hex: h(Uint8Array.of(el.tag, length)) }] : [];
  return {
    write: [{ op: 'run-apdu', header: h(Uint8Array.of(0x00, 0xe2, 0x00, p2)), data: [...head, ...data], note: `append ${what} (completed at run time)` }],
    check: [{ op: 'check', apdu: apdu(0x00, 0xb2, p1, readP2, undefined, MAX_SHORT_LE), what: `${what} present` }],
  };
}

function selectEfFid(fid: number, name: string): Step {
  return { op: 'apdu', apdu: apdu(0x00, 0xa4, 0x02, 0x0c, fid2(fid)), note: `select ${name}` };
}

function hexBytes(v: string): Uint8Array {
  return Uint8Array.from(v.match(/../g) ?? [], (b) => parseInt(b, 16));
}

export { encodeTlvRecordSafe };
