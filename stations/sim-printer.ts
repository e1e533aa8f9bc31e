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
//
// Kept output (keepOutput(DIR), docs/runner.md "Simulated printer"): the printer then keeps its
// cards on disk, like a real printer keeps them in its trays across a crash of the host:
//
//   DIR/hopper/<CHIP>.json       card image of each card ejected as good (Se), + <CHIP>.png its face
//   DIR/reject-bin/<CHIP>.json   card image of each card sent to the reject box (Ser)
//   DIR/printers/<name>.json     the printer: cards fed, feeder, the card in the encoder (its image
//                                when it was fed)
//   DIR/printers/<name>.log      what the card in the encoder went through since: power on/off and
//                                every command APDU, appended before the answer reaches the host
//
// Hopper and reject-bin files are written with writeJsonAtomicSync (temporary file, fsync,
// rename, directory fsync) when the card is ejected, then the printer file. A printer that takes
// over its files after the host was killed rebuilds the card in the encoder by replaying the log
// on the fed image (the simulator is deterministic), so it is exactly the card the killed run
// left: the card that recovery then inspects and moves. An eject starts with an `eject` line in the
// log; one interrupted before the printer file was rewritten is finished at the takeover. The
// printer file (temporary file + rename) and the log (appended) are not fsync'd: they survive a
// killed process, which is what the simulation stands for; after a power cut of the host they may
// be behind the tray files. Card images hold keys and PINs in clear (as the chip's memory does):
// the files are mode 0600; treat DIR as secret.
import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { privateDirSync, writePrivateFileSync } from '../files/private.js';
import { readJsonSync, writeFileAtomicSync, writeJsonAtomicSync } from '../simulator/core/json-file.js';
import { fromHex, toHex } from '../bytes/index.js';
import { createSsCard, SsCard, type CardImage, type SimulatedCard } from '../simulator/index.js';
import { SimulatorTransport } from '../transport/simulator.js';
import { CardRemovedError, type Transport, TransportClosedError } from '../transport/transport.js';
import { CardUnresponsiveError, EncoderTimeoutError } from './errors.js';
import { CR, downloadSize, FrameParser, type EvolisFrame } from './evolis-protocol.js';
import { encodePng } from '../faces/png.js';
import { panelToRaster } from '../faces/faces.js';
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
  /** Keep the output hopper, the reject bin and the printer's state in this folder (keepOutput). */
  outputDir?: string;
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

/** The simulated printers' output in a batch folder: DIR/sim-output (the runner keeps it there). */
export const SIM_OUTPUT_DIR = 'sim-output';
export const HOPPER_DIR = 'hopper';
export const REJECT_BIN_DIR = 'reject-bin';
export const PRINTERS_DIR = 'printers';
const STATE_FORMAT = 'cardsmith-sim-printer';

/** DIR/printers/<name>.json: the printer; `encoder.image` is the card in the encoder as it was fed. */
interface PrinterStateFile {
  format: typeof STATE_FORMAT;
  version: 1;
  name: string;
  seed: number;
  fed: number;
  /** Blank cards left in the feeder; null = unlimited. */
  left: number | null;
  encoder: { index: number; chipSerial: string | null; faults: FaultKind[]; apdus: number; position: Exclude<Position, 'none'>; image: CardImage } | null;
}

/**
 * Replays DIR/printers/<name>.log on the card fed as `index`: power on/off and command APDUs, in
 * order. Returns the bin of an eject that the log says started, if any. A last line cut off by
 * a kill (no newline) never reached the host and is left out.
 */
function replayLog(path: string, index: number, card: SimulatedCard): { eject?: 'hopper' | 'reject-bin'; apdus: number; valid: boolean; length: number; size: number } {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return { apdus: 0, valid: false, length: 0, size: 0 };
  }
  const length = text.lastIndexOf('\n') + 1;
  const lines = text.slice(0, length).split('\n');
  lines.pop(); // '' after the last newline (a line cut off by a kill is not in `length`)
  if (lines[0] !== `card ${index}`) return { apdus: 0, valid: false, length: 0, size: text.length };
  let apdus = 0;
  let eject: 'hopper' | 'reject-bin' | undefined;
  for (const line of lines.slice(1)) {
    const [op, arg] = line.split(' ');
    if (op === 'on') card.powerOn(arg === 'contactless' ? 'contactless' : 'contact');
    else if (op === 'off') card.powerOff();
    else if (op === 'apdu') {
      card.process(fromHex(arg ?? ''));
      apdus++;
    } else if (op === 'eject' && (arg === HOPPER_DIR || arg === REJECT_BIN_DIR)) eject = arg;
  }
  return { ...(eject ? { eject } : {}), apdus, valid: true, length, size: text.length };
}

/** Temporary file + rename: whole after a killed process (no fsync). */
function writeTextRenameSync(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writePrivateFileSync(tmp, text);
  renameSync(tmp, path);
}

/** A card kept by a simulated printer, read back from DIR/sim-output (readSimOutput). */
export interface KeptCard {
  /** Where it is: the output hopper, the reject bin, or still in a printer's encoder. */
  place: 'hopper' | 'reject-bin' | 'encoder';
  /** Path relative to the batch folder, e.g. sim-output/hopper/0123456789ABCDEF.json. */
  file: string;
  /** The printer (encoder cards only). */
  station?: string;
  /** From the card's ATR (not from the file name). */
  chipSerial?: string;
  /** The card, loaded from its image (undefined when the file is unusable: see error). */
  card?: SsCard;
  /** The face printed on it (hopper cards, when one was printed): path relative to the batch folder. */
  face?: string;
  error?: string;
}

export interface SimOutput {
  dir: string;
  hopper: KeptCard[];
  rejectBin: KeptCard[];
  encoders: KeptCard[];
}

/**
 * Reads the cards the simulated printers of a batch kept (DIR/sim-output); undefined when the
 * batch has none. Unreadable files are returned with `error`, not thrown.
 */
export function readSimOutput(batchDir: string): SimOutput | undefined {
  const dir = join(batchDir, SIM_OUTPUT_DIR);
  if (!existsSync(dir)) return undefined;
  const rel = (...p: string[]) => [SIM_OUTPUT_DIR, ...p].join('/');
  const list = (sub: string) => {
    try {
      return readdirSync(join(dir, sub)).filter((f) => f.endsWith('.json') && !f.startsWith('.')).sort();
    } catch {
      return [];
    }
  };
  const load = (place: 'hopper' | 'reject-bin', f: string): KeptCard => {
    const k: KeptCard = { place, file: rel(place === 'hopper' ? HOPPER_DIR : REJECT_BIN_DIR, f) };
    try {
      k.card = createSsCard({ image: readJsonSync(join(dir, place === 'hopper' ? HOPPER_DIR : REJECT_BIN_DIR, f)) });
      const chip = chipSerialFromAtr(k.card.atr);
      if (chip) k.chipSerial = chip;
    } catch (e) {
      k.error = e instanceof Error ? e.message : String(e);
    }
    const png = f.replace(/\.json$/, '.png');
    if (place === 'hopper' && existsSync(join(dir, HOPPER_DIR, png))) k.face = rel(HOPPER_DIR, png);
    return k;
  };
  const encoders: KeptCard[] = [];
  for (const f of list(PRINTERS_DIR)) {
    try {
      const s = readJsonSync(join(dir, PRINTERS_DIR, f)) as PrinterStateFile;
      if (s?.format !== STATE_FORMAT || !s.encoder) continue;
      const k: KeptCard = { place: 'encoder', file: rel(PRINTERS_DIR, f), station: String(s.name) };
      try {
        k.card = createSsCard({ image: s.encoder.image });
        const r = replayLog(join(dir, PRINTERS_DIR, f.replace(/\.json$/, '.log')), s.encoder.index, k.card);
        // An eject the killed run started: the card is in that tray once its file is there.
        if (r.eject && s.encoder.chipSerial && existsSync(join(dir, r.eject, `${s.encoder.chipSerial}.json`))) continue;
        const chip = chipSerialFromAtr(k.card.atr);
        if (chip) k.chipSerial = chip;
      } catch (e) {
        k.error = e instanceof Error ? e.message : String(e);
      }
      encoders.push(k);
    } catch (e) {
      encoders.push({ place: 'encoder', file: rel(PRINTERS_DIR, f), error: e instanceof Error ? e.message : String(e) });
    }
  }
  return { dir, hopper: list(HOPPER_DIR).map((f) => load('hopper', f)), rejectBin: list(REJECT_BIN_DIR).map((f) => load('reject-bin', f)), encoders };
}

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
  #out: string | undefined;
  /** The image of the card in the encoder when it was fed (kept in the printer file). */
  #fedImage: CardImage | undefined;

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
    if (options.outputDir !== undefined) this.keepOutput(options.outputDir);
  }

  /** The folder the printer keeps its output in (keepOutput), if any. */
  get outputDir(): string | undefined {
    return this.#out;
  }

  /**
   * Keeps the printer's output in `dir` from now on: ejected cards as images in dir/hopper (with
   * their faces), rejected ones in dir/reject-bin, and the printer's own state (cards fed, the
   * feeder, the card in the encoder) in dir/printers/<name>.json. A printer that has not fed a
   * card yet and finds its state file there takes it over (after a crash of the host: the same
   * next card, the card left in the encoder); otherwise it writes its state there. Only
   * social-security cards (the default card factory) are kept. One process per printer name.
   */
  keepOutput(dir: string): void {
    const abs = resolve(dir);
    if (this.#out === abs) return;
    for (const d of [HOPPER_DIR, REJECT_BIN_DIR, PRINTERS_DIR]) privateDirSync(join(abs, d));
    const fresh = this.#out === undefined && this.#fed === 0 && !this.#current;
    this.#out = abs;
    if (fresh && existsSync(this.#statePath())) this.#load();
    else {
      if (this.#current) this.#fedCard(this.#current);
      this.#persist();
    }
  }

  #statePath(): string {
    return join(this.#out!, PRINTERS_DIR, `${encodeURIComponent(this.name)}.json`);
  }

  #load(): void {
    const path = this.#statePath();
    const bad = (what: string) => new Error(`simulated printer ${this.name}: ${path}: ${what}; move the file away to start this printer empty (its kept cards stay where they are)`);
    let s: PrinterStateFile;
    try {
      s = readJsonSync(path) as PrinterStateFile;
    } catch (e) {
      throw bad(e instanceof Error ? e.message : String(e));
    }
    if (s?.format !== STATE_FORMAT || s.version !== 1) throw bad(`not a ${STATE_FORMAT} version 1 file`);
    if (!Number.isInteger(s.fed) || s.fed < 0) throw bad('fed must be an integer ≥ 0');
    if (s.left !== null && !(Number.isInteger(s.left) && s.left >= 0)) throw bad('left must be null or an integer ≥ 0');
    this.#fed = s.fed;
    this.#left = s.left ?? Number.POSITIVE_INFINITY;
    const e = s.encoder;
    if (!e) return;
    let card: SsCard;
    try {
      card = createSsCard({ image: e.image });
    } catch (x) {
      throw bad(`the card in the encoder: ${x instanceof Error ? x.message : String(x)}`);
    }
    const replay = replayLog(this.#logPath(), e.index, card);
    // Appends go on after the last whole line (a line cut off by the kill is dropped).
    if (!replay.valid) writePrivateFileSync(this.#logPath(), `card ${e.index}\n`);
    else if (replay.length !== replay.size) truncateSync(this.#logPath(), replay.length);
    const faults = (Array.isArray(e.faults) ? e.faults : []).filter((f): f is FaultKind => (FAULT_KINDS as readonly string[]).includes(f));
    const fed: FedCard = { index: e.index, card, chipSerial: chipSerialFromAtr(card.atr), faults, apdus: Math.max(Number.isInteger(e.apdus) ? e.apdus : 0, replay.apdus) };
    this.#fedImage = e.image;
    if (replay.eject) {
      // Killed during an eject: finish it (the card is the one the log describes).
      this.#keep(replay.eject, fed);
      (replay.eject === HOPPER_DIR ? this.output : this.rejectBox).push(fed);
      this.#persist();
      return;
    }
    this.#current = fed;
    this.#position = ['entry', 'contact', 'contactless'].includes(e.position) ? e.position : 'contact';
  }

  #logPath(): string {
    return join(this.#out!, PRINTERS_DIR, `${encodeURIComponent(this.name)}.log`);
  }

  /** Writes the printer file (renamed into place, not fsync'd): cards fed, the feeder, the card in the encoder as fed. */
  #persist(): void {
    if (!this.#out) return;
    const cur = this.#current;
    const kept = cur && this.#position !== 'none' && cur.card instanceof SsCard && this.#fedImage ? cur : undefined;
    const state: PrinterStateFile = {
      format: STATE_FORMAT,
      version: 1,
      name: this.name,
      seed: this.seed,
      fed: this.#fed,
      left: Number.isFinite(this.#left) ? this.#left : null,
      encoder: kept ? { index: kept.index, chipSerial: kept.chipSerial ?? null, faults: kept.faults, apdus: kept.apdus, position: this.#position as Exclude<Position, 'none'>, image: this.#fedImage! } : null,
    };
    writeTextRenameSync(this.#statePath(), `${JSON.stringify(state, null, 1)}\n`);
    // The log of a card that left the encoder is not needed any more (it holds what the card got: secrets).
    if (!state.encoder) rmSync(this.#logPath(), { force: true });
  }

  /** A card was fed: its image as fed, and a new log for it (before the printer file names it). */
  #fedCard(fed: FedCard): void {
    this.#fedImage = undefined;
    if (!this.#out || !(fed.card instanceof SsCard)) return;
    this.#fedImage = fed.card.toImage();
    writePrivateFileSync(this.#logPath(), `card ${fed.index}\n`);
  }

  /** Appends to the log of the card in the encoder (synchronously: before the host sees the answer). */
  #log(fed: FedCard, line: string): void {
    if (!this.#out || this.#current !== fed || !this.#fedImage) return;
    appendFileSync(this.#logPath(), `${line}\n`);
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

  /** Puts an ejected card into the hopper or the reject bin on disk: face, eject mark, image. */
  #keep(bin: typeof HOPPER_DIR | typeof REJECT_BIN_DIR, fed: FedCard, png?: Uint8Array): void {
    if (!this.#out || !(fed.card instanceof SsCard) || !fed.chipSerial) return;
    if (png) writeFileAtomicSync(join(this.#out, bin, `${fed.chipSerial}.png`), png);
    this.#log(fed, `eject ${bin}`);
    writeJsonAtomicSync(join(this.#out, bin, `${fed.chipSerial}.json`), fed.card.toImage());
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
    const faults = this.#faults.flatMap((f, i) => {
      const hit = f.card !== undefined ? f.card === index : f.every !== undefined ? index % f.every === 0 : draw(this.seed, index, i) < (f.probability ?? 0);
      return hit ? [f.kind] : [];
    });
    const card = this.#factory(index, this.seed);
    const fedCard: FedCard = { index, card, chipSerial: card instanceof SsCard ? chipSerialFromAtr(card.atr) : undefined, faults, apdus: 0 };
    if (faults.includes('jam')) {
      this.lost.push(fedCard);
      this.#error = 'CARD JAM';
      this.#persist();
      return this.#error;
    }
    this.#current = fedCard;
    this.#position = 'entry';
    this.#fedCard(fedCard);
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
    this.#keep(HOPPER_DIR, card, png);
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
      this.#keep(REJECT_BIN_DIR, card);
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
    const inner = new SimulatorTransport(this.#out ? this.#logged(fed) : fed.card, { interface: iface, name: `${this.name}:card-${fed.index}` });
    return new SimulatedEncoderTransport(
      inner,
      fed,
      this.#faults,
      this.#latency,
      () => {
        // The card was pulled out of the encoder.
        if (this.#current === fed) {
          this.lost.push(fed);
          this.#clear();
          this.#persist();
        }
      },
    );
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
