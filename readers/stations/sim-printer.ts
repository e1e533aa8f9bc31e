// A simulated card printer with an encoder: the `simulated` mover's machine, in process, and as a
// TCP server that speaks the same Evolis escape commands (so the `evolis` driver is tested
// against it). It feeds simulated social-security cards (createSsCard, one seed per card derived
// from the printer's seed), keeps every printed face, and injects faults on chosen cards:
//
//   jam              the feed of that card fails: "CARD JAM", the printer stays in error until Srs
//   dead-chip        the card gives no ATR: the encoder's connect fails (CardUnresponsiveError)
//   removed          the card leaves the encoder after `afterApdus` commands (CardRemovedError)
//   encoder-timeout  the encoder stops answering after `afterApdus` commands (EncoderTimeoutError)
//   feeder empty     after `cards` cards (the feeder's stack) every feed answers "FEEDER EMPTY"
//
// A fault applies to card number `card` (1 = first fed), to every `every`-th card, or with a
// `probability` drawn from the seed (deterministic). Latencies are real waits (setTimeout) and
// default to 0. Answers end in CR (cardsmith's choice: the public sources do not say whether
// printers terminate answers; the driver takes CR, LF or a quiet gap).
import { createServer, type Server, type Socket } from 'node:net';
import { createSsCard, SsCard, type SimulatedCard } from '../../simulator/index.js';
import { SimulatorTransport } from '../simulator.js';
import { CardRemovedError, type Transport, TransportClosedError } from '../transport.js';
import { CardUnresponsiveError, EncoderTimeoutError } from './errors.js';
import { CR, downloadSize, FrameParser, type EvolisFrame } from './evolis-protocol.js';
import { encodePng } from './png.js';
import { panelToRaster } from './faces.js';
import { chipSerialFromAtr, type CardInterface, type Encoder } from './mover.js';

export const FAULT_KINDS = ['jam', 'dead-chip', 'removed', 'encoder-timeout'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  kind: FaultKind;
  /** The n-th card fed (1-based). */
  card?: number;
  /** Every n-th card. */
  every?: number;
  /** Each card with this probability (0..1), drawn from the printer's seed. */
  probability?: number;
  /** removed / encoder-timeout: commands the card answers first (default 3 / 0). */
  afterApdus?: number;
}

export interface PrinterLatency {
  feedMs?: number;
  moveMs?: number;
  printMs?: number;
  ejectMs?: number;
  /** Added to every command APDU. */
  apduMs?: number;
  /** How long the encoder "waits" before an encoder-timeout fault fails (default 0). */
  encoderTimeoutMs?: number;
}

export interface SimulatedPrinterOptions {
  name?: string;
  /** Seed of the cards (card n gets seed "printer-<seed>-card-<n>") and of probability faults. */
  seed?: number;
  /** Blank cards in the feeder (default unlimited). */
  cards?: number;
  latency?: PrinterLatency;
  faults?: FaultSpec[];
  /** Makes card n (default: a blank social-security card). */
  cardFactory?: (index: number, seed: number) => SimulatedCard;
}

export interface FedCard {
  /** 1-based feed number. */
  index: number;
  card: SimulatedCard;
  /** From the card's ATR, when it carries one (simulated social-security cards do). */
  chipSerial: string | undefined;
  faults: FaultKind[];
  /** APDUs the card has processed through the encoder. */
  apdus: number;
}

export interface PrintedFace {
  card: number;
  chipSerial: string | undefined;
  png: Uint8Array;
  /** 'png' from the in-process mover, 'k-panel' from an escape-command download. */
  from: 'png' | 'k-panel';
}

type Position = 'none' | 'entry' | 'contact' | 'contactless';

const sleep = (ms: number | undefined) => (ms && ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

/** Deterministic uniform [0, 1) from (seed, card, fault number). */
function draw(seed: number, card: number, salt: number): number {
  let h = (seed ^ Math.imul(card, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return (h >>> 0) / 0x100000000;
}

export function checkFaults(faults: readonly FaultSpec[]): void {
  faults.forEach((f, i) => {
    const where = `simulated printer: faults[${i}]`;
    if (!(FAULT_KINDS as readonly string[]).includes(f.kind)) throw new RangeError(`${where}: kind must be one of ${FAULT_KINDS.join(', ')}`);
    const given = [f.card, f.every, f.probability].filter((x) => x !== undefined).length;
    if (given !== 1) throw new RangeError(`${where}: give exactly one of card, every, probability`);
    if (f.card !== undefined && (!Number.isInteger(f.card) || f.card < 1)) throw new RangeError(`${where}: card must be an integer ≥ 1`);
    if (f.every !== undefined && (!Number.isInteger(f.every) || f.every < 1)) throw new RangeError(`${where}: every must be an integer ≥ 1`);
    if (f.probability !== undefined && !(f.probability >= 0 && f.probability <= 1)) throw new RangeError(`${where}: probability must be 0..1`);
    if (f.afterApdus !== undefined && (!Number.isInteger(f.afterApdus) || f.afterApdus < 0)) throw new RangeError(`${where}: afterApdus must be an integer ≥ 0`);
  });
}

export class SimulatedPrinter {
  readonly name: string;
  readonly seed: number;
  /** Faces printed, in order. */
  readonly faces: PrintedFace[] = [];
  /** Cards ejected as good (output hopper), with their simulated cards (to re-read them). */
  readonly output: FedCard[] = [];
  readonly rejectBox: FedCard[] = [];
  /** Cards lost in a jam, or pulled out of the encoder. */
  readonly lost: FedCard[] = [];
  /** Escape commands executed, as text (Db data left out), for tests and the report. */
  readonly log: string[] = [];
  #left: number;
  #fed = 0;
  #error: string | null = null;
  #position: Position = 'none';
  #current: FedCard | undefined;
  #sequence = false;
  #panel: Uint8Array | undefined;
  #png: Uint8Array | undefined;
  #latency: PrinterLatency;
  #faults: FaultSpec[];
  #factory: (index: number, seed: number) => SimulatedCard;
  #encoder: Encoder | undefined;

  constructor(options: SimulatedPrinterOptions = {}) {
    this.name = options.name ?? 'sim-printer';
    this.seed = options.seed ?? 0;
    if (!Number.isInteger(this.seed) || this.seed < 0) throw new RangeError('simulated printer: seed must be a non-negative integer');
    this.#left = options.cards ?? Number.POSITIVE_INFINITY;
    if (!(this.#left >= 0)) throw new RangeError('simulated printer: cards must be ≥ 0');
    this.#latency = { ...options.latency };
    this.#faults = [...(options.faults ?? [])];
    checkFaults(this.#faults);
    this.#factory = options.cardFactory ?? ((index, seed) => createSsCard({ seed: `printer-${seed}-card-${index}` }));
  }

  /** Cards fed so far (including jammed ones). */
  get fed(): number {
    return this.#fed;
  }
  get cardsLeft(): number {
    return this.#left;
  }
  /** The printer's error state ("CARD JAM"), or null when ready. */
  get error(): string | null {
    return this.#error;
  }
  get position(): Position {
    return this.#position;
  }
  /** The card at the encoder position (or at the entry), if any. */
  get current(): FedCard | undefined {
    return this.#current;
  }

  /** The operator puts `n` more blank cards into the feeder. */
  loadFeeder(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError('simulated printer: loadFeeder takes a count ≥ 0');
    this.#left += n;
  }

  /** Adds a fault for cards still to come. */
  inject(fault: FaultSpec): void {
    checkFaults([fault]);
    this.#faults.push(fault);
  }

  /** Executes one escape command; returns the answer text (without CR). */
  async execute(frame: EvolisFrame): Promise<string> {
    this.log.push([frame.command, ...frame.params].join(';') + (frame.data ? ';<data>' : ''));
    const p = frame.params;
    switch (frame.command) {
      case 'Pem':
        return ['0', '1', '2'].includes(p[0] ?? '') ? 'OK' : 'ERROR PARAMETRES';
      case 'Pr':
        return /^[ymckoKO]+$/.test(p[0] ?? '') ? 'OK' : 'ERROR PARAMETRES';
      case 'Ss':
        if (this.#error) return this.#error;
        this.#sequence = true;
        this.#panel = undefined;
        this.#png = undefined;
        return 'OK';
      case 'Si':
        return this.#move('entry');
      case 'Sis':
        return this.#move('contact');
      case 'Sic':
        return this.#move('contactless');
      case 'Db': {
        const [panel, levels] = p;
        const size = downloadSize(levels ?? '');
        if (!panel || !/^[ymcko]$/.test(panel) || size === undefined || !frame.data || frame.data.length !== size) return 'ERROR PARAMETRES';
        if (panel === 'k' && levels === '2') this.#panel = frame.data;
        return 'OK';
      }
      case 'Se':
        return this.#endSequence();
      case 'Ser':
        return this.#reject();
      case 'Srs':
        this.#error = null;
        this.#sequence = false;
        return 'OK';
      case 'Rse':
        return `CARD=${this.#position.toUpperCase()};FEEDER=${this.#left > 0 ? 'OK' : 'EMPTY'};STATE=${this.#error ?? 'READY'}`;
      case 'Sk':
        return p[0] === 'f' ? (this.#left > 0 ? '0' : '3') : p[0] === 's' ? 'OK' : 'ERROR PARAMETRES';
      default:
        return 'ERROR CDE';
    }
  }

  /** The in-process mover's print: keeps the PNG as the face of the card being made. */
  setFace(png: Uint8Array): void {
    this.#png = new Uint8Array(png);
  }

  /** The encoder under the contact / contactless station: a Transport to the card in position. */
  encoder(): Encoder {
    this.#encoder ??= {
      name: `${this.name}:encoder`,
      connect: (iface) => this.#connect(iface),
      close: async () => {},
    };
    return this.#encoder;
  }

  async #feed(): Promise<string | undefined> {
    if (this.#left <= 0) return 'FEEDER EMPTY';
    await sleep(this.#latency.feedMs);
    this.#left--;
    const index = ++this.#fed;
    const faults = this.#faults.flatMap((f, i) => {
      const hit = f.card !== undefined ? f.card === index : f.every !== undefined ? index % f.every === 0 : draw(this.seed, index, i) < (f.probability ?? 0);
      return hit ? [f.kind] : [];
    });
    const card = this.#factory(index, this.seed);
    const fedCard: FedCard = { index, card, chipSerial: card instanceof SsCard ? chipSerialFromAtr(card.atr) : undefined, faults, apdus: 0 };
    if (faults.includes('jam')) {
      this.lost.push(fedCard);
      this.#error = 'CARD JAM';
      return this.#error;
    }
    this.#current = fedCard;
    this.#position = 'entry';
    return undefined;
  }

  async #move(to: Position): Promise<string> {
    if (this.#error) return this.#error;
    if (!this.#current) {
      const err = await this.#feed();
      if (err) return err;
    }
    if (this.#position !== to) await sleep(this.#latency.moveMs);
    this.#position = to;
    return 'OK';
  }

  async #endSequence(): Promise<string> {
    if (this.#error) return this.#error;
    if (!this.#current) {
      // A print-only job (Ss, Db…, Se without a card move) feeds its card here.
      const err = await this.#feed();
      if (err) return err;
    }
    const card = this.#current!;
    const png = this.#png ?? (this.#panel ? encodePng(panelToRaster(this.#panel)) : undefined);
    if (png) {
      await sleep(this.#latency.printMs);
      this.faces.push({ card: card.index, chipSerial: card.chipSerial, png, from: this.#png ? 'png' : 'k-panel' });
    }
    await sleep(this.#latency.ejectMs);
    this.output.push(card);
    this.#clear();
    return 'OK';
  }

  async #reject(): Promise<string> {
    if (this.#error) return this.#error;
    if (this.#current) {
      await sleep(this.#latency.ejectMs);
      this.rejectBox.push(this.#current);
    }
    this.#clear();
    return 'OK';
  }

  #clear(): void {
    this.#current = undefined;
    this.#position = 'none';
    this.#sequence = false;
    this.#panel = undefined;
    this.#png = undefined;
  }

  async #connect(iface: CardInterface): Promise<Transport> {
    const fed = this.#current;
    if (!fed || (this.#position !== 'contact' && this.#position !== 'contactless')) {
      throw new CardRemovedError(`${this.name}: no card at the encoder (card is ${fed ? `at the ${this.#position}` : 'not fed'}); load a card first`);
    }
    if (this.#position !== iface) throw new CardRemovedError(`${this.name}: the card is at the ${this.#position} station, not under the ${iface} encoder`);
    if (fed.faults.includes('dead-chip')) {
      await sleep(this.#latency.apduMs);
      throw new CardUnresponsiveError(`${this.name}: card ${fed.index} gives no answer to reset (dead chip); reject it`);
    }
    const inner = new SimulatorTransport(fed.card, { interface: iface, name: `${this.name}:card-${fed.index}` });
    return new SimulatedEncoderTransport(inner, fed, this.#faults, this.#latency, () => {
      // The card was pulled out of the encoder.
      if (this.#current === fed) {
        this.lost.push(fed);
        this.#clear();
      }
    });
  }
}

/** The encoder's view of a fed card: APDU latency and the removed / encoder-timeout faults. */
class SimulatedEncoderTransport implements Transport {
  readonly name: string;
  #closed = false;

  constructor(
    private readonly inner: SimulatorTransport,
    private readonly fed: FedCard,
    private readonly faults: readonly FaultSpec[],
    private readonly latency: PrinterLatency,
    private readonly onRemoved: () => void,
  ) {
    this.name = inner.name;
  }

  #after(kind: FaultKind, dflt: number): number | undefined {
    if (!this.fed.faults.includes(kind)) return undefined;
    return this.faults.find((f) => f.kind === kind && f.afterApdus !== undefined)?.afterApdus ?? dflt;
  }

  atr(): Uint8Array {
    this.#check();
    return this.inner.atr();
  }

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    this.#check();
    await sleep(this.latency.apduMs);
    const removedAfter = this.#after('removed', 3);
    if (removedAfter !== undefined && this.fed.apdus >= removedAfter) {
      this.onRemoved();
      throw new CardRemovedError(`${this.name}: the card was removed from the encoder (after ${this.fed.apdus} commands)`);
    }
    const timeoutAfter = this.#after('encoder-timeout', 0);
    if (timeoutAfter !== undefined && this.fed.apdus >= timeoutAfter) {
      await sleep(this.latency.encoderTimeoutMs);
      throw new EncoderTimeoutError(`${this.name}: the encoder did not answer in time (after ${this.fed.apdus} commands)`);
    }
    this.fed.apdus++;
    return this.inner.transmit(command);
  }

  reset(cold?: boolean): Promise<Uint8Array> {
    this.#check();
    return this.inner.reset(cold);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.inner.close();
  }

  #check(): void {
    if (this.#closed) throw new TransportClosedError(`${this.name}: the transport is closed`);
  }
}

/** The simulated printer behind a TCP port, speaking Evolis escape commands. */
export class SimulatedPrinterServer {
  /** While true, commands are read but not answered (to test the driver's timeout). */
  mute = false;
  #server: Server;
  #sockets = new Set<Socket>();

  private constructor(
    readonly printer: SimulatedPrinter,
    server: Server,
    readonly uri: string,
  ) {
    this.#server = server;
  }

  static listen(printer: SimulatedPrinter, options: { host?: string; port?: number } = {}): Promise<SimulatedPrinterServer> {
    const host = options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      let self: SimulatedPrinterServer | undefined;
      const server = createServer((socket) => {
        if (self) self.#serve(socket);
        else socket.destroy();
      });
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        const addr = server.address();
        if (addr === null || typeof addr === 'string') {
          reject(new Error('simulated printer: no TCP address'));
          return;
        }
        self = new SimulatedPrinterServer(printer, server, `tcp://${host}:${addr.port}`);
        resolve(self);
      });
    });
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const parser = new FrameParser();
    let chain: Promise<void> = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of parser.push(new Uint8Array(chunk))) {
        chain = chain.then(async () => {
          const reply = await this.printer.execute(frame);
          if (!this.mute && !socket.destroyed) socket.write(Buffer.concat([Buffer.from(reply, 'latin1'), Buffer.of(CR)]));
        });
      }
    });
  }

  /** Drops every connection (as a printer switched off would). */
  dropConnections(): void {
    for (const s of this.#sockets) s.destroy();
  }

  close(): Promise<void> {
    this.dropConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
