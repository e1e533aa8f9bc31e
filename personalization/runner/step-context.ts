// What every step handler of the executor (executor.ts, steps.ts) shares: the context of one
// script's execution, the StepError a card fails with, and the ways to the card — a command and
// its expected status words, GlobalPlatform commands through the session of globalplatform/, and
// secrets unsealed only for as long as they are used.
import { fromHex, toHex } from '../../bytes/index.js';
import { SecureChannelError } from '../../channels/index.js';
import { kcv } from '../../crypto/index.js';
import { GpCommandError, KcvMismatchError, type GpSession } from '../../globalplatform/index.js';
import { encodeCommand, swMeaning } from '../../iso7816/index.js';
import type { KeyProvider, KeyRef } from '../../keys/types.js';
import { CardProtocolError, CardRemovedError, ReaderError, type Transport } from '../../transport/transport.js';
import { CardsmithError, faultOf, type ErrorKind } from '../../errors/index.js';
import type { BlobPack, BlobSlice } from '../blobs.js';
import type { CardScript, ExpectedSw, KeyRefSpec, Sealed, SealedKey, Step, StoredKey } from '../script.js';
import { BatchInputError } from '../sealed.js';

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
  /** The batch's blobs.pack (Batch.blobs), for scripts that name blobs. */
  blobs?: BlobPack;
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

/** One script's execution, as the step handlers see it. */
export interface Ctx {
  script: CardScript;
  opts: ExecutorOptions;
  /** The card's transport; every command APDU through it is counted in result.apdus. */
  base: Transport;
  /** Where commands go: the secure channel while one is open, else `base`. */
  link: Transport;
  /** GlobalPlatform commands (PUT KEY, STORE DATA) on `base`, over the open secure channel. */
  gp: GpSession;
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
  return /^[0-9A-F]{4}$/.test(sw) && swWordMatches(Number.parseInt(sw, 16), expected);
}

/** swMatches for the status word as a number: no strings or arrays made (it runs for every APDU). */
function swWordMatches(sw: number, expected: ExpectedSw | undefined): boolean {
  if (!expected || expected.length === 0) return sw === 0x9000;
  for (let i = 0; i < expected.length; i++) if (patternMatches(expected[i]!, sw)) return true;
  return false;
}

/** One pattern of 4 hex digits or X (either case) against the status word. */
function patternMatches(p: string, sw: number): boolean {
  if (p.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const c = p.charCodeAt(i) | 0x20; // lower case
    if (c === 0x78) continue; // x: any digit
    const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (v !== ((sw >> (12 - 4 * i)) & 0xf)) return false;
  }
  return true;
}

function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

function describe(ctx: Ctx): string {
  const note = 'note' in ctx.step && ctx.step.note ? ` "${ctx.step.note}"` : 'what' in ctx.step ? ` "${ctx.step.what}"` : '';
  return `record ${ctx.script.recordId}: ${ctx.list}[${ctx.index}] ${ctx.step.op}${note}`;
}

export function fail(ctx: Ctx, what: string, o: { sw?: number; cardFault?: boolean; cause?: unknown; keyFault?: KeyFault } = {}): StepError {
  const sw = o.sw !== undefined ? swHex(o.sw) : undefined;
  const swText = sw ? ` (card answered ${sw}: ${swMeaning(o.sw!)})` : '';
  const note = 'note' in ctx.step ? ctx.step.note : 'what' in ctx.step ? ctx.step.what : undefined;
  return new StepError(`${describe(ctx)}: ${what}${swText}`, ctx.script.recordId, ctx.list, ctx.index, ctx.step.op, note, sw, o.cardFault ?? true, {
    ...(o.cause !== undefined ? { cause: o.cause } : {}),
    ...(o.keyFault ? { keyFault: o.keyFault } : {}),
  });
}

/** A refusal of authentication: 6300 / 63Cx (wrong cryptogram, tries left) or 6982 (security status). */
export function refusesKey(sw: string | number | undefined): boolean {
  const h = typeof sw === 'number' ? swHex(sw) : sw;
  return h !== undefined && (/^63/.test(h) || h === '6982');
}

/** The same failure, marked as a key fault. */
export function asKeyFault(e: StepError, keyFault: KeyFault): StepError {
  return new StepError(e.message, e.recordId, e.list, e.index, e.op, e.note, e.sw, e.cardFault, { ...(e.cause !== undefined ? { cause: e.cause } : {}), keyFault });
}

export function keyOf(k: SealedKey | StoredKey): KeyFault {
  return 'stored' in k ? { side: 'card', label: k.stored.label, version: k.stored.version, kcv: k.kcv } : { side: 'card', ...(k.kcv ? { kcv: k.kcv } : {}) };
}

/** `transport` counting every command APDU into `result.apdus` (secure channel setup and GP commands included). */
export function countingTransport(transport: Transport, result: ExecutionResult): Transport {
  return {
    name: transport.name,
    atr: () => transport.atr(),
    transmit: (command) => {
      result.apdus++;
      return transport.transmit(command);
    },
    reset: (cold) => transport.reset(cold),
    close: () => transport.close(),
  };
}

/** A failure on the way to the card (reader, card, protocol, secure channel) as a StepError. */
function linkFault(ctx: Ctx, e: unknown): StepError {
  if (e instanceof StepError) return e;
  const kind = e instanceof CardRemovedError ? 'the card went away' : e instanceof ReaderError ? 'the reader failed' : e instanceof CardProtocolError ? 'the card broke the protocol' : e instanceof SecureChannelError ? 'the secure channel failed' : 'the command failed';
  return fail(ctx, `${kind}: ${(e as Error).message}`, { cause: e, cardFault: faultOf(e) !== 'pause' });
}

/** Sends `command` on ctx.link and checks the status word; returns the response data. One async frame per APDU. */
export async function expectSw(ctx: Ctx, command: Uint8Array, expected: ExpectedSw | undefined, what = 'unexpected status word'): Promise<Uint8Array> {
  ctx.opts.signal?.throwIfAborted();
  let r: Uint8Array;
  try {
    r = await ctx.link.transmit(command);
  } catch (e) {
    throw linkFault(ctx, e);
  }
  const n = r.length;
  if (n < 2) throw fail(ctx, `malformed response (${n} byte(s), no status word)`);
  const sw = (r[n - 2]! << 8) | r[n - 1]!;
  if (!swWordMatches(sw, expected)) throw fail(ctx, `${what}; expected ${(expected && expected.length ? expected : ['9000']).join(' or ')}`, { sw });
  return r.subarray(0, n - 2);
}

export function hex(ctx: Ctx, text: string, what: string): Uint8Array {
  try {
    return fromHex(text, what);
  } catch (e) {
    throw fail(ctx, `bad script: ${what} is not hex (${(e as Error).message.slice(0, 80)})`, { cardFault: false });
  }
}

/** Bytes of the batch's blobs.pack; a missing pack or bytes that differ from the script's hash fail the step as a bad batch, not a card fault. */
export function blobBytes(ctx: Ctx, slice: BlobSlice, what: string): Uint8Array {
  const pack = ctx.opts.blobs;
  if (!pack) throw fail(ctx, `bad script: ${what} names a blob of blobs.pack (${slice.size} bytes at offset ${slice.at}), but the batch has no blobs.pack`, { cardFault: false });
  try {
    return pack.read(slice);
  } catch (e) {
    if (e instanceof BatchInputError) throw fail(ctx, `bad batch: ${what}: ${e.message}`, { cardFault: false, cause: e });
    throw e;
  }
}

/** Unseals, runs `use`, wipes. */
export async function withSecret<T>(ctx: Ctx, sealed: Sealed, what: string, use: (secret: Uint8Array) => Promise<T> | T): Promise<T> {
  const secret = await unseal(ctx, sealed, what);
  try {
    return await use(secret);
  } finally {
    secret.fill(0);
  }
}

/** ECB under a key the store keeps (it never leaves, e.g. an HSM transport key), after checking its KCV. */
export async function encryptInStore(ctx: Ctx, key: StoredKey, block: Uint8Array): Promise<Uint8Array> {
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

export async function unseal(ctx: Ctx, sealed: Sealed, what: string): Promise<Uint8Array> {
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

/**
 * A GlobalPlatform command of the session (ctx.gp); the card's refusal fails the step with its SW
 * (`refused` names the command), a KCV mismatch names both values, the link's failures as exchange's.
 */
export async function gpCall<T>(ctx: Ctx, call: (gp: GpSession) => Promise<T>, refused: (command: string) => string): Promise<T> {
  ctx.opts.signal?.throwIfAborted();
  try {
    return await call(ctx.gp);
  } catch (e) {
    if (e instanceof KcvMismatchError) throw fail(ctx, `PUT KEY: the card answered key version and KCVs ${e.received || '(none)'}, expected ${e.expected}`);
    if (e instanceof GpCommandError) throw fail(ctx, `${refused(e.command)}; expected 9000`, { sw: e.sw });
    if (e instanceof RangeError || e instanceof TypeError) throw e; // a bad script: executeScript names it
    throw linkFault(ctx, e);
  }
}

export function header(ctx: Ctx, text: string): Uint8Array {
  const h = hex(ctx, text, 'header');
  if (h.length !== 4) throw fail(ctx, `bad script: header must be 4 bytes (CLA INS P1 P2), got ${h.length}`, { cardFault: false });
  return h;
}

/** header ‖ Lc ‖ data [‖ Le] through iso7816's encoder: extended Lc/Le only when the sizes need them. */
export function commandApdu(ctx: Ctx, h: Uint8Array, data: Uint8Array, le?: number): Uint8Array {
  try {
    return encodeCommand({ cla: h[0]!, ins: h[1]!, p1: h[2]!, p2: h[3]!, data, le });
  } catch (e) {
    throw fail(ctx, `bad script: ${(e as Error).message}`, { cardFault: false });
  }
}

export async function getChallenge(ctx: Ctx, n: number): Promise<Uint8Array> {
  const data = await expectSw(ctx, Uint8Array.of(0x00, 0x84, 0x00, 0x00, n), ['9000'], 'GET CHALLENGE refused');
  if (data.length !== n) throw fail(ctx, `GET CHALLENGE answered ${data.length} bytes, ${n} were asked for`);
  return data;
}

export function refOf(r: KeyRefSpec): KeyRef {
  return r.version !== undefined ? { label: r.label, version: r.version } : { label: r.label };
}
