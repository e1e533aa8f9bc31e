// Faults and latencies of the simulated printer:
//
//   jam              the feed of that card fails: "CARD JAM", the printer stays in error until Srs
//   dead-chip        the card gives no ATR: the encoder's connect fails (CardUnresponsiveError)
//   removed          the card leaves the encoder after `afterApdus` commands (CardRemovedError)
//   encoder-timeout  the encoder stops answering after `afterApdus` commands (EncoderTimeoutError)
//   feeder empty     after `cards` cards (the feeder's stack) every feed answers "FEEDER EMPTY"
//
// A fault applies to card number `card` (1 = first fed), to every `every`-th card, or with a
// `probability` drawn from the seed (deterministic). Latencies are real waits (setTimeout) and
// default to 0.
import type { SimulatorTransport } from '../../transport/simulator.js';
import { CardRemovedError, type Transport, TransportClosedError } from '../../transport/transport.js';
import { EncoderTimeoutError } from '../errors.js';
import type { FedCard } from './stock.js';

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

export const sleep = (ms: number | undefined) => (ms && ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

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

/** The faults that hit card `index` of a printer seeded `seed`. */
export function faultsFor(faults: readonly FaultSpec[], seed: number, index: number): FaultKind[] {
  return faults.flatMap((f, i) => {
    const hit = f.card !== undefined ? f.card === index : f.every !== undefined ? index % f.every === 0 : draw(seed, index, i) < (f.probability ?? 0);
    return hit ? [f.kind] : [];
  });
}

/** The encoder's view of a fed card: APDU latency and the removed / encoder-timeout faults. */
export class SimulatedEncoderTransport implements Transport {
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
