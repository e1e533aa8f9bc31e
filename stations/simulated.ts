// The `simulated` card mover: drives a SimulatedPrinter in process, through the same escape
// commands (and the same answers) as the `evolis` mover sends over TCP, but keeps faces as PNG
// (in colour) instead of downloading a one-bit panel.
import { replyError } from './evolis-protocol.js';
import { parseSensors } from './evolis.js';
import type { CardInterface, CardMover, MoverStatus } from './mover.js';
import type { SimulatedPrinter } from './sim-printer/index.js';

export class SimulatedMover implements CardMover {
  readonly kind = 'simulated';
  readonly canPrint = true;
  readonly name: string;

  constructor(
    readonly printer: SimulatedPrinter,
    options: { name?: string } = {},
  ) {
    this.name = options.name ?? printer.name;
  }

  async #ok(command: string, params: string[] = []): Promise<void> {
    const reply = await this.printer.execute({ command, params });
    if (reply !== 'OK') throw replyError([command, ...params].join(';'), reply, this.name);
  }

  async load(iface: CardInterface): Promise<void> {
    await this.#ok('Ss');
    await this.#ok(iface === 'contactless' ? 'Sic' : 'Sis');
  }

  async print(png: Uint8Array): Promise<boolean> {
    this.printer.setFace(png);
    return true;
  }

  eject(): Promise<void> {
    return this.#ok('Se');
  }

  reject(_reason?: string): Promise<void> {
    return this.#ok('Ser');
  }

  reset(): Promise<void> {
    return this.#ok('Srs');
  }

  async status(): Promise<MoverStatus> {
    const raw = await this.printer.execute({ command: 'Rse', params: [] });
    const f = parseSensors(raw) ?? {};
    const state = f.STATE ?? 'READY';
    const feederEmpty = f.FEEDER === 'EMPTY';
    return {
      ready: state === 'READY' && !feederEmpty,
      card: (f.CARD ?? 'unknown').toLowerCase().replace('entry', 'inside') as MoverStatus['card'],
      detail: `${this.name}: ${state === 'READY' ? 'ready' : state}${feederEmpty ? ', feeder empty' : ''}`,
      feederEmpty,
      raw,
    };
  }

  /** The printer keeps its hopper, reject bin and encoder card in `dir` (SimulatedPrinter.keepOutput). */
  keepOutput(dir: string): void {
    this.printer.keepOutput(dir);
  }

  /** The printer keeps output and a card is still in its encoder (left by a run that did not end). */
  holdsLeftCard(): boolean {
    return this.printer.outputDir !== undefined && this.printer.current !== undefined;
  }

  async close(): Promise<void> {}
}
