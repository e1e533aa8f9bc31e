// The in-process transport: a SimulatedCard powered on one interface, reached by function calls
// instead of a reader. It behaves like the PC/SC transport towards its caller (61xx/6Cxx resolved
// by the shared helper, typed errors after close), so code tested here runs unchanged on a reader.
import { abytes } from '../bytes/index.js';
import type { CardInterface } from './transport.js';
import type { SimulatedCard } from './simulated-card.js';
import { transmitResolvingT0, type T0Options } from './t0.js';
import { CardRemovedError, type Transport, TransportClosedError } from './transport.js';

export interface SimulatorTransportOptions extends T0Options {
  /** Interface the card is powered on (default contact). */
  interface?: CardInterface;
  /** Transport name for messages (default `sim:<card kind>`). */
  name?: string;
  /** Called once by close(), after the card is powered off (e.g. to save its image). */
  onClose?: (card: SimulatedCard) => void | Promise<void>;
}

export class SimulatorTransport implements Transport {
  readonly name: string;
  readonly iface: CardInterface;
  #card: SimulatedCard;
  #atr: Uint8Array;
  #closed = false;
  /** A command (or reset, close) is under way; the next callers wait in #waiting, in call order. */
  #busy = false;
  #waiting: (() => void)[] = [];
  #options: SimulatorTransportOptions;
  #apdus = 0;

  constructor(card: SimulatedCard, options: SimulatorTransportOptions = {}) {
    this.#card = card;
    this.#options = options;
    this.iface = options.interface ?? 'contact';
    this.name = options.name ?? `sim:${card.kind}`;
    this.#atr = copy(card.powerOn(this.iface));
  }

  /** The simulated card itself (to save its image, or inject faults in tests). */
  get card(): SimulatedCard {
    return this.#card;
  }

  /** Command APDUs the card has processed, GET RESPONSE and 6Cxx repeats included. */
  get apduCount(): number {
    return this.#apdus;
  }

  atr(): Uint8Array {
    this.#check();
    return copy(this.#atr);
  }

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    // Written out rather than through #serial: no closure and no promise chain per APDU.
    if (this.#busy) await this.#turn();
    else this.#busy = true;
    try {
      this.#check();
      // The check's message is built only when it fails: this runs for every APDU.
      if (!(command instanceof Uint8Array)) abytes(command, `${this.name}: transmit: command`);
      return await transmitResolvingT0(this.#raw, copy(command), this.#options);
    } finally {
      this.#done();
    }
  }

  /** One APDU to the card, as it answers it; made once, not per command. */
  readonly #raw = async (c: Uint8Array): Promise<Uint8Array> => {
    this.#apdus++;
    const r = this.#card.process(c);
    // A simulated card answers nothing only without power (e.g. after an injected power loss):
    // for the caller that is a card that went away, as it would be in a reader.
    if (r.length === 0) throw new CardRemovedError(`${this.name}: the card did not answer (no power: power loss injected?); reset it to go on`);
    return copy(r);
  };

  reset(cold = false): Promise<Uint8Array> {
    return this.#serial(async () => {
      this.#check();
      // A warm reset keeps the power on; for a simulated card both start a fresh session.
      if (cold) this.#card.powerOff();
      this.#atr = copy(this.#card.powerOn(this.iface));
      return copy(this.#atr);
    });
  }

  close(): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed) return;
      this.#closed = true;
      this.#card.powerOff();
      await this.#options.onClose?.(this.#card);
    });
  }

  #check(): void {
    if (this.#closed) throw new TransportClosedError(`${this.name}: the transport is closed; open a new one`);
  }

  /** One command (with its GET RESPONSEs) at a time, in call order. */
  async #serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#busy) await this.#turn();
    else this.#busy = true;
    try {
      return await fn();
    } finally {
      this.#done();
    }
  }

  /** Waits until the call before has finished (#done hands the turn over; #busy stays set). */
  #turn(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #done(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#busy = false;
  }
}

function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
