// From stations-file entries to running Station objects: the mover of each type, its encoder
// (the simulated printer's own, a PC/SC reader, or new simulated cards), and the simulated
// printers (kept so a run can show their faces and tests can look into their hoppers).
import type { SimCardFactory } from '../transport/sim-cards.js';
import { parseReaderSpec } from '../transport/spec.js';
import { EvolisMover } from './evolis.js';
import { PcscEncoder, SimCardEncoder, type PcscEncoderOptions } from './encoders.js';
import type { StationConfig } from './file.js';
import { ManualMover, PcscReaderEvents, type ReaderEvents } from './manual.js';
import type { CardMover, Encoder } from './mover.js';
import { SimulatedPrinter, type SimulatedPrinterOptions } from './sim-printer/index.js';
import { SimulatedMover } from './simulated.js';
import { Station, type StationEvent, type StationOptions } from './station.js';

export interface OpenStationsOptions {
  /** Operator prompts of manual stations (default: none; the CLI prints them). */
  prompt?: (station: string, message: string) => void;
  /** Reader events of manual stations (default: the PC/SC reader named as encoder). */
  readerEvents?: (reader: string) => ReaderEvents;
  pcsc?: PcscEncoderOptions;
  onEvent?: (event: StationEvent) => void;
  chipSerial?: StationOptions['chipSerial'];
  /** Options for simulated printers; their card stock (the simulator's ssCardStock) is required. */
  simulated?: Partial<SimulatedPrinterOptions>;
  /** Makes the cards of `sim…` encoders (the simulator's simCards); required for them. */
  simCards?: SimCardFactory;
}

export interface OpenedStations {
  stations: Station[];
  /** Simulated printers by station name. */
  printers: Map<string, SimulatedPrinter>;
  close(): Promise<void>;
}

export function openStations(configs: readonly StationConfig[], options: OpenStationsOptions = {}): OpenedStations {
  const printers = new Map<string, SimulatedPrinter>();
  const stations = configs.map((c) => {
    let mover: CardMover;
    let encoder: Encoder | undefined;
    switch (c.mover.type) {
      case 'simulated': {
        const printer = new SimulatedPrinter({
          ...options.simulated,
          name: c.name,
          seed: c.mover.seed,
          ...(c.mover.cards !== undefined ? { cards: c.mover.cards } : {}),
          latency: c.mover.latency,
          faults: c.mover.faults,
        });
        printers.set(c.name, printer);
        mover = new SimulatedMover(printer);
        encoder = printer.encoder();
        break;
      }
      case 'evolis': {
        const { uri, type: _t, ...rest } = c.mover;
        mover = new EvolisMover(uri, { ...rest, name: `${c.name} (${uri})` });
        break;
      }
      case 'manual': {
        const reader = c.encoder ?? '';
        const events = options.readerEvents?.(reader) ?? new PcscReaderEvents(reader, options.pcsc ?? {});
        mover = new ManualMover({
          name: c.name,
          events,
          ...(options.prompt ? { prompt: (m: string) => options.prompt!(c.name, m) } : {}),
          ...(c.mover.waitMs !== undefined ? { waitMs: c.mover.waitMs } : {}),
        });
        break;
      }
    }
    if (!encoder) {
      const spec = c.encoder ?? '';
      encoder = parseReaderSpec(spec).type === 'sim' ? new SimCardEncoder(spec, options.simCards) : new PcscEncoder(spec.startsWith('pcsc:') ? spec.slice(5) : spec, options.pcsc ?? {});
    }
    return new Station({
      name: c.name,
      mover,
      encoder,
      interface: c.interface,
      maxConsecutiveFailures: c.maxConsecutiveFailures,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.chipSerial ? { chipSerial: options.chipSerial } : {}),
    });
  });
  return {
    stations,
    printers,
    close: async () => {
      await Promise.all(stations.map((s) => s.close()));
    },
  };
}
