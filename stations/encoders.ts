// Encoders: how a station reaches the card in position. A PC/SC reader (the printer's built-in
// encoder, or a desk reader), or `sim…` — a new simulated card for every card the mover brings
// (for movers that are not the simulated printer, which has its own encoder), made by the
// injected SimCardFactory (the simulator's simCards).
import { PcscTransport, waitForReader, type PcscOptions } from '../transport/pcsc.js';
import { requireSimCards, type SimCardFactory } from '../transport/sim-cards.js';
import { SimulatorTransport } from '../transport/simulator.js';
import { parseReaderSpec, type SimSpec } from '../transport/spec.js';
import { CardRemovedError, type Transport } from '../transport/transport.js';
import { CardUnresponsiveError } from './errors.js';
import type { CardInterface, Encoder } from './mover.js';

export interface PcscEncoderOptions extends PcscOptions {
  /** How long to wait for the card to answer after the mover put it in position (default 5000 ms). */
  cardWaitMs?: number;
}

export class PcscEncoder implements Encoder {
  constructor(
    readonly name: string,
    private readonly options: PcscEncoderOptions = {},
  ) {}

  async connect(_iface: CardInterface): Promise<Transport> {
    const waitMs = this.options.cardWaitMs ?? 5000;
    try {
      await waitForReader(this.name, 'present', { ...this.options, timeoutMs: waitMs });
    } catch (e) {
      // waitForReader reports "no card after N ms" as CardRemovedError.
      if (e instanceof CardRemovedError) {
        throw new CardUnresponsiveError(`${this.name}: no card answered within ${waitMs} ms after it was moved into position (dead chip, or the card is misplaced)`);
      }
      throw e;
    }
    return PcscTransport.open(this.name, this.options);
  }

  async close(): Promise<void> {}
}

/** `sim`, `sim:sscard?seed=N…`: each connect() makes a new blank card (seed, seed+1, …). */
export class SimCardEncoder implements Encoder {
  #count = 0;
  #spec: SimSpec;
  #cards: SimCardFactory;

  constructor(
    readonly name: string,
    cards: SimCardFactory | undefined,
  ) {
    const parsed = parseReaderSpec(name);
    if (parsed.type !== 'sim') throw new TypeError(`SimCardEncoder: "${name}" is not a sim spec`);
    if (parsed.sim.kind !== 'sscard') throw new TypeError(`SimCardEncoder: only sim:sscard cards exist so far, not ${parsed.sim.kind}`);
    this.#cards = requireSimCards(cards, `encoder "${name}"`);
    // New blank cards only: a state file is not read.
    const { state: _state, ...spec } = parsed.sim;
    this.#spec = spec;
  }

  async connect(iface: CardInterface): Promise<Transport> {
    const seed = (this.#spec.seed ?? 0) + this.#count++;
    const card = await this.#cards.create({ ...this.#spec, seed });
    return new SimulatorTransport(card, { interface: iface, name: `${this.name}#${this.#count}` });
  }

  async close(): Promise<void> {}
}
