// A simulated card printer with an encoder: the `simulated` mover's machine, in process (the TCP
// server in server.ts speaks the same Evolis escape commands). It feeds cards from its card stock
// (one seed per card derived from the printer's seed), keeps every printed face, injects faults on
// chosen cards (faults.ts) and, once told to, keeps its output on disk (output.ts). Answers end
// in CR (cardsmith's choice: the public sources do not say whether printers terminate answers;
// the driver takes CR, LF or a quiet gap).
import { resolve } from 'node:path';
import { toHex } from '../../bytes/index.js';
import { encodePng } from '../../faces/png.js';
import { panelToRaster } from '../../faces/faces.js';
import type { SimulatedCard } from '../../transport/simulated-card.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import { CardRemovedError, type Transport } from '../../transport/transport.js';
import { CardUnresponsiveError } from '../errors.js';
import { downloadSize, type EvolisFrame } from '../evolis-protocol.js';
import { chipSerialFromAtr, type CardInterface, type Encoder } from '../mover.js';
import { checkFaults, faultsFor, sleep, SimulatedEncoderTransport, type FaultSpec, type PrinterLatency } from './faults.js';
import { HOPPER_DIR, PrinterFiles, REJECT_BIN_DIR } from './output.js';
import { requireStock, type CardStock, type FedCard, type Position } from './stock.js';

export interface SimulatedPrinterOptions {
  name?: string;
  /** Seed of the cards (card n gets seed "printer-<seed>-card-<n>") and of probability faults. */
  seed?: number;
  /** The blank cards it feeds (the simulator's ssCardStock); required. */
  stock?: CardStock;
  /** Blank cards in the feeder (default unlimited). */
  cards?: number;
  latency?: PrinterLatency;
  faults?: FaultSpec[];
  /** Keep the output hopper, the reject bin and the printer's state in this folder (keepOutput). */
  outputDir?: string;
}

export interface PrintedFace {
  card: number;
  chipSerial: string | undefined;
  png: Uint8Array;
  /** 'png' from the in-process mover, 'k-panel' from an escape-command download. */
  from: 'png' | 'k-panel';
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
  #stock: CardStock;
  #encoder: Encoder | undefined;
  #files: PrinterFiles | undefined;

  constructor(options: SimulatedPrinterOptions = {}) {
    this.name = options.name ?? 'sim-printer';
    this.seed = options.seed ?? 0;
    if (!Number.isInteger(this.seed) || this.seed < 0) throw new RangeError('simulated printer: seed must be a non-negative integer');
    this.#left = options.cards ?? Number.POSITIVE_INFINITY;
    if (!(this.#left >= 0)) throw new RangeError('simulated printer: cards must be ≥ 0');
    this.#latency = { ...options.latency };
    this.#faults = [...(options.faults ?? [])];
    checkFaults(this.#faults);
    this.#stock = requireStock(options.stock, this.name);
    if (options.outputDir !== undefined) this.keepOutput(options.outputDir);
  }

  /** The folder the printer keeps its output in (keepOutput), if any. */
  get outputDir(): string | undefined {
    return this.#files?.dir;
  }

  /**
   * Keeps the printer's output in `dir` from now on: ejected cards as images in dir/hopper (with
   * their faces), rejected ones in dir/reject-bin, and the printer's own state (cards fed, the
   * feeder, the card in the encoder) in dir/printers/<name>.json. A printer that has not fed a
   * card yet and finds its state file there takes it over (after a crash of the host: the same
   * next card, the card left in the encoder); otherwise it writes its state there. One process
   * per printer name.
   */
  keepOutput(dir: string): void {
    if (this.#files?.dir === resolve(dir)) return;
    const fresh = this.#files === undefined && this.#fed === 0 && !this.#current;
    this.#files = new PrinterFiles(dir, this.name, this.#stock);
    if (fresh && this.#files.hasState()) this.#takeOver(this.#files);
    else {
      if (this.#current) this.#files.fedCard(this.#current);
      this.#persist();
    }
  }

  /** Takes over the printer's files after the host was killed. */
  #takeOver(files: PrinterFiles): void {
    const t = files.load();
    this.#fed = t.fed;
    this.#left = t.left;
    const e = t.encoder;
    if (!e) return;
    if (e.eject) {
      // Killed during an eject: finish it.
      this.#keep(e.eject, e.card);
      (e.eject === HOPPER_DIR ? this.output : this.rejectBox).push(e.card);
      this.#persist();
      return;
    }
    this.#current = e.card;
    this.#position = e.position;
  }

  #persist(): void {
    this.#files?.persist({ seed: this.seed, fed: this.#fed, left: this.#left, current: this.#current, position: this.#position });
  }

  #keep(bin: typeof HOPPER_DIR | typeof REJECT_BIN_DIR, fed: FedCard, png?: Uint8Array): void {
    this.#files?.keep(bin, fed, png);
  }

  /** Appends to the log of the card in the encoder, when output is kept. */
  #log(fed: FedCard, line: string): void {
    this.#files?.log(fed, line);
  }

  /** The card as the encoder sees it: every power change and command goes to the log. */
  #logged(fed: FedCard): SimulatedCard {
    const card = fed.card;
    return {
      kind: card.kind,
      powerOn: (iface) => {
        const atr = card.powerOn(iface);
        this.#log(fed, `on ${iface}`);
        return atr;
      },
      powerOff: () => {
        card.powerOff();
        this.#log(fed, 'off');
      },
      process: (command) => {
        const r = card.process(command);
        this.#log(fed, `apdu ${toHex(command)}`);
        return r;
      },
    };
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
    this.#persist();
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
    const faults = faultsFor(this.#faults, this.seed, index);
    const card = this.#stock.blank(index, this.seed);
    const fedCard: FedCard = { index, card, chipSerial: chipSerialFromAtr(card.atr), faults, apdus: 0 };
    if (faults.includes('jam')) {
      this.lost.push(fedCard);
      this.#error = 'CARD JAM';
      this.#persist();
      return this.#error;
    }
    this.#current = fedCard;
    this.#position = 'entry';
    this.#files?.fedCard(fedCard);
    return undefined;
  }

  async #move(to: Position): Promise<string> {
    if (this.#error) return this.#error;
    if (!this.#current) {
      const err = await this.#feed();
      if (err) return err;
    }
    if (this.#position !== to) {
      await sleep(this.#latency.moveMs);
      this.#position = to;
      this.#persist();
    }
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
    await this.#files?.keepAsync(HOPPER_DIR, card, png);
    this.output.push(card);
    this.#clear();
    this.#persist();
    return 'OK';
  }

  async #reject(): Promise<string> {
    if (this.#error) return this.#error;
    const card = this.#current;
    if (card) {
      await sleep(this.#latency.ejectMs);
      await this.#files?.keepAsync(REJECT_BIN_DIR, card);
      this.rejectBox.push(card);
    }
    this.#clear();
    if (card) this.#persist();
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
    const inner = new SimulatorTransport(this.#files ? this.#logged(fed) : fed.card, { interface: iface, name: `${this.name}:card-${fed.index}` });
    return new SimulatedEncoderTransport(inner, fed, this.#faults, this.#latency, () => {
      // The card was pulled out of the encoder.
      if (this.#current === fed) {
        this.lost.push(fed);
        this.#clear();
        this.#persist();
      }
    });
  }
}
