// Kept output (keepOutput(DIR), docs/runner.md "Simulated printer"): a printer then keeps its
// cards on disk, like a real printer keeps them in its trays across a crash of the host:
//
//   DIR/hopper/<CHIP>.json       card image of each card ejected as good (Se), + <CHIP>.png its face
//   DIR/reject-bin/<CHIP>.json   card image of each card sent to the reject box (Ser)
//   DIR/printers/<name>.json     the printer: cards fed, feeder, the card in the encoder (its image
//                                when it was fed)
//   DIR/printers/<name>.log      what the card in the encoder went through since: power on/off and
//                                every command APDU, appended before the answer reaches the host
//
// Hopper and reject-bin files are written whole or not at all (temporary file, fsync, rename,
// directory fsync) when the card is ejected, then the printer file. A printer that takes over its
// files after the host was killed rebuilds the card in the encoder by replaying the log on the fed
// image (the simulated card is deterministic), so it is exactly the card the killed run left: the
// card that recovery then inspects and moves. An eject starts with an `eject` line in the log; one
// interrupted before the printer file was rewritten is finished at the takeover. The printer file
// (temporary file + rename) and the log (appended) are not fsync'd: they survive a killed process,
// which is what the simulation stands for; after a power cut of the host they may be behind the
// tray files. Card images hold keys and PINs in clear (as the chip's memory does): the files are
// mode 0600; treat DIR as secret.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fromHex, toHex } from '../../bytes/index.js';
import { privateDirSync, writePrivateFileAtomic, writePrivateFileAtomicSync, writePrivateFileSync } from '../../files/private.js';
import type { SimulatedCard } from '../../transport/simulated-card.js';
import { chipSerialFromAtr } from '../mover.js';
import { FAULT_KINDS, type FaultKind } from './faults.js';
import type { CardStock, FedCard, Position, StockCard } from './stock.js';

/** The simulated printers' output in a batch folder: DIR/sim-output (the runner keeps it there). */
export const SIM_OUTPUT_DIR = 'sim-output';
export const HOPPER_DIR = 'hopper';
export const REJECT_BIN_DIR = 'reject-bin';
export const PRINTERS_DIR = 'printers';
const STATE_FORMAT = 'cardsmith-sim-printer';

type Bin = typeof HOPPER_DIR | typeof REJECT_BIN_DIR;

/** DIR/printers/<name>.json: the printer; `encoder.image` is the card in the encoder as it was fed. */
interface PrinterStateFile {
  format: typeof STATE_FORMAT;
  version: 1;
  name: string;
  seed: number;
  fed: number;
  /** Blank cards left in the feeder; null = unlimited. */
  left: number | null;
  encoder: { index: number; chipSerial: string | null; faults: FaultKind[]; apdus: number; position: Exclude<Position, 'none'>; image: unknown } | null;
}

function readJson(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`not valid JSON (${e instanceof Error ? e.message : 'parse error'})`);
  }
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Replays DIR/printers/<name>.log on the card fed as `index`: power on/off and command APDUs, in
 * order. Returns the bin of an eject that the log says started, if any. A last line cut off by
 * a kill (no newline) never reached the host and is left out.
 */
function replayLog(path: string, index: number, card: SimulatedCard): { eject?: Bin; apdus: number; valid: boolean; length: number; size: number } {
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
  let eject: Bin | undefined;
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
  /** The card, restored from its image (undefined when the file is unusable: see error). */
  card?: StockCard;
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
 * Reads the cards the simulated printers of a batch kept (DIR/sim-output), restored through the
 * printers' card stock; undefined when the batch has none. Unreadable files are returned with
 * `error`, not thrown.
 */
export function readSimOutput(batchDir: string, stock: CardStock): SimOutput | undefined {
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
  const load = (place: Bin, f: string): KeptCard => {
    const k: KeptCard = { place, file: rel(place, f) };
    try {
      k.card = stock.restore(readJson(join(dir, place, f)));
      const chip = chipSerialFromAtr(k.card.atr);
      if (chip) k.chipSerial = chip;
    } catch (e) {
      k.error = messageOf(e);
    }
    const png = f.replace(/\.json$/, '.png');
    if (place === HOPPER_DIR && existsSync(join(dir, HOPPER_DIR, png))) k.face = rel(HOPPER_DIR, png);
    return k;
  };
  const encoders: KeptCard[] = [];
  for (const f of list(PRINTERS_DIR)) {
    try {
      const s = readJson(join(dir, PRINTERS_DIR, f)) as PrinterStateFile;
      if (s?.format !== STATE_FORMAT || !s.encoder) continue;
      const k: KeptCard = { place: 'encoder', file: rel(PRINTERS_DIR, f), station: String(s.name) };
      try {
        k.card = stock.restore(s.encoder.image);
        const r = replayLog(join(dir, PRINTERS_DIR, f.replace(/\.json$/, '.log')), s.encoder.index, k.card);
        // An eject the killed run started: the card is in that tray once its file is there.
        if (r.eject && s.encoder.chipSerial && existsSync(join(dir, r.eject, `${s.encoder.chipSerial}.json`))) continue;
        const chip = chipSerialFromAtr(k.card.atr);
        if (chip) k.chipSerial = chip;
      } catch (e) {
        k.error = messageOf(e);
      }
      encoders.push(k);
    } catch (e) {
      encoders.push({ place: 'encoder', file: rel(PRINTERS_DIR, f), error: messageOf(e) });
    }
  }
  return { dir, hopper: list(HOPPER_DIR).map((f) => load(HOPPER_DIR, f)), rejectBin: list(REJECT_BIN_DIR).map((f) => load(REJECT_BIN_DIR, f)), encoders };
}

/** The printer as its files left it (PrinterFiles.load). */
export interface PrinterTakeover {
  fed: number;
  /** Blank cards left in the feeder (Infinity: unlimited). */
  left: number;
  /** The card the killed run left in the encoder, rebuilt from its log; `eject`: the eject it had started. */
  encoder?: { card: FedCard; position: Exclude<Position, 'none'>; eject?: Bin };
}

/** What the printer is, for its file. */
export interface PrinterSnapshot {
  seed: number;
  fed: number;
  left: number;
  current: FedCard | undefined;
  position: Position;
}

/** One printer's files in a kept-output folder. One process per printer name. */
export class PrinterFiles {
  readonly dir: string;
  /** The image of the card in the encoder when it was fed. */
  #image: unknown;
  /** The card whose log is open: the one in the encoder. */
  #logging: FedCard | undefined;
  /** The log, open for appending while its card is in the encoder (a card's ~100 commands: no open and close each). */
  #logFd: number | undefined;

  constructor(
    dir: string,
    readonly name: string,
    private readonly stock: CardStock,
  ) {
    this.dir = resolve(dir);
    for (const d of [HOPPER_DIR, REJECT_BIN_DIR, PRINTERS_DIR]) privateDirSync(join(this.dir, d));
  }

  get #statePath(): string {
    return join(this.dir, PRINTERS_DIR, `${encodeURIComponent(this.name)}.json`);
  }

  get #logPath(): string {
    return join(this.dir, PRINTERS_DIR, `${encodeURIComponent(this.name)}.log`);
  }

  /** A printer file is there to take over. */
  hasState(): boolean {
    return existsSync(this.#statePath);
  }

  /** Reads the printer file and rebuilds the card in the encoder from its fed image and log. */
  load(): PrinterTakeover {
    const path = this.#statePath;
    const bad = (what: string) => new Error(`simulated printer ${this.name}: ${path}: ${what}; move the file away to start this printer empty (its kept cards stay where they are)`);
    let s: PrinterStateFile;
    try {
      s = readJson(path) as PrinterStateFile;
    } catch (e) {
      throw bad(messageOf(e));
    }
    if (s?.format !== STATE_FORMAT || s.version !== 1) throw bad(`not a ${STATE_FORMAT} version 1 file`);
    if (!Number.isInteger(s.fed) || s.fed < 0) throw bad('fed must be an integer ≥ 0');
    if (s.left !== null && !(Number.isInteger(s.left) && s.left >= 0)) throw bad('left must be null or an integer ≥ 0');
    const taken: PrinterTakeover = { fed: s.fed, left: s.left ?? Number.POSITIVE_INFINITY };
    const e = s.encoder;
    if (!e) return taken;
    let card: StockCard;
    try {
      card = this.stock.restore(e.image);
    } catch (x) {
      throw bad(`the card in the encoder: ${messageOf(x)}`);
    }
    this.#closeLog();
    const replay = replayLog(this.#logPath, e.index, card);
    // Appends go on after the last whole line (a line cut off by the kill is dropped).
    if (!replay.valid) writePrivateFileSync(this.#logPath, `card ${e.index}\n`);
    else if (replay.length !== replay.size) truncateSync(this.#logPath, replay.length);
    const faults = (Array.isArray(e.faults) ? e.faults : []).filter((f): f is FaultKind => (FAULT_KINDS as readonly string[]).includes(f));
    const fed: FedCard = { index: e.index, card, chipSerial: chipSerialFromAtr(card.atr), faults, apdus: Math.max(Number.isInteger(e.apdus) ? e.apdus : 0, replay.apdus) };
    this.#image = e.image;
    const position = ['entry', 'contact', 'contactless'].includes(e.position) ? e.position : 'contact';
    // Killed during an eject: the caller finishes it (the card is the one the log describes).
    if (replay.eject) return { ...taken, encoder: { card: fed, position, eject: replay.eject } };
    this.#logging = fed;
    return { ...taken, encoder: { card: fed, position } };
  }

  /** Writes the printer file (renamed into place, not fsync'd): cards fed, the feeder, the card in the encoder as fed. */
  persist(p: PrinterSnapshot): void {
    const cur = p.current;
    const kept = cur && p.position !== 'none' && this.#logging === cur ? cur : undefined;
    const state: PrinterStateFile = {
      format: STATE_FORMAT,
      version: 1,
      name: this.name,
      seed: p.seed,
      fed: p.fed,
      left: Number.isFinite(p.left) ? p.left : null,
      encoder: kept ? { index: kept.index, chipSerial: kept.chipSerial ?? null, faults: kept.faults, apdus: kept.apdus, position: p.position as Exclude<Position, 'none'>, image: this.#image } : null,
    };
    writeTextRenameSync(this.#statePath, `${JSON.stringify(state, null, 1)}\n`);
    if (state.encoder) return;
    // The log of a card that left the encoder is not needed any more (it holds what the card got: secrets).
    this.#closeLog();
    rmSync(this.#logPath, { force: true });
    this.#logging = undefined;
  }

  #closeLog(): void {
    if (this.#logFd === undefined) return;
    closeSync(this.#logFd);
    this.#logFd = undefined;
  }

  /** A card was fed: its image as fed, and a new log for it (before the printer file names it). */
  fedCard(fed: FedCard): void {
    this.#image = this.stock.save(fed.card);
    this.#logging = fed;
    this.#closeLog();
    writePrivateFileSync(this.#logPath, `card ${fed.index}\n`);
  }

  /** Appends to the log of the card in the encoder (synchronously: before the host sees the answer). */
  log(fed: FedCard, line: string): void {
    if (this.#logging !== fed) return;
    // Mode 0600 if it has to be made (it holds what the card got: secrets).
    this.#logFd ??= openSync(this.#logPath, 'a', 0o600);
    writeSync(this.#logFd, `${line}\n`);
  }

  /** Puts an ejected card into the hopper or the reject bin: face, eject mark, image (a takeover finishing an eject). */
  keep(bin: Bin, fed: FedCard, png?: Uint8Array): void {
    if (!fed.chipSerial) return;
    if (png) writePrivateFileAtomicSync(join(this.dir, bin, `${fed.chipSerial}.png`), png);
    this.log(fed, `eject ${bin}`);
    writePrivateFileAtomicSync(join(this.dir, bin, `${fed.chipSerial}.json`), this.#imageText(fed));
  }

  /** keep, with the writes and fsyncs off the calling thread (an eject: the other printers go on meanwhile). */
  async keepAsync(bin: Bin, fed: FedCard, png?: Uint8Array): Promise<void> {
    if (!fed.chipSerial) return;
    if (png) await writePrivateFileAtomic(join(this.dir, bin, `${fed.chipSerial}.png`), png);
    this.log(fed, `eject ${bin}`);
    await writePrivateFileAtomic(join(this.dir, bin, `${fed.chipSerial}.json`), this.#imageText(fed));
  }

  #imageText(fed: FedCard): string {
    return `${JSON.stringify(this.stock.save(fed.card), null, 2)}\n`;
  }
}
