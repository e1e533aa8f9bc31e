// PC/SC readers through the `smartcard` npm package (N-API over libpcsclite / WinSCard).
// The package is an optional dependency: it is loaded with a dynamic import on first use, so the
// rest of cardsmith works without it. Its native calls reject with plain Errors that carry only a
// message (no code; docs/pcsc.md lists the ones seen), so mapPcscError turns those messages into
// cardsmith's typed errors. 61xx/6Cxx are resolved by the same helper as the simulator's.
import { abytes } from '../bytes/index.js';
import { transmitResolvingT0, type T0Options } from './t0.js';
import { CardRemovedError, ReaderError, type Transport, TransportClosedError } from './transport.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

// ------------------------------------------------------------------ the package --

/** What cardsmith uses of the `smartcard` package (3.x); declared here so it compiles without it. */
export interface PcscModule {
  Context: new () => PcscContext;
  SCARD_SHARE_SHARED: number;
  SCARD_SHARE_EXCLUSIVE: number;
  SCARD_PROTOCOL_T0: number;
  SCARD_PROTOCOL_T1: number;
  SCARD_LEAVE_CARD: number;
  SCARD_RESET_CARD: number;
  SCARD_UNPOWER_CARD: number;
  SCARD_STATE_CHANGED: number;
  SCARD_STATE_UNKNOWN: number;
  SCARD_STATE_UNAVAILABLE: number;
  SCARD_STATE_EMPTY: number;
  SCARD_STATE_PRESENT: number;
  SCARD_STATE_MUTE: number;
}

export interface PcscReaderState {
  name: string;
  state: number;
  atr?: Uint8Array | null;
}

export interface PcscContext {
  readonly isValid: boolean;
  listReaders(): PcscReader[];
  waitForChange(readers: PcscReaderState[], timeoutMs: number): Promise<PcscReaderState[] | null>;
  cancel(): void;
  close(): void;
}

export interface PcscReader {
  readonly name: string;
  readonly state: number;
  readonly atr: Uint8Array | null;
  connect(shareMode?: number, protocol?: number): Promise<PcscCard>;
}

export interface PcscCard {
  readonly protocol: number;
  readonly atr: Uint8Array | null;
  transmit(command: Uint8Array, options?: { maxRecvLength?: number }): Promise<Uint8Array>;
  getStatus(): { state: number; protocol: number; atr: Uint8Array };
  disconnect(disposition?: number): void;
  reconnect(shareMode?: number, protocol?: number, initialization?: number): Promise<number>;
}

/** Loads the package; tests inject fakes. */
export type PcscLoader = () => Promise<unknown>;

export const PCSC_MISSING =
  "PC/SC support needs the optional 'smartcard' package and libpcsclite (apt-get install libpcsclite-dev pcscd; npm install smartcard)";

/** The `smartcard` package (or libpcsclite under it) cannot be loaded. */
export class PcscUnavailableError extends ReaderError {
  override name = 'PcscUnavailableError';
}

/** A reader spec that is malformed, names no reader, or names several: bad input (CLI exit 2). */
export class ReaderSpecError extends CardsmithError {
  override name = 'ReaderSpecError';
  readonly kind: ErrorKind = 'input';
}

// A variable, so that TypeScript does not need the package's types to compile cardsmith.
const PACKAGE = 'smartcard';
const defaultLoader: PcscLoader = () => import(PACKAGE) as Promise<unknown>;
let cached: Promise<PcscModule> | undefined;

/** The `smartcard` package, loaded once; PcscUnavailableError (with the install hint) when absent. */
export function loadPcsc(loader?: PcscLoader): Promise<PcscModule> {
  if (loader) return importPcsc(loader);
  cached ??= importPcsc(defaultLoader);
  return cached;
}

async function importPcsc(loader: PcscLoader): Promise<PcscModule> {
  let mod: unknown;
  try {
    mod = await loader();
  } catch (e) {
    const why = e instanceof Error ? firstLine(e.message) : String(e);
    throw new PcscUnavailableError(`${PCSC_MISSING}; loading it failed: ${why}`, { cause: e });
  }
  // CommonJS seen from ESM: the API is on `default` (named exports may be there too).
  const m = mod as { default?: unknown } & Partial<PcscModule>;
  const api = (typeof m.Context === 'function' ? m : m.default) as Partial<PcscModule> | undefined;
  if (!api || typeof api.Context !== 'function' || typeof api.SCARD_STATE_PRESENT !== 'number') {
    throw new PcscUnavailableError(`${PCSC_MISSING}; the installed 'smartcard' does not look like version 3 (no Context class)`);
  }
  return api as PcscModule;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

// ----------------------------------------------------------------- error mapping --

/**
 * Maps an error of the `smartcard` package (message only, see docs/pcsc.md) to cardsmith's:
 * card gone or not answering → CardRemovedError; service, reader or buffer trouble → ReaderError;
 * a handle already released → TransportClosedError. TypeErrors (programming errors) pass through.
 * `where` names the reader (or "PC/SC"), `action` what was being done ("transmit", "connect").
 */
export function mapPcscError(err: unknown, where: string, action: string): Error {
  if (err instanceof CardRemovedError || err instanceof ReaderError || err instanceof TransportClosedError) return err;
  if (err instanceof TypeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const tail = ` (PC/SC: "${message}")`;
  const opts = { cause: err };
  switch (message) {
    case 'No smart card present':
      return new CardRemovedError(`${where}: no card in the reader; insert one (for the virtual reader: start \`cardsmith sim serve\`) and retry${tail}`, opts);
    case 'Card was removed':
      return new CardRemovedError(`${where}: the card was removed (${action}); put it back and start its session again${tail}`, opts);
    case 'Transaction failed':
      return new CardRemovedError(
        `${where}: ${action} failed: the card stopped answering (removed, or the command was longer than the reader accepts)${tail}`,
        opts,
      );
    case 'Card is unpowered':
    case 'Card is unresponsive':
    case 'Card is not supported':
      return new CardRemovedError(`${where}: the card does not answer (${action}); reinsert or replace it${tail}`, opts);
    case 'Card was reset':
      return new CardRemovedError(`${where}: another program reset the card (${action}); its session state is gone, start again${tail}`, opts);
    case 'PC/SC service not running':
    case 'PC/SC service stopped':
      return new ReaderError(`${where}: the PC/SC service is not running; start pcscd (on a test machine: scripts/pcsc-stack.sh start)${tail}`, opts);
    case 'Communication error':
      return new ReaderError(`${where}: lost the connection to the PC/SC service (${action}; pcscd stopped?); restart pcscd and retry${tail}`, opts);
    case 'Insufficient buffer':
      return new ReaderError(`${where}: the response is longer than the receive buffer (${action})${tail}`, opts);
    case 'Sharing violation':
      return new ReaderError(`${where}: another program holds the card exclusively; close it and retry${tail}`, opts);
    case 'Reader unavailable':
    case 'Unknown reader':
    case 'No readers available':
    case 'Reader not ready':
      return new ReaderError(`${where}: the reader is not available (unplugged, or its driver stopped); check it and retry${tail}`, opts);
    case 'Protocol mismatch':
      return new ReaderError(`${where}: the card does not speak the requested protocol (${action}); try protocol any${tail}`, opts);
    case 'Operation timed out':
      return new ReaderError(`${where}: ${action} timed out in the PC/SC service${tail}`, opts);
    case 'Card is not connected':
    case 'Context is not valid':
    case 'Invalid handle':
      return new TransportClosedError(`${where}: the connection to the card is closed (${action}); open the reader again${tail}`, opts);
    default:
      return new ReaderError(`${where}: ${action} failed${tail}`, opts);
  }
}

// ------------------------------------------------------------------------ readers --

export interface ReaderInfo {
  name: string;
  /** A card is in the reader and answered with an ATR. */
  cardPresent: boolean;
  atr?: Uint8Array;
  /** Raw SCARD_STATE_* word (upper 16 bits: event counter). */
  state: number;
}

export interface PcscBaseOptions {
  /** Loads the `smartcard` package (default: the installed one). */
  load?: PcscLoader;
}

function newContext(api: PcscModule): PcscContext {
  try {
    return new api.Context();
  } catch (e) {
    throw mapPcscError(e, 'PC/SC', 'establishing a context');
  }
}

function closeQuietly(ctx: PcscContext): void {
  try {
    ctx.close();
  } catch {
    /* already closed */
  }
}

function readerNames(ctx: PcscContext): string[] {
  try {
    return ctx.listReaders().map((r) => r.name);
  } catch (e) {
    throw mapPcscError(e, 'PC/SC', 'listing readers');
  }
}

function info(api: PcscModule, s: PcscReaderState): ReaderInfo {
  const present = (s.state & api.SCARD_STATE_PRESENT) !== 0 && (s.state & api.SCARD_STATE_MUTE) === 0;
  const out: ReaderInfo = { name: s.name, cardPresent: present, state: s.state };
  if (present && s.atr && s.atr.length > 0) out.atr = Uint8Array.from(s.atr);
  return out;
}

/** Current states of every reader; [] when the service runs but no reader is attached. */
export async function listReaders(options: PcscBaseOptions = {}): Promise<ReaderInfo[]> {
  const api = await loadPcsc(options.load);
  const ctx = newContext(api);
  try {
    const names = readerNames(ctx);
    if (names.length === 0) return [];
    const states = await statusOf(ctx, names);
    return names.map((name) => info(api, states.get(name) ?? { name, state: 0 }));
  } finally {
    closeQuietly(ctx);
  }
}

async function statusOf(ctx: PcscContext, names: string[]): Promise<Map<string, PcscReaderState>> {
  let states: PcscReaderState[] | null;
  try {
    // State "unaware" returns at once with the current state of every reader named.
    states = await ctx.waitForChange(
      names.map((name) => ({ name, state: 0 })),
      0,
    );
  } catch (e) {
    throw mapPcscError(e, 'PC/SC', 'reading reader states');
  }
  return new Map((states ?? []).map((s) => [s.name, s]));
}

/**
 * The reader `spec` names: an exact reader name, else the one reader whose name contains `spec`
 * (ignoring case). ReaderSpecError when none or several match; ReaderError when there is no reader.
 */
export function resolveReaderName(spec: string, names: readonly string[]): string {
  if (names.includes(spec)) return spec;
  if (names.length === 0) {
    throw new ReaderError(`no PC/SC reader is attached (wanted "${spec}"); plug one in, or start pcscd with the virtual reader (scripts/pcsc-stack.sh start)`);
  }
  const needle = spec.toLowerCase();
  const matches = names.filter((n) => n.toLowerCase().includes(needle));
  if (matches.length === 1) return matches[0]!;
  const list = names.map((n) => `"${n}"`).join(', ');
  if (matches.length === 0) throw new ReaderSpecError(`no PC/SC reader matches "${spec}"; readers: ${list} (cardsmith readers lists them)`);
  throw new ReaderSpecError(`"${spec}" matches ${matches.length} readers (${matches.map((n) => `"${n}"`).join(', ')}); give more of the name`);
}

export type ReaderWant = 'present' | 'empty';

export interface WaitOptions extends PcscBaseOptions {
  /** Most time to wait, in milliseconds (required: every wait is bounded). */
  timeoutMs: number;
}

/**
 * Waits until the reader `spec` shows a card (`present`) or none (`empty`); returns its state.
 * CardRemovedError when no card came in time, ReaderError when the reader stayed occupied.
 */
export async function waitForReader(spec: string, want: ReaderWant, options: WaitOptions): Promise<ReaderInfo> {
  const api = await loadPcsc(options.load);
  const ctx = newContext(api);
  try {
    const name = resolveReaderName(spec, readerNames(ctx));
    return await waitOn(api, ctx, name, want, options.timeoutMs);
  } finally {
    closeQuietly(ctx);
  }
}

async function waitOn(api: PcscModule, ctx: PcscContext, name: string, want: ReaderWant, timeoutMs: number): Promise<ReaderInfo> {
  const deadline = Date.now() + Math.max(0, timeoutMs);
  let known = 0;
  for (;;) {
    const left = deadline - Date.now();
    let changes: PcscReaderState[] | null;
    try {
      // Short slices keep the wait bounded even if the service never reports a change.
      changes = await ctx.waitForChange([{ name, state: known }], known === 0 ? 0 : Math.max(0, Math.min(left, 1000)));
    } catch (e) {
      throw mapPcscError(e, name, `waiting for the reader to be ${want}`);
    }
    if (changes === null) throw new ReaderError(`${name}: the wait for a ${want === 'present' ? 'card' : 'card removal'} was cancelled`);
    const s = changes.find((c) => c.name === name);
    if (s) {
      if ((s.state & (api.SCARD_STATE_UNKNOWN | api.SCARD_STATE_UNAVAILABLE)) !== 0) {
        throw new ReaderError(`${name}: the reader disappeared or is unavailable while waiting; check it and retry`);
      }
      known = s.state & ~api.SCARD_STATE_CHANGED;
      const r = info(api, { ...s, name });
      if (want === 'present' ? r.cardPresent : (s.state & api.SCARD_STATE_EMPTY) !== 0) return r;
    }
    if (Date.now() >= deadline) {
      if (want === 'present') {
        throw new CardRemovedError(`${name}: no card after ${timeoutMs} ms; insert one (for the virtual reader: start \`cardsmith sim serve\`) or wait longer`);
      }
      throw new ReaderError(`${name}: the card was still in the reader after ${timeoutMs} ms`);
    }
  }
}

// ----------------------------------------------------------------------- transport --

export type PcscProtocol = 'any' | 't0' | 't1';

export interface PcscOptions extends PcscBaseOptions, T0Options {
  /** Wait up to this long for a card when the reader is empty (default 0: fail at once). */
  waitMs?: number;
  /** Shared (default) lets other programs use the card between our commands. */
  share?: 'shared' | 'exclusive';
  protocol?: PcscProtocol;
  /** Receive buffer per transmit (default 65 538: an extended response of 65 536 bytes + SW). */
  maxRecvLength?: number;
  /** Most time one transmit may take before it fails with ReaderError (default 30 000 ms). */
  transmitTimeoutMs?: number;
}

export const DEFAULT_MAX_RECV_LENGTH = 65538;

export class PcscTransport implements Transport {
  readonly name: string;
  #api: PcscModule;
  #ctx: PcscContext;
  #card: PcscCard;
  #atr: Uint8Array;
  #options: PcscOptions;
  #closed = false;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(api: PcscModule, ctx: PcscContext, name: string, card: PcscCard, atr: Uint8Array, options: PcscOptions) {
    this.#api = api;
    this.#ctx = ctx;
    this.name = name;
    this.#card = card;
    this.#atr = atr;
    this.#options = options;
  }

  /** Connects to the card in the reader `spec` names (exact name or unique substring). */
  static async open(spec: string, options: PcscOptions = {}): Promise<PcscTransport> {
    const api = await loadPcsc(options.load);
    const ctx = newContext(api);
    try {
      const name = resolveReaderName(spec, readerNames(ctx));
      if ((options.waitMs ?? 0) > 0) await waitOn(api, ctx, name, 'present', options.waitMs!);
      const reader = ctx.listReaders().find((r) => r.name === name);
      if (!reader) throw new ReaderError(`${name}: the reader went away while connecting; check it and retry`);
      let card: PcscCard;
      try {
        card = await reader.connect(options.share === 'exclusive' ? api.SCARD_SHARE_EXCLUSIVE : api.SCARD_SHARE_SHARED, protocolBits(api, options.protocol));
      } catch (e) {
        throw mapPcscError(e, name, 'connect');
      }
      const atr = card.atr ?? statusAtr(card, name);
      return new PcscTransport(api, ctx, name, card, Uint8Array.from(atr), options);
    } catch (e) {
      closeQuietly(ctx);
      throw e;
    }
  }

  /** The protocol PC/SC negotiated: 't0' or 't1'. */
  get protocol(): 't0' | 't1' | 'other' {
    const p = this.#card.protocol;
    return p === this.#api.SCARD_PROTOCOL_T0 ? 't0' : p === this.#api.SCARD_PROTOCOL_T1 ? 't1' : 'other';
  }

  atr(): Uint8Array {
    this.#check();
    return Uint8Array.from(this.#atr);
  }

  transmit(command: Uint8Array): Promise<Uint8Array> {
    return this.#serial(async () => {
      this.#check();
      abytes(command, `${this.name}: transmit: command`);
      return transmitResolvingT0((c) => this.#raw(c), Uint8Array.from(command), this.#options);
    });
  }

  reset(cold = false): Promise<Uint8Array> {
    return this.#serial(async () => {
      this.#check();
      const api = this.#api;
      try {
        await this.#card.reconnect(
          this.#options.share === 'exclusive' ? api.SCARD_SHARE_EXCLUSIVE : api.SCARD_SHARE_SHARED,
          protocolBits(api, this.#options.protocol),
          cold ? api.SCARD_UNPOWER_CARD : api.SCARD_RESET_CARD,
        );
      } catch (e) {
        throw mapPcscError(e, this.name, cold ? 'cold reset' : 'warm reset');
      }
      this.#atr = Uint8Array.from(statusAtr(this.#card, this.name));
      return Uint8Array.from(this.#atr);
    });
  }

  close(): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed) return;
      this.#closed = true;
      try {
        this.#card.disconnect(this.#api.SCARD_LEAVE_CARD);
      } catch {
        /* the card may already be gone; the context still gets closed */
      }
      closeQuietly(this.#ctx);
    });
  }

  async #raw(command: Uint8Array): Promise<Uint8Array> {
    const maxRecvLength = this.#options.maxRecvLength ?? DEFAULT_MAX_RECV_LENGTH;
    const timeoutMs = this.#options.transmitTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const sent = (async () => this.#card.transmit(Buffer.from(command.buffer, command.byteOffset, command.length), { maxRecvLength }))();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ReaderError(`${this.name}: the card did not answer within ${timeoutMs} ms`)), timeoutMs);
      });
      const response = await Promise.race([sent, timeout]);
      return new Uint8Array(response);
    } catch (e) {
      throw mapPcscError(e, this.name, 'transmit');
    } finally {
      clearTimeout(timer);
    }
  }

  #check(): void {
    if (this.#closed) throw new TransportClosedError(`${this.name}: the transport is closed; open the reader again`);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}

function protocolBits(api: PcscModule, p: PcscProtocol | undefined): number {
  if (p === 't0') return api.SCARD_PROTOCOL_T0;
  if (p === 't1') return api.SCARD_PROTOCOL_T1;
  return api.SCARD_PROTOCOL_T0 | api.SCARD_PROTOCOL_T1;
}

function statusAtr(card: PcscCard, name: string): Uint8Array {
  try {
    return card.getStatus().atr;
  } catch (e) {
    throw mapPcscError(e, name, 'reading the ATR');
  }
}
