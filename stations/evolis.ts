// The `evolis` card mover: Evolis printers driven with escape commands (evolis-protocol.ts) over
// TCP or a device file (evolis-link.ts). One command at a time; every answer is awaited with a
// bound (timeoutMs); an answer other than OK becomes a PrinterError whose stationFault tells the
// station to pause (empty feeder, jam, cover open, …).
//
// Card cycle used by EvolisMover (Evolis Programming Guide A5013 rev. E):
//   once:   Pem;2        the host handles errors (the printer answers them instead of waiting)
//           Pr;k         black (K) ribbon panel, when the station prints faces
//   load:   Ss           start sequence
//           Sis | Sic    feed a card to the contact | contactless station
//   print:  Db;k;2;…     download the face as a one-bit K panel (648 × 1016 dots)
//   good:   Se           end sequence: print, eject to the output hopper
//   bad:    Ser          eject to the reject box
//   reset:  Srs          after the operator cleared a jam or refilled the feeder
//   status: Rse          read sensors (answer shown raw), Sk;f feeder-empty sensor (0 = not empty)
import { decodePng } from '../faces/png.js';
import { PrinterError, PrinterLinkError } from './errors.js';
import { encodeCommand, replyError, splitReply } from './evolis-protocol.js';
import { openEvolisLink, type EvolisLink, type LinkOptions } from './evolis-link.js';
import { monoPanel } from '../faces/faces.js';
import type { CardInterface, CardMover, MoverStatus } from './mover.js';

export interface EvolisDriverOptions extends LinkOptions {
  /** Name in messages (default: the link's, e.g. tcp://10.0.0.7:9100). */
  name?: string;
  /** Bound on each answer (default 30 000 ms: a card move or a print takes seconds). */
  timeoutMs?: number;
  /** An answer that does not end in CR/LF counts as complete after this much quiet (default 150 ms). */
  replyIdleMs?: number;
}

export interface SendOptions {
  data?: Uint8Array;
  timeoutMs?: number;
}

interface Pending {
  command: string;
  buf: Uint8Array;
  resolve(reply: string): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  idle?: NodeJS.Timeout;
}

/** Parsed Rse answer when it has the KEY=VALUE;… form (the simulated printer's; see docs/runner.md). */
export function parseSensors(raw: string): Record<string, string> | undefined {
  if (!/^[A-Z_]+=[^;]*(;[A-Z_]+=[^;]*)*$/.test(raw.trim())) return undefined;
  return Object.fromEntries(raw.trim().split(';').map((kv) => kv.split('=') as [string, string]));
}

export class EvolisDriver {
  readonly name: string;
  #link: EvolisLink;
  #timeoutMs: number;
  #idleMs: number;
  #queue: Promise<unknown> = Promise.resolve();
  #pending: Pending | undefined;
  #closed = false;
  #linkError: Error | undefined;

  static async open(uri: string, options: EvolisDriverOptions = {}): Promise<EvolisDriver> {
    return new EvolisDriver(await openEvolisLink(uri, options), options);
  }

  constructor(link: EvolisLink, options: EvolisDriverOptions = {}) {
    this.#link = link;
    this.name = options.name ?? link.name;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#idleMs = options.replyIdleMs ?? 150;
    link.onData((bytes) => this.#receive(bytes));
    link.onClose((err) => {
      this.#closed = true;
      this.#linkError = err ?? new PrinterLinkError(`evolis: ${this.name}: the printer closed the connection`);
      const p = this.#pending;
      if (p) this.#settle(p, this.#linkError);
    });
  }

  /** Sends one command and returns the printer's answer (without the line end). */
  send(command: string, params: readonly string[] = [], options: SendOptions = {}): Promise<string> {
    const frame = encodeCommand(command, params, options.data);
    const label = [command, ...params].join(';');
    const run = () =>
      new Promise<string>((resolve, reject) => {
        if (this.#closed) {
          reject(this.#linkError ?? new PrinterLinkError(`evolis: ${this.name}: the driver is closed`));
          return;
        }
        const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
        const pending: Pending = {
          command: label,
          buf: new Uint8Array(0),
          resolve,
          reject,
          timer: setTimeout(() => this.#settle(pending, new PrinterLinkError(`evolis: ${this.name}: no answer to ${label} within ${timeoutMs} ms; check the printer is on, online and not waiting for the operator`)), timeoutMs),
        };
        this.#pending = pending;
        this.#link.write(frame).catch((e: Error) => this.#settle(pending, e));
      });
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Sends a command that must be answered OK; anything else throws a PrinterError. */
  async ok(command: string, params: readonly string[] = [], options: SendOptions = {}): Promise<void> {
    const reply = await this.send(command, params, options);
    if (reply.trim() !== 'OK') throw replyError([command, ...params].join(';'), reply, this.name);
  }

  /** Pem;mode: 2 = the host manages errors (the printer answers at once instead of waiting). */
  setErrorManagement(mode: 0 | 1 | 2): Promise<void> {
    return this.ok('Pem', [String(mode)]);
  }
  /** Pr;panels (e.g. "k", "ymcko"). */
  setRibbon(panels: string): Promise<void> {
    return this.ok('Pr', [panels]);
  }
  startSequence(): Promise<void> {
    return this.ok('Ss');
  }
  insert(): Promise<void> {
    return this.ok('Si');
  }
  toContactStation(): Promise<void> {
    return this.ok('Sis');
  }
  toContactlessStation(): Promise<void> {
    return this.ok('Sic');
  }
  /** Db;k;2;… the one-bit black panel (faces.ts monoPanel). */
  downloadBlackPanel(panel: Uint8Array): Promise<void> {
    if (!(panel instanceof Uint8Array) || panel.length !== (648 * 1016) / 8) throw new RangeError(`evolis: a K panel has ${(648 * 1016) / 8} bytes, got ${panel?.length}`);
    return this.ok('Db', ['k', '2'], { data: panel });
  }
  /** Se: end of sequence, the card is printed and ejected to the output hopper. */
  endSequence(): Promise<void> {
    return this.ok('Se');
  }
  /** Ser: eject the card to the reject box. */
  ejectToReject(): Promise<void> {
    return this.ok('Ser');
  }
  /** Srs: software reset. */
  reset(): Promise<void> {
    return this.ok('Srs');
  }
  /** Rse: read sensors; the raw answer (its format varies by model) and a parse where it has one. */
  async readSensors(): Promise<{ raw: string; fields?: Record<string, string> }> {
    const raw = (await this.send('Rse')).trim();
    if (/^(ERROR|CARD JAM|FEEDER EMPTY|COVER OPEN)/.test(raw)) throw replyError('Rse', raw, this.name);
    const fields = parseSensors(raw);
    return fields ? { raw, fields } : { raw };
  }
  /** Sk;f: the feeder's finish sensor (Programming Guide p. 64: 0 not empty, 1/2 feeder 1/2 empty, 3 empty). */
  async feederEmpty(): Promise<boolean> {
    const raw = (await this.send('Sk', ['f'])).trim();
    if (!/^[0-3]$/.test(raw)) throw replyError('Sk;f', raw, this.name);
    return raw !== '0';
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    await this.#link.close();
  }

  #receive(bytes: Uint8Array): void {
    const p = this.#pending;
    if (!p) return; // unsolicited bytes: dropped
    const merged = new Uint8Array(p.buf.length + bytes.length);
    merged.set(p.buf);
    merged.set(bytes, p.buf.length);
    p.buf = merged;
    const split = splitReply(p.buf);
    if (split) {
      this.#settle(p, undefined, split.reply);
      return;
    }
    if (p.idle) clearTimeout(p.idle);
    p.idle = setTimeout(() => this.#settle(p, undefined, new TextDecoder('latin1').decode(p.buf)), this.#idleMs);
  }

  #settle(p: Pending, err?: Error, reply?: string): void {
    if (this.#pending !== p) return;
    this.#pending = undefined;
    clearTimeout(p.timer);
    if (p.idle) clearTimeout(p.idle);
    if (err) p.reject(err);
    else p.resolve(reply ?? '');
  }
}

export interface EvolisMoverOptions extends EvolisDriverOptions {
  /** Ribbon panels to select once before the first card (default "k"); null: leave the printer's setting. */
  ribbon?: string | null;
}

/**
 * Given a URI, the mover connects on first use and again after the link broke (the station
 * pauses on the PrinterLinkError; resume() reconnects), so a printer that is off when the batch
 * starts pauses its station instead of stopping the batch.
 */
export class EvolisMover implements CardMover {
  readonly kind = 'evolis';
  readonly canPrint = true;
  readonly name: string;
  #driver: EvolisDriver | undefined;
  #uri: string | undefined;
  #options: EvolisMoverOptions;
  #ribbon: string | null;
  #ready = false;
  #position: MoverStatus['card'] = 'unknown';

  constructor(driver: EvolisDriver | string, options: EvolisMoverOptions = {}) {
    if (typeof driver === 'string') this.#uri = driver;
    else this.#driver = driver;
    this.#options = options;
    this.name = options.name ?? (typeof driver === 'string' ? driver : driver.name);
    this.#ribbon = options.ribbon === undefined ? 'k' : options.ribbon;
  }

  async #do<T>(fn: (d: EvolisDriver) => Promise<T>): Promise<T> {
    if (!this.#driver) {
      if (this.#uri === undefined) throw new PrinterLinkError(`evolis: ${this.name}: the connection was lost and there is no address to reconnect to`);
      this.#driver = await EvolisDriver.open(this.#uri, { ...this.#options, name: this.name });
      this.#ready = false;
    }
    try {
      return await fn(this.#driver);
    } catch (e) {
      if (e instanceof PrinterLinkError && this.#uri !== undefined) {
        const d = this.#driver;
        this.#driver = undefined;
        await d?.close().catch(() => {});
      }
      throw e;
    }
  }

  async #init(d: EvolisDriver): Promise<void> {
    if (this.#ready) return;
    await d.setErrorManagement(2);
    if (this.#ribbon !== null) await d.setRibbon(this.#ribbon);
    this.#ready = true;
  }

  load(iface: CardInterface): Promise<void> {
    return this.#do(async (d) => {
      await this.#init(d);
      await d.startSequence();
      if (iface === 'contactless') await d.toContactlessStation();
      else await d.toContactStation();
      this.#position = iface;
    });
  }

  print(png: Uint8Array): Promise<boolean> {
    const panel = monoPanel(decodePng(png));
    return this.#do(async (d) => {
      await d.downloadBlackPanel(panel);
      return true;
    });
  }

  eject(): Promise<void> {
    return this.#do(async (d) => {
      await d.endSequence();
      this.#position = 'none';
    });
  }

  reject(_reason?: string): Promise<void> {
    return this.#do(async (d) => {
      await d.ejectToReject();
      this.#position = 'none';
    });
  }

  reset(): Promise<void> {
    return this.#do(async (d) => {
      await d.reset();
      this.#ready = false;
      this.#position = 'unknown';
    });
  }

  status(): Promise<MoverStatus> {
    return this.#do(async (d) => {
      let sensors: { raw: string; fields?: Record<string, string> };
      try {
        sensors = await d.readSensors();
      } catch (e) {
        if (e instanceof PrinterError) return { ready: false, card: this.#position, detail: e.message, raw: e.reply };
        throw e;
      }
      let feederEmpty: boolean | undefined;
      try {
        feederEmpty = await d.feederEmpty();
      } catch (e) {
        if (!(e instanceof PrinterError)) throw e; // models without the feeder command
      }
      const f = sensors.fields;
      const card = f?.CARD ? (f.CARD.toLowerCase().replace('entry', 'inside') as MoverStatus['card']) : this.#position;
      const state = f?.STATE ?? 'READY';
      const ready = state === 'READY' && feederEmpty !== true;
      return {
        ready,
        card,
        detail: `${this.name}: ${state === 'READY' ? 'ready' : state}${feederEmpty ? ', feeder empty' : ''}`,
        ...(feederEmpty !== undefined ? { feederEmpty } : {}),
        raw: sensors.raw,
      };
    });
  }

  async close(): Promise<void> {
    const d = this.#driver;
    this.#driver = undefined;
    this.#uri = undefined;
    await d?.close();
  }
}
