// The executor: runs one CardScript (personalization/script.ts) on a Transport — its `steps`, then
// its `verify` steps — with secrets unsealed from the key provider only in memory, for as long as
// one step needs them, and wiped afterwards. A card that answers something unexpected (a wrong
// status word, a malformed response, a removal) fails with a StepError naming the list, the step
// index, the op, its note, the SW and its meaning — never key, PIN or sealed bytes.
//
// Step kinds and the bytes they send (docs/simulator.md, docs/simulator-gp.md):
//   apdu         the command as given
//   sealed-apdu  header ‖ Lc ‖ unsealed data [‖ Le] (extended Lc/Le when the sizes need them)
//   mac-apdu     GET CHALLENGE (00 84 00 00 n), then header ‖ Lc ‖ C ‖ MAC where C = data or
//                ECB_encKey(data ‖ 80 00…), Lc counts the 4 MAC bytes, and
//                MAC = PBOC MAC under macKey over header ‖ Lc ‖ C with IV = challenge ‖ 00…
//                (short only: the MAC covers the one-byte Lc, as the card computes it)
//   open         ssc-ext-auth: GET CHALLENGE, 00 82 00 keyId Lc ECB_K(challenge ‖ 00…);
//                scp02/scp03: SELECT the SD, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE — later
//                steps go through the secure channel until `close`
//   put-key      GP PUT KEY under the channel's DEK; the KCVs the card returns are checked
//   store-data   GP STORE DATA, one command per DGI block, sensitive DGIs (8000–8FFF) encrypted
//                under the session DEK
//   keygen-cert  the generate command → 04 ‖ X ‖ Y; the CA issues the certificate; SELECT the EF,
//                UPDATE BINARY in `chunk`-byte pieces, READ BINARY it back in `readChunk`-byte
//                pieces (extended Lc/Le when a piece needs them)
//   check        the command; the SW and (when given) the response data must match
//   run-apdu     header ‖ Lc ‖ data [‖ Le] as sealed-apdu, data completed now from RunParts: constant bytes, slices
//                of card facts (atr: the transport's ATR; chipId: the last 8 historical bytes of
//                the ATR; kdd: from the last INITIALIZE UPDATE; csn: the CPLC IC serial number,
//                GET DATA 9F7F), keys derived from a key-store master (KeyProvider.deriveCardKey
//                over the concatenated levels), PBOC MACs (IV zero) under such keys
//   put-derived-key  GP PUT KEY, as put-key, of ENC/MAC/DEK diversified from the master with the
//                card's KDD (the open channel's INITIALIZE UPDATE)
import { concat, equal, fromHex, toHex } from '../../bytes/index.js';
import {
  AuthenticationError,
  authenticateAfterInitializeUpdate,
  CardCryptogramError,
  initializeUpdate,
  SecureChannelError,
  type SecureChannel,
  type StaticKeys,
} from '../../channels/index.js';
import { blockCipher, kcv, pad, pbocIv, pbocMac, type BlockAlg } from '../../crypto/index.js';
import { putKeyCommand, STORE_DATA, storeDataCommand, type PutKeyComponent } from '../../globalplatform/index.js';
import { encodeCommand, encodeDgi, isSensitiveDgi, MAX_EXTENDED_DATA, MAX_EXTENDED_LE, MAX_SHORT_LE, swMeaning, type CommandApdu } from '../../iso7816/index.js';
import { issueCertificate } from '../../keys/ca.js';
import type { KeyProvider, KeyRef } from '../../keys/types.js';
import { atrHistoricalBytes } from '../../iso7816/index.js';
import { CardProtocolError, CardRemovedError, ReaderError, type Transport } from '../../transport/transport.js';
import { CardsmithError, faultOf, type ErrorKind } from '../../errors/index.js';
import type { CardFact, CardScript, ExpectedSw, KeyRefSpec, RunKey, RunPart, Sealed, SealedKey, Step, StoredKey } from '../script.js';

export type StepList = 'steps' | 'verify';

/**
 * A batch key the card refused (EXTERNAL AUTHENTICATE or a secure channel answered 63Cx / 6982, or
 * the card cryptogram did not match) or the host could not use (unseal, KCV, key store). Names the
 * key as far as the script does; the runner completes it from the manifest (label, version, KCV).
 */
export interface KeyFault {
  side: 'card' | 'host';
  label?: string;
  version?: number;
  kcv?: string;
  /** True for the batch seal key (manifest.transportKey). */
  seal?: boolean;
}

/** Why a card failed: where in its script, and what the card said. Carries no secret bytes. */
export class StepError extends CardsmithError {
  override name = 'StepError';
  /**
   * Depends on what the step met: a key fault when a batch key is the likely cause; a station
   * fault met inside the step (the reader gone) stays the station's; anything else is this card's.
   */
  get kind(): ErrorKind {
    if (this.keyFault) return 'key';
    const c = this.cause;
    return c instanceof CardsmithError && !(c instanceof StepError) && c.kind === 'station' ? 'station' : 'card';
  }
  constructor(
    message: string,
    readonly recordId: string,
    readonly list: StepList,
    readonly index: number,
    readonly op: Step['op'],
    readonly note: string | undefined,
    /** The status word the card answered, upper-case hex, when there was one. */
    readonly sw: string | undefined,
    /** True when the card (not the host, the keys or the script) is the likely cause. */
    readonly cardFault: boolean,
    options?: { cause?: unknown; keyFault?: KeyFault },
  ) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.keyFault = options?.keyFault;
  }
  /** Set when a batch key, not this card, is the likely cause. */
  readonly keyFault: KeyFault | undefined;
  /** A one-line reason for the journal and the reject box (≤ 200 characters, no hex runs that look like keys). */
  get reason(): string {
    return this.message.length > 200 ? `${this.message.slice(0, 197)}…` : this.message;
  }
}

export interface ExecutorOptions {
  provider: KeyProvider;
  /** The batch transport key that sealed the script's secrets (manifest.transportKey). */
  transportKey: KeyRef;
  /** Called after every step (progress, tests, crash injection). */
  onStep?: (e: { list: StepList; index: number; op: Step['op'] }) => void;
  signal?: AbortSignal;
}

export interface ExecutionResult {
  /** Steps run, per list. */
  steps: number;
  checks: number;
  /** Command APDUs sent (through channels included). */
  apdus: number;
  /** KCVs of keys written and confirmed by the card (put-key) or given by the script, by name. */
  kcvs: Record<string, string>;
  /** Certificates written (serial numbers). */
  certificates: string[];
}

interface Ctx {
  script: CardScript;
  opts: ExecutorOptions;
  base: Transport;
  link: Transport;
  channel: SecureChannel | undefined;
  result: ExecutionResult;
  list: StepList;
  index: number;
  step: Step;
  /** Card facts learnt during this execution (shared by both lists). */
  facts: { kdd?: Uint8Array; csn?: Uint8Array };
}

const enc = new TextEncoder();

/** Does `sw` (4 hex digits) match one of the expected patterns (X = any hex digit)? */
export function swMatches(sw: string, expected: ExpectedSw | undefined): boolean {
  const list = expected && expected.length ? expected : ['9000'];
  return list.some((p) => p.length === 4 && [...p.toUpperCase()].every((c, i) => c === 'X' || c === sw[i]));
}

function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

function describe(ctx: Ctx): string {
  const note = 'note' in ctx.step && ctx.step.note ? ` "${ctx.step.note}"` : 'what' in ctx.step ? ` "${ctx.step.what}"` : '';
  return `record ${ctx.script.recordId}: ${ctx.list}[${ctx.index}] ${ctx.step.op}${note}`;
}

function fail(ctx: Ctx, what: string, o: { sw?: number; cardFault?: boolean; cause?: unknown; keyFault?: KeyFault } = {}): StepError {
  const sw = o.sw !== undefined ? swHex(o.sw) : undefined;
  const swText = sw ? ` (card answered ${sw}: ${swMeaning(o.sw!)})` : '';
  const note = 'note' in ctx.step ? ctx.step.note : 'what' in ctx.step ? ctx.step.what : undefined;
  return new StepError(`${describe(ctx)}: ${what}${swText}`, ctx.script.recordId, ctx.list, ctx.index, ctx.step.op, note, sw, o.cardFault ?? true, {
    ...(o.cause !== undefined ? { cause: o.cause } : {}),
    ...(o.keyFault ? { keyFault: o.keyFault } : {}),
  });
}

/** A refusal of authentication: 6300 / 63Cx (wrong cryptogram, tries left) or 6982 (security status). */
function refusesKey(sw: string | number | undefined): boolean {
  const h = typeof sw === 'number' ? swHex(sw) : sw;
  return h !== undefined && (/^63/.test(h) || h === '6982');
}

/** The same failure, marked as a key fault. */
function asKeyFault(e: StepError, keyFault: KeyFault): StepError {
  return new StepError(e.message, e.recordId, e.list, e.index, e.op, e.note, e.sw, e.cardFault, { ...(e.cause !== undefined ? { cause: e.cause } : {}), keyFault });
}

function keyOf(k: SealedKey | StoredKey): KeyFault {
  return 'stored' in k ? { side: 'card', label: k.stored.label, version: k.stored.version, kcv: k.kcv } : { side: 'card', ...(k.kcv ? { kcv: k.kcv } : {}) };
}

async function exchange(ctx: Ctx, command: Uint8Array, via: Transport = ctx.link): Promise<{ data: Uint8Array; sw: number }> {
  ctx.opts.signal?.throwIfAborted();
  let r: Uint8Array;
  try {
    ctx.result.apdus++;
    r = await via.transmit(command);
  } catch (e) {
    if (e instanceof StepError) throw e;
    const kind = e instanceof CardRemovedError ? 'the card went away' : e instanceof ReaderError ? 'the reader failed' : e instanceof CardProtocolError ? 'the card broke the protocol' : e instanceof SecureChannelError ? 'the secure channel failed' : 'the command failed';
    throw fail(ctx, `${kind}: ${(e as Error).message}`, { cause: e, cardFault: faultOf(e) !== 'pause' });
  }
  if (r.length < 2) throw fail(ctx, `malformed response (${r.length} byte(s), no status word)`);
  return { data: r.subarray(0, r.length - 2), sw: (r[r.length - 2]! << 8) | r[r.length - 1]! };
}

async function expectSw(ctx: Ctx, command: Uint8Array, expected: ExpectedSw | undefined, what = 'unexpected status word'): Promise<Uint8Array> {
  const { data, sw } = await exchange(ctx, command);
  if (!swMatches(swHex(sw), expected)) throw fail(ctx, `${what}; expected ${(expected && expected.length ? expected : ['9000']).join(' or ')}`, { sw });
  return data;
}

function hex(ctx: Ctx, text: string, what: string): Uint8Array {
  try {
    return fromHex(text, what);
  } catch (e) {
    throw fail(ctx, `bad script: ${what} is not hex (${(e as Error).message.slice(0, 80)})`, { cardFault: false });
  }
}

/** Unseals, runs `use`, wipes. */
async function withSecret<T>(ctx: Ctx, sealed: Sealed, what: string, use: (secret: Uint8Array) => Promise<T> | T): Promise<T> {
  const secret = await unseal(ctx, sealed, what);
  try {
    return await use(secret);
  } finally {
    secret.fill(0);
  }
}

/** ECB under a key the store keeps (it never leaves, e.g. an HSM transport key), after checking its KCV. */
async function encryptInStore(ctx: Ctx, key: StoredKey, block: Uint8Array): Promise<Uint8Array> {
  const ref = { label: key.stored.label, version: key.stored.version };
  const where = `key ${ref.label} v${ref.version} of the key store`;
  let kcv: string;
  try {
    kcv = (await ctx.opts.provider.info(ref)).kcv;
  } catch (e) {
    throw fail(ctx, `the authentication key is ${where}, which cannot be used: ${(e as Error).message}`, { cardFault: false, cause: e, keyFault: { ...keyOf(key), side: 'host' } });
  }
  if (kcv.toUpperCase() !== key.kcv.toUpperCase()) {
    throw fail(ctx, `the authentication key is ${where}, whose KCV ${kcv} is not the script's ${key.kcv}`, { cardFault: false, keyFault: { ...keyOf(key), side: 'host', kcv } });
  }
  try {
    return await ctx.opts.provider.encrypt(ref, block, { mode: 'ecb' });
  } catch (e) {
    throw fail(ctx, `the key store could not encrypt with ${where}: ${(e as Error).message}`, { cardFault: false, cause: e, keyFault: { ...keyOf(key), side: 'host' } });
  }
}

async function unseal(ctx: Ctx, sealed: Sealed, what: string): Promise<Uint8Array> {
  let blob: Uint8Array;
  try {
    blob = new Uint8Array(Buffer.from(sealed.sealed, 'base64'));
  } catch {
    throw fail(ctx, `bad script: ${what} is not base64`, { cardFault: false });
  }
  let secret: Uint8Array;
  try {
    secret = await ctx.opts.provider.unseal(ctx.opts.transportKey, blob, enc.encode(ctx.script.recordId));
  } catch (e) {
    const t = ctx.opts.transportKey;
    throw fail(ctx, `cannot unseal ${what} (${(e as Error).name}): wrong transport key, or a value sealed for another record`, { cardFault: false, cause: e, keyFault: { side: 'host', seal: true, label: t.label, ...(t.version !== undefined ? { version: t.version } : {}) } });
  }
  if ('alg' in sealed && sealed.kcv) {
    const k = (sealed as SealedKey).alg;
    const got = keyKcv(k, secret);
    if (got !== undefined && got !== sealed.kcv.toUpperCase().slice(0, got.length)) {
      secret.fill(0);
      throw fail(ctx, `${what}: the unsealed key's KCV ${got} is not the script's ${sealed.kcv}`, { cardFault: false });
    }
  }
  return secret;
}

function keyKcv(alg: SealedKey['alg'], key: Uint8Array): string | undefined {
  try {
    return toHex(kcv(alg, key));
  } catch {
    return undefined;
  }
}

function cipherOf(ctx: Ctx, alg: SealedKey['alg']): ReturnType<typeof blockCipher> {
  return blockCipher(alg as BlockAlg);
  void ctx;
}

function header(ctx: Ctx, text: string): Uint8Array {
  const h = hex(ctx, text, 'header');
  if (h.length !== 4) throw fail(ctx, `bad script: header must be 4 bytes (CLA INS P1 P2), got ${h.length}`, { cardFault: false });
  return h;
}

/** header ‖ Lc ‖ data [‖ Le] through iso7816's encoder: extended Lc/Le only when the sizes need them. */
function commandApdu(ctx: Ctx, h: Uint8Array, data: Uint8Array, le?: number): Uint8Array {
  try {
    return encodeCommand({ cla: h[0]!, ins: h[1]!, p1: h[2]!, p2: h[3]!, data, le });
  } catch (e) {
    throw fail(ctx, `bad script: ${(e as Error).message}`, { cardFault: false });
  }
}

/** READ/UPDATE BINARY without an SFI: P1-P2 is a 15-bit offset (ISO/IEC 7816-4, P1 b8 = 0). */
const MAX_BINARY_OFFSET = 0x7fff;

/** A keygen-cert chunk size from the script: an integer 1..max, or `dflt` when absent. */
function chunkSize(ctx: Ctx, value: number | undefined, dflt: number, max: number, what: string): number {
  if (value === undefined) return dflt;
  if (!Number.isInteger(value) || value < 1 || value > max) throw fail(ctx, `bad script: ${what} ${String(value)} is not 1..${max}`, { cardFault: false });
  return value;
}

async function getChallenge(ctx: Ctx, n: number): Promise<Uint8Array> {
  const data = await expectSw(ctx, Uint8Array.of(0x00, 0x84, 0x00, 0x00, n), ['9000'], 'GET CHALLENGE refused');
  if (data.length !== n) throw fail(ctx, `GET CHALLENGE answered ${data.length} bytes, ${n} were asked for`);
  return data;
}

function refOf(r: KeyRefSpec): KeyRef {
  return r.version !== undefined ? { label: r.label, version: r.version } : { label: r.label };
}

/** GP PUT KEY of ENC/MAC/DEK under the open channel's DEK; checks the key version and KCVs the card returns. */
async function putKeys(ctx: Ctx, keyVersion: number, replaceVersion: number | undefined, keys: { enc: Uint8Array; mac: Uint8Array; dek: Uint8Array }): Promise<void> {
  const ch = ctx.channel;
  if (!ch) throw fail(ctx, 'bad script: PUT KEY needs an open secure channel (an open step before it)', { cardFault: false });
  const aes = ch.protocol === 'scp03';
  const names = ['enc', 'mac', 'dek'] as const;
  const comps: PutKeyComponent[] = names.map((name) => {
    const k = keys[name];
    return { type: aes ? 0x88 : 0x80, encrypted: ch.encryptKey(k), keyLength: k.length, kcv: kcv(aes ? 'aes' : 'des3', k) };
  });
  const cmd = encodeCommand(putKeyCommand(keyVersion, comps, replaceVersion !== undefined ? { replaceVersion } : {}));
  const data = await expectSw(ctx, cmd, ['9000'], 'PUT KEY refused; the card keeps its old keys');
  const expected = concat(Uint8Array.of(keyVersion), ...comps.map((c) => c.kcv));
  if (!equal(data, expected)) throw fail(ctx, `PUT KEY: the card answered key version and KCVs ${toHex(data) || '(none)'}, expected ${toHex(expected)}`);
  names.forEach((n, i) => (ctx.result.kcvs[`${n}-v${keyVersion}`] = toHex(comps[i]!.kcv)));
}

/** A card fact (script.ts CardFact) of the card in the reader. */
async function cardFact(ctx: Ctx, fact: CardFact): Promise<Uint8Array> {
  switch (fact) {
    case 'atr': {
      const atr = ctx.base.atr();
      if (atr.length < 8) throw fail(ctx, `the card's ATR has ${atr.length} bytes; card.atr needs at least 8`);
      return atr;
    }
    case 'chipId': {
      const hist = atrHistoricalBytes(ctx.base.atr());
      if (!hist || hist.length < 8) throw fail(ctx, "the card's ATR carries no 8-byte chip id in its historical bytes");
      return hist.subarray(hist.length - 8);
    }
    case 'kdd':
      if (!ctx.facts.kdd) throw fail(ctx, "bad script: card.kdd is known only after an scp02/scp03 open step (INITIALIZE UPDATE)", { cardFault: false });
      return ctx.facts.kdd;
    case 'csn': {
      if (!ctx.facts.csn) {
        // CPLC (GP 2.3 Table H-?): IC fabricator 2, IC type 2, OS id 2, OS date 2, OS level 2, IC fabrication date 2, IC serial 4, …
        let cplc = await expectSw(ctx, Uint8Array.of(0x80, 0xca, 0x9f, 0x7f, 0x00), ['9000'], 'GET DATA CPLC (for card.csn) refused');
        if (cplc.length >= 3 && cplc[0] === 0x9f && cplc[1] === 0x7f) cplc = cplc.subarray(3);
        if (cplc.length < 16) throw fail(ctx, `GET DATA CPLC answered ${cplc.length} bytes, too few for the IC serial number`);
        ctx.facts.csn = cplc.slice(12, 16);
      }
      return ctx.facts.csn;
    }
    default:
      throw fail(ctx, `bad script: unknown card fact ${String(fact)}`, { cardFault: false });
  }
}

/** A key derived at run time (RunKey); the caller wipes it. */
async function runKeyValue(ctx: Ctx, k: RunKey): Promise<Uint8Array> {
  const levels: Uint8Array[] = [];
  for (const level of k.levels) levels.push(await completeParts(ctx, level, `derivation data of ${k.name ?? 'a card key'}`));
  const data = concat(...levels);
  try {
    const got = await ctx.opts.provider.deriveCardKey(refOf(k.master), { method: k.method, data, ...(k.keyType ? { keyType: k.keyType } : {}) });
    if (got.alg !== k.alg) {
      got.value.fill(0);
      throw fail(ctx, `bad script: key ${k.name ?? k.master.label} should be ${k.alg}, the master ${k.master.label} gives ${got.alg}`, { cardFault: false });
    }
    return got.value;
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw fail(ctx, `cannot derive ${k.name ?? 'a card key'} from ${k.master.label} (${(e as Error).name}: ${(e as Error).message.replace(/[0-9A-F]{16,}/gi, '…')})`, { cardFault: false, cause: e });
  } finally {
    data.fill(0);
    for (const l of levels) l.fill(0);
  }
}

/** RunParts completed with the card's facts and run-time keys (script.ts RunPart); the caller wipes the result. */
async function completeParts(ctx: Ctx, parts: RunPart[], what: string): Promise<Uint8Array> {
  if (!Array.isArray(parts)) throw fail(ctx, `bad script: ${what} is not a list of parts`, { cardFault: false });
  const out: Uint8Array[] = [];
  try {
    for (const p of parts) {
      if ('hex' in p) out.push(hex(ctx, p.hex, what));
      else if ('fact' in p) {
        const f = await cardFact(ctx, p.fact);
        const from = p.from === undefined ? 0 : p.from < 0 ? f.length + p.from : p.from;
        const end = p.length === undefined ? f.length : from + p.length;
        if (from < 0 || end > f.length || end < from) throw fail(ctx, `card.${p.fact} has ${f.length} bytes; bytes ${p.from ?? 0}+${p.length ?? 'rest'} are not there`);
        out.push(f.slice(from, end));
      } else if ('key' in p) out.push(await runKeyValue(ctx, p.key));
      else if ('mac' in p) {
        const alg = p.mac.key.alg;
        if (alg === 'aes') throw fail(ctx, 'bad script: PBOC MACs use des3 or sm4 keys, not aes', { cardFault: false });
        const data = await completeParts(ctx, p.mac.data, what);
        const key = await runKeyValue(ctx, p.mac.key);
        try {
          out.push(pbocMac({ alg, key, iv: new Uint8Array(alg === 'sm4' ? 16 : 8), data }));
        } finally {
          key.fill(0);
          data.fill(0);
        }
      } else throw fail(ctx, `bad script: ${what} has a part of unknown kind`, { cardFault: false });
    }
    return concat(...out);
  } finally {
    for (const o of out) o.fill(0);
  }
}

async function runStep(ctx: Ctx): Promise<void> {
  const s = ctx.step;
  switch (s.op) {
    case 'apdu':
      await expectSw(ctx, hex(ctx, s.apdu, 'apdu'), s.sw);
      return;
    case 'check': {
      const data = await expectSw(ctx, hex(ctx, s.apdu, 'apdu'), s.sw, `check "${s.what}" failed`);
      ctx.result.checks++;
      if (s.expect !== undefined && !equal(data, hex(ctx, s.expect, 'expect'))) {
        throw fail(ctx, `check "${s.what}" failed: the card's data differs from the expected ${hex(ctx, s.expect, 'expect').length} bytes (got ${data.length})`);
      }
      return;
    }
    case 'sealed-apdu': {
      const h = header(ctx, s.header);
      await withSecret(ctx, s.data, 'the sealed data', async (secret) => {
        const cmd = commandApdu(ctx, h, secret, s.le);
        try {
          await expectSw(ctx, cmd, s.sw);
        } finally {
          cmd.fill(0);
        }
      });
      return;
    }
    case 'mac-apdu': {
      const h = header(ctx, s.header);
      const macAlg = s.macKey.alg;
      if (macAlg === 'aes') throw fail(ctx, 'bad script: PBOC MACs use des3 or sm4 keys, not aes', { cardFault: false });
      const block = blockCipher(macAlg).blockSize;
      const n = s.challengeLength ?? 4;
      if (n > block) throw fail(ctx, `bad script: a ${n}-byte challenge does not fit a ${block}-byte block`, { cardFault: false });
      let data: Uint8Array = s.data === undefined ? new Uint8Array(0) : typeof s.data === 'string' ? hex(ctx, s.data, 'data') : await unseal(ctx, s.data, 'the sealed data');
      try {
        if (s.encryptKey) {
          const ek = s.encryptKey;
          const plain = data;
          data = await withSecret(ctx, ek, 'the encryption key', (k) => {
            const c = cipherOf(ctx, ek.alg);
            const padded = pad(plain, 2, c.blockSize);
            try {
              return c.encryptEcb(k, padded);
            } finally {
              padded.fill(0);
            }
          });
          plain.fill(0);
        }
        const challenge = await getChallenge(ctx, n);
        const lc = data.length + 4;
        if (lc > 255) throw fail(ctx, `bad script: ${lc} bytes do not fit a short MAC-protected APDU`, { cardFault: false });
        const macInput = concat(h, Uint8Array.of(lc), data);
        const mac = await withSecret(ctx, s.macKey, 'the MAC key', (k) => pbocMac({ alg: macAlg, key: k, iv: pbocIv(challenge, block as 8 | 16), data: macInput }));
        const cmd = concat(h, Uint8Array.of(lc), data, mac);
        try {
          await expectSw(ctx, cmd, s.sw);
        } finally {
          cmd.fill(0);
          macInput.fill(0);
        }
      } finally {
        data.fill(0);
      }
      return;
    }
    case 'open': {
      if (ctx.channel) throw fail(ctx, 'bad script: a secure channel is already open (close it first)', { cardFault: false });
      if (s.protocol === 'ssc-ext-auth') {
        const key = s.key;
        const n = s.challengeLength ?? 8;
        const challenge = await getChallenge(ctx, n);
        const c = cipherOf(ctx, key.alg);
        const len = Math.max(c.blockSize, Math.ceil(n / c.blockSize) * c.blockSize);
        const block = new Uint8Array(len);
        block.set(challenge);
        const cryptogram = 'stored' in key ? await encryptInStore(ctx, key, block) : await withSecret(ctx, key, 'the authentication key', (k) => c.encryptEcb(k, block));
        try {
          await expectSw(ctx, concat(Uint8Array.of(0x00, 0x82, 0x00, s.keyId & 0xff, cryptogram.length), cryptogram), ['9000'], `EXTERNAL AUTHENTICATE with key ${s.keyId} refused`);
        } catch (e) {
          throw e instanceof StepError && refusesKey(e.sw) ? asKeyFault(e, keyOf(key)) : e;
        }
        return;
      }
      // GP secure channel: SELECT the SD, INITIALIZE UPDATE, derive or unseal the keys, EXTERNAL AUTHENTICATE.
      const aid = s.sdAid ? hex(ctx, s.sdAid, 'sdAid') : fromHex('A000000151000000');
      await expectSw(ctx, encodeCommand({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: aid, le: 256 } as CommandApdu), ['9000', '6283'], 'SELECT of the security domain refused');
      const scp = s.protocol === 'scp02' ? 2 : 3;
      let init;
      try {
        init = await initializeUpdate(ctx.base, { keyVersion: s.keyVersion ?? 0 });
      } catch (e) {
        throw fail(ctx, `INITIALIZE UPDATE: ${(e as Error).message}`, { cause: e, ...(e instanceof AuthenticationError && e.sw !== undefined ? { sw: e.sw } : {}) });
      }
      ctx.result.apdus++;
      ctx.facts.kdd = init.response.kdd.slice();
      const keys: StaticKeys = { enc: new Uint8Array(0), mac: new Uint8Array(0), dek: new Uint8Array(0) };
      try {
        if ('master' in s.keys) {
          const derived = await ctx.opts.provider.deriveCardKeys(refOf(s.keys.master), (['enc', 'mac', 'dek'] as const).map((keyType) => ({ method: (s.keys as { div: 'emv' | 'visa2' | 'kdf3' }).div, data: init.response.kdd, keyType })));
          keys.enc = derived[0]!.value;
          keys.mac = derived[1]!.value;
          keys.dek = derived[2]!.value;
        } else {
          keys.enc = await unseal(ctx, s.keys.enc, 'the ENC key');
          keys.mac = await unseal(ctx, s.keys.mac, 'the MAC key');
          keys.dek = await unseal(ctx, s.keys.dek, 'the DEK');
        }
        ctx.channel = await authenticateAfterInitializeUpdate(ctx.base, init, { keys, scp, securityLevel: s.securityLevel, ...(s.scp02i !== undefined ? { scp02i: s.scp02i } : {}), ...(s.keyVersion !== undefined ? { keyVersion: s.keyVersion } : {}), sdAid: aid });
        ctx.result.apdus++;
      } catch (e) {
        if (e instanceof StepError) throw e;
        const sw = e instanceof AuthenticationError ? e.sw : undefined;
        const wrongKeys = e instanceof CardCryptogramError || refusesKey(sw);
        const keyFault: KeyFault = 'master' in s.keys ? { side: 'card', label: s.keys.master.label, ...(s.keys.master.version !== undefined ? { version: s.keys.master.version } : {}) } : { side: 'card', ...(s.keys.enc.kcv ? { kcv: s.keys.enc.kcv } : {}) };
        throw fail(ctx, `${e instanceof CardCryptogramError ? 'the card cryptogram is wrong (other keys on the card?)' : 'secure channel not opened'}: ${(e as Error).message.replace(/[0-9A-F]{32,}/gi, '…')}`, { cause: e, ...(sw !== undefined ? { sw } : {}), ...(wrongKeys ? { keyFault } : {}) });
      } finally {
        // The channel derived its session keys; the static ones are no longer needed (SCP03
        // PUT KEY encrypts under the static DEK, which the channel keeps itself).
        if (!('master' in s.keys)) {
          keys.enc.fill(0);
          keys.mac.fill(0);
        }
      }
      ctx.link = ctx.channel;
      return;
    }
    case 'close':
      if (ctx.channel?.active) ctx.channel.end('script: close');
      ctx.channel = undefined;
      ctx.link = ctx.base;
      return;
    case 'put-key': {
      const values: { enc?: Uint8Array; mac?: Uint8Array; dek?: Uint8Array } = {};
      try {
        for (const name of ['enc', 'mac', 'dek'] as const) values[name] = await unseal(ctx, s.keys[name], `the new ${name.toUpperCase()} key`);
        await putKeys(ctx, s.keyVersion, s.replaceVersion, values as { enc: Uint8Array; mac: Uint8Array; dek: Uint8Array });
      } finally {
        values.enc?.fill(0);
        values.mac?.fill(0);
        values.dek?.fill(0);
      }
      return;
    }
    case 'put-derived-key': {
      if (!ctx.channel) throw fail(ctx, 'bad script: PUT KEY needs an open secure channel (an open step before it)', { cardFault: false });
      const kdd = ctx.facts.kdd;
      if (!kdd) throw fail(ctx, "bad script: put-derived-key needs the card's KDD (an scp02/scp03 open step before it)", { cardFault: false });
      let derived;
      try {
        derived = await ctx.opts.provider.deriveCardKeys(refOf(s.master), (['enc', 'mac', 'dek'] as const).map((keyType) => ({ method: s.div, data: kdd, keyType })));
      } catch (e) {
        throw fail(ctx, `cannot derive the new key set from ${s.master.label} (${(e as Error).name}: ${(e as Error).message.replace(/[0-9A-F]{16,}/gi, '…')})`, { cardFault: false, cause: e });
      }
      try {
        await putKeys(ctx, s.keyVersion, s.replaceVersion, { enc: derived[0]!.value, mac: derived[1]!.value, dek: derived[2]!.value });
      } finally {
        for (const d of derived) d.value.fill(0);
      }
      return;
    }
    case 'run-apdu': {
      const h = header(ctx, s.header);
      const data = await completeParts(ctx, s.data, 'data');
      try {
        const cmd = commandApdu(ctx, h, data, s.le);
        try {
          await expectSw(ctx, cmd, s.sw);
        } finally {
          cmd.fill(0);
        }
      } finally {
        data.fill(0);
      }
      return;
    }
    case 'store-data': {
      const ch = ctx.channel;
      const blocks: { data: Uint8Array; encrypted: boolean }[] = [];
      const size = ch ? ch.maxDataLength(255) : 255;
      for (const d of s.dgis) {
        const sensitive = isSensitiveDgi(d.dgi);
        let payload: Uint8Array;
        if (d.sealed) {
          payload = await withSecret(ctx, d.sealed, `DGI ${d.dgi.toString(16).toUpperCase()}`, (v) => {
            if (!sensitive) return encodeDgi(d.dgi, v);
            if (!ch) throw fail(ctx, `bad script: DGI ${d.dgi.toString(16).toUpperCase()} is sensitive and needs a secure channel (its DEK)`, { cardFault: false });
            return encodeDgi(d.dgi, ch.encryptSensitiveData(v));
          });
        } else {
          payload = encodeDgi(d.dgi, hex(ctx, d.data ?? '', `DGI ${d.dgi.toString(16)} data`));
        }
        for (let off = 0; off < payload.length; off += size) blocks.push({ data: payload.slice(off, off + size), encrypted: sensitive && !!d.sealed });
        payload.fill(0);
      }
      if (blocks.length === 0) throw fail(ctx, 'bad script: store-data without DGIs', { cardFault: false });
      for (const [k, b] of blocks.entries()) {
        const p1 = (k === blocks.length - 1 ? STORE_DATA.last : 0) | (b.encrypted ? STORE_DATA.encrypted : STORE_DATA.noEncryption);
        const cmd = encodeCommand(storeDataCommand(p1, k, b.data));
        try {
          await expectSw(ctx, cmd, ['9000'], `STORE DATA block ${k + 1} of ${blocks.length} refused`);
        } finally {
          cmd.fill(0);
          b.data.fill(0);
        }
      }
      return;
    }
    case 'keygen-cert': {
      const pub = await expectSw(ctx, hex(ctx, s.generate, 'generate'), ['9000'], 'key generation refused');
      if (pub.length !== 65 || pub[0] !== 0x04) throw fail(ctx, `key generation answered ${pub.length} bytes, not an uncompressed SM2 point (04 ‖ X ‖ Y)`);
      let der: Uint8Array;
      let serial: string;
      try {
        const issued = await issueCertificate(ctx.opts.provider, refOf(s.ca), { publicKey: pub, subject: Object.entries(s.subject).map(([type, value]) => ({ type, value })) });
        der = issued.der;
        serial = issued.serial;
      } catch (e) {
        throw fail(ctx, `the CA did not issue a certificate: ${(e as Error).message}`, { cause: e, cardFault: false });
      }
      const fid = hex(ctx, s.certificateFile, 'certificateFile');
      // Every command through iso7816's encoder: Lc/Le short while they fit, extended beyond
      // (a chunk above 255 / 256 bytes), as the script's chunk sizes ask.
      const chunk = chunkSize(ctx, s.chunk, 200, MAX_EXTENDED_DATA, 'chunk');
      const readChunk = chunkSize(ctx, s.readChunk, Math.min(chunk, MAX_SHORT_LE), MAX_EXTENDED_LE, 'readChunk');
      if (der.length > MAX_BINARY_OFFSET + 1) throw fail(ctx, `the certificate is ${der.length} bytes; UPDATE BINARY offsets (15 bits) reach ${MAX_BINARY_OFFSET + 1}`, { cardFault: false });
      await expectSw(ctx, encodeCommand({ cla: 0x00, ins: 0xa4, p1: 0x02, p2: 0x0c, data: fid }), ['9000'], `SELECT of the certificate EF ${s.certificateFile} refused`);
      for (let off = 0; off < der.length; off += chunk) {
        const part = der.subarray(off, off + chunk);
        await expectSw(ctx, encodeCommand({ cla: 0x00, ins: 0xd6, p1: off >> 8, p2: off & 0xff, data: part }), ['9000'], `UPDATE BINARY of the certificate at offset ${off} refused`);
      }
      // Read back what was written.
      const back: Uint8Array[] = [];
      for (let off = 0; off < der.length; off += readChunk) {
        const n = Math.min(readChunk, der.length - off);
        back.push(await expectSw(ctx, encodeCommand({ cla: 0x00, ins: 0xb0, p1: off >> 8, p2: off & 0xff, data: new Uint8Array(0), le: n }), ['9000'], 'READ BINARY of the certificate refused'));
      }
      if (!equal(concat(...back), der)) throw fail(ctx, 'the certificate read back differs from the one written');
      ctx.result.certificates.push(serial);
      return;
    }
  }
}

/** Runs `script.steps` (or `verify` with `only: 'verify'`), then the verify steps. */
export async function executeScript(transport: Transport, script: CardScript, opts: ExecutorOptions, o: { lists?: StepList[] } = {}): Promise<ExecutionResult> {
  const result: ExecutionResult = { steps: 0, checks: 0, apdus: 0, kcvs: {}, certificates: [] };
  const lists = o.lists ?? ['steps', 'verify'];
  const facts: Ctx['facts'] = {};
  for (const list of lists) {
    const ctx: Ctx = { script, opts, base: transport, link: transport, channel: undefined, result, list, index: 0, step: { op: 'close' }, facts };
    try {
      for (const [index, step] of script[list].entries()) {
        ctx.index = index;
        ctx.step = step;
        try {
          await runStep(ctx);
        } catch (e) {
          if (e instanceof StepError) throw e;
          throw fail(ctx, `failed: ${(e as Error).message ?? String(e)}`, { cause: e, cardFault: !(e instanceof RangeError || e instanceof TypeError) });
        }
        result.steps++;
        opts.onStep?.({ list, index, op: step.op });
      }
    } finally {
      if (ctx.channel?.active) ctx.channel.end('end of the script');
    }
  }
  for (const k of Object.keys(result.kcvs)) if (!/^[0-9A-F]{4,8}$/.test(result.kcvs[k]!)) delete result.kcvs[k];
  return result;
}

/** Runs only the verify steps (cardsmith verify, recovery's inspection). */
export function verifyCard(transport: Transport, script: CardScript, opts: ExecutorOptions): Promise<ExecutionResult> {
  return executeScript(transport, script, opts, { lists: ['verify'] });
}
