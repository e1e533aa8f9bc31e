// Connects a SimulatedCard to vsmartcard's vpcd (the pcscd driver of the "Virtual PCD" readers),
// so every PC/SC program sees the simulated card in a reader. Protocol (vsmartcard vpcd,
// docs/pcsc.md): the card is a TCP client; each message either way is a 2-byte big-endian length
// + payload; a 1-byte payload from vpcd is control (00 power off, 01 power on, 02 reset, 04 "send
// ATR", which alone is answered), a longer one a command APDU answered with the response APDU.
//
// Rules this bridge keeps:
// - TCP_NODELAY and one write() per frame (vpcd's side writes length and payload apart; see the
//   shim in docs/pcsc.md).
// - vpcd not there yet, or gone (pcscd stopped): reconnect with exponential backoff, forever,
//   until stop(); a successful connection resets the backoff.
// - A malformed frame closes that connection with a log event, and the bridge reconnects and keeps
//   serving. Malformed: length 0; a payload of 2 or 3 bytes (pcscd never forwards an APDU shorter
//   than the 4-byte header, and control messages are 1 byte); an unknown control byte; a frame
//   whose declared length does not arrive within `frameTimeoutMs`.
// - Both interfaces of one card can be served at once (one bridge per vpcd port): the interface
//   that powered the card last owns its session; a command on the other interface powers the
//   card on that interface first, as a dual-interface chip starts over when its field changes.
// This file lives in transport/ (host side); simulator/ never imports it.
import net from 'node:net';
import type { CardInterface } from './transport.js';
import type { SimulatedCard } from './simulated-card.js';

export const VPCD_DEFAULT_HOST = '127.0.0.1';
/** vpcd's port of reader "Virtual PCD 00 00" (served as the contact interface by default). */
export const VPCD_CONTACT_PORT = 35963;
/** vpcd's port of reader "Virtual PCD 00 01" (served as the contactless interface by default). */
export const VPCD_CONTACTLESS_PORT = 35964;
/** The length field is 16 bits: no frame payload can be longer. */
export const VPCD_MAX_PAYLOAD = 0xffff;

const CTRL_POWER_OFF = 0x00;
const CTRL_POWER_ON = 0x01;
const CTRL_RESET = 0x02;
const CTRL_ATR = 0x04;
const SW_WRONG_LENGTH = Uint8Array.of(0x67, 0x00);
const SW_NO_DIAGNOSIS = Uint8Array.of(0x6f, 0x00);

// ---------------------------------------------------------------- the shared card --

/**
 * One simulated card reachable on several interfaces at once. Tracks which interface powered it
 * last (that one owns the session) and keeps each interface's ATR for vpcd's ATR polls, which
 * must not disturb the session.
 */
export class MultiInterfaceCard {
  readonly card: SimulatedCard;
  #owner: CardInterface | undefined;
  #atrs = new Map<CardInterface, Uint8Array>();

  /** `interfaces`: the ones that will be served; their ATRs are read now, before any session. */
  constructor(card: SimulatedCard, interfaces: readonly CardInterface[]) {
    this.card = card;
    for (const iface of interfaces) {
      this.#atrs.set(iface, Uint8Array.from(card.powerOn(iface)));
      card.powerOff();
    }
  }

  /** The interface whose session is live, if the card is powered. */
  get owner(): CardInterface | undefined {
    return this.#owner;
  }

  atr(iface: CardInterface): Uint8Array {
    let atr = this.#atrs.get(iface);
    if (!atr) {
      // Not announced at construction: read it now (only safe while nobody holds a session).
      if (this.#owner !== undefined) return this.powerOn(iface);
      atr = Uint8Array.from(this.card.powerOn(iface));
      this.card.powerOff();
      this.#atrs.set(iface, atr);
    }
    return atr;
  }

  powerOn(iface: CardInterface): Uint8Array {
    const atr = Uint8Array.from(this.card.powerOn(iface));
    this.#atrs.set(iface, atr);
    this.#owner = iface;
    return atr;
  }

  /** Powers the card off if `iface` holds the session; another interface's session is left alone. */
  powerOff(iface: CardInterface): boolean {
    if (this.#owner !== iface) return false;
    this.card.powerOff();
    this.#owner = undefined;
    return true;
  }

  /** Processes a command on `iface`, powering the card on there first if needed; `switched` when another interface held it. */
  process(iface: CardInterface, command: Uint8Array): { response: Uint8Array; switched: boolean } {
    let switched = false;
    if (this.#owner !== iface) {
      // Powered off (vpcd sent 00, or never 01): power up here. Owned by the other interface: switch.
      switched = this.#owner !== undefined;
      this.powerOn(iface);
    }
    return { response: this.card.process(command), switched };
  }
}

// --------------------------------------------------------------------- events --

interface Where {
  interface: CardInterface;
  host: string;
  port: number;
}

export type BridgeEvent =
  | ({ type: 'connected' } & Where)
  /** vpcd did not accept the connection; `attempt` counts failures since the last success. */
  | ({ type: 'unreachable'; error: string; attempt: number; retryMs: number } & Where)
  | ({ type: 'disconnected'; reason: string; retryMs: number } & Where)
  | ({ type: 'power-on'; atr: Uint8Array } & Where)
  | ({ type: 'reset'; atr: Uint8Array } & Where)
  | ({ type: 'power-off' } & Where)
  | ({ type: 'apdu'; command: Uint8Array; response: Uint8Array; micros: number; switched: boolean } & Where)
  | ({ type: 'malformed'; reason: string } & Where)
  | ({ type: 'warning'; message: string } & Where);

export interface VpcdBridgeOptions {
  /** The card; a MultiInterfaceCard when several bridges share one card. */
  card: SimulatedCard | MultiInterfaceCard;
  interface?: CardInterface;
  host?: string;
  /** Default: 35963 for contact, 35964 for contactless. */
  port?: number;
  /** First reconnect delay (default 100 ms); doubles per failed attempt up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Most time a started frame may take to arrive completely (default 5000 ms). */
  frameTimeoutMs?: number;
  /** Most time a TCP connect may take (default 5000 ms). */
  connectTimeoutMs?: number;
  onEvent?: (event: BridgeEvent) => void;
}

export interface BridgeStats {
  apdus: number;
  connections: number;
  malformed: number;
}

// --------------------------------------------------------------------- bridge --

export class VpcdBridge {
  readonly interface: CardInterface;
  readonly host: string;
  readonly port: number;
  readonly stats: BridgeStats = { apdus: 0, connections: 0, malformed: 0 };
  #card: MultiInterfaceCard;
  #opts: VpcdBridgeOptions;
  #socket: net.Socket | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #frameTimer: NodeJS.Timeout | undefined;
  #running = false;
  #failures = 0;
  #closed: Promise<void> = Promise.resolve();

  constructor(options: VpcdBridgeOptions) {
    this.#opts = options;
    this.interface = options.interface ?? 'contact';
    this.host = options.host ?? VPCD_DEFAULT_HOST;
    this.port = options.port ?? (this.interface === 'contact' ? VPCD_CONTACT_PORT : VPCD_CONTACTLESS_PORT);
    this.#card = options.card instanceof MultiInterfaceCard ? options.card : new MultiInterfaceCard(options.card, [this.interface]);
  }

  get connected(): boolean {
    return this.#socket !== undefined && !this.#socket.connecting && !this.#socket.destroyed;
  }

  /** Starts connecting (and reconnecting) to vpcd; returns at once. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#connect();
  }

  /** Disconnects (the reader then shows no card) and stops reconnecting. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#frameTimer);
    const socket = this.#socket;
    if (socket && !socket.destroyed) socket.destroy();
    await this.#closed;
    this.#card.powerOff(this.interface);
  }

  #where(): Where {
    return { interface: this.interface, host: this.host, port: this.port };
  }

  #emit(event: BridgeEvent): void {
    try {
      this.#opts.onEvent?.(event);
    } catch {
      /* a failing logger must not stop the card */
    }
  }

  #nextDelay(): number {
    const first = this.#opts.retryMs ?? 100;
    const max = this.#opts.maxRetryMs ?? 2000;
    return Math.min(max, first * 2 ** Math.max(0, this.#failures - 1));
  }

  #schedule(delay: number): void {
    if (!this.#running) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #connect(): void {
    if (!this.#running) return;
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    this.#socket = socket;
    let established = false;
    let closeReason = 'vpcd closed the connection';
    let error: string | undefined;
    let resolveClosed!: () => void;
    this.#closed = new Promise((r) => (resolveClosed = r));
    socket.setTimeout(this.#opts.connectTimeoutMs ?? 5000, () => {
      if (!established) {
        error = `no answer within ${this.#opts.connectTimeoutMs ?? 5000} ms`;
        socket.destroy();
      }
    });

    let buffer: Buffer = Buffer.alloc(0);
    const fail = (reason: string): void => {
      this.stats.malformed++;
      this.#emit({ type: 'malformed', reason, ...this.#where() });
      closeReason = `closed after a malformed frame (${reason})`;
      socket.destroy();
    };

    socket.on('connect', () => {
      established = true;
      socket.setTimeout(0);
      this.#failures = 0;
      this.stats.connections++;
      this.#emit({ type: 'connected', ...this.#where() });
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      while (!socket.destroyed && buffer.length >= 2) {
        const length = buffer.readUInt16BE(0);
        if (length === 0) return fail('frame of length 0');
        if (buffer.length < 2 + length) break;
        const payload = new Uint8Array(buffer.subarray(2, 2 + length));
        buffer = buffer.subarray(2 + length);
        const problem = this.#handle(socket, payload);
        if (problem) return fail(problem);
      }
      clearTimeout(this.#frameTimer);
      if (buffer.length > 0 && !socket.destroyed) {
        const have = buffer.length;
        const want = have >= 2 ? buffer.readUInt16BE(0) + 2 : undefined;
        this.#frameTimer = setTimeout(() => {
          fail(`incomplete frame: ${want === undefined ? 'length field' : `${want - 2}-byte payload`} not complete after ${this.#opts.frameTimeoutMs ?? 5000} ms (${have} byte(s) received)`);
        }, this.#opts.frameTimeoutMs ?? 5000);
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    socket.on('close', () => {
      clearTimeout(this.#frameTimer);
      if (this.#socket === socket) this.#socket = undefined;
      // The socket gone is the card gone: end its session on this interface.
      if (this.#card.powerOff(this.interface)) this.#emit({ type: 'power-off', ...this.#where() });
      resolveClosed();
      if (!this.#running) return;
      if (established) {
        this.#failures = 0;
        const retryMs = this.#nextDelay();
        this.#emit({ type: 'disconnected', reason: error ? `${closeReason} (${error})` : closeReason, retryMs, ...this.#where() });
        this.#schedule(retryMs);
      } else {
        this.#failures++;
        const retryMs = this.#nextDelay();
        this.#emit({ type: 'unreachable', error: error ?? 'connection closed', attempt: this.#failures, retryMs, ...this.#where() });
        this.#schedule(retryMs);
      }
    });
  }

  /** Handles one complete frame; returns why it is malformed, or undefined. */
  #handle(socket: net.Socket, payload: Uint8Array): string | undefined {
    if (payload.length === 1) {
      switch (payload[0]) {
        case CTRL_POWER_OFF:
          if (this.#card.powerOff(this.interface)) this.#emit({ type: 'power-off', ...this.#where() });
          return undefined;
        case CTRL_POWER_ON:
          this.#emit({ type: 'power-on', atr: this.#card.powerOn(this.interface), ...this.#where() });
          return undefined;
        case CTRL_RESET:
          this.#emit({ type: 'reset', atr: this.#card.powerOn(this.interface), ...this.#where() });
          return undefined;
        case CTRL_ATR:
          socket.write(frame(this.#card.atr(this.interface)));
          return undefined;
        default:
          return `unknown control byte ${hex2(payload[0]!)} (expected 00, 01, 02 or 04)`;
      }
    }
    if (payload.length < 4) return `${payload.length}-byte payload: neither a control byte nor a command APDU (4 bytes at least)`;
    const t0 = process.hrtime.bigint();
    let response: Uint8Array;
    let switched = false;
    try {
      ({ response, switched } = this.#card.process(this.interface, payload));
    } catch (e) {
      // SimulatedCard.process must not throw; if it does, the reader still gets a status word.
      this.#emit({ type: 'warning', message: `the card threw on a command (${e instanceof Error ? e.message : String(e)}); answered 6F00`, ...this.#where() });
      response = SW_NO_DIAGNOSIS;
    }
    if (response.length === 0) {
      // A mute card (no power after an injected power loss): an empty frame makes the reader report
      // a failed transaction, as a card that stops answering would.
      this.#emit({ type: 'warning', message: 'the card answered nothing (no power?); sent an empty frame', ...this.#where() });
    }
    if (response.length > VPCD_MAX_PAYLOAD) {
      this.#emit({ type: 'warning', message: `a ${response.length}-byte response does not fit a vpcd frame (max ${VPCD_MAX_PAYLOAD}); answered 6700`, ...this.#where() });
      response = SW_WRONG_LENGTH;
    }
    socket.write(frame(response));
    this.stats.apdus++;
    const micros = Number(process.hrtime.bigint() - t0) / 1000;
    this.#emit({ type: 'apdu', command: payload, response, micros, switched, ...this.#where() });
    return undefined;
  }
}

/** Length-prefixed frame, built in one buffer so that it goes out in one write. */
export function frame(payload: Uint8Array): Buffer {
  if (payload.length > VPCD_MAX_PAYLOAD) throw new RangeError(`vpcd: payload of ${payload.length} bytes exceeds ${VPCD_MAX_PAYLOAD}`);
  const out = Buffer.allocUnsafe(2 + payload.length);
  out.writeUInt16BE(payload.length, 0);
  out.set(payload, 2);
  return out;
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}
