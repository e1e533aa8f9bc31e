// A stand-in for the `smartcard` package (same shape, pcsc-lite's constant values), backed by
// SimulatedCards, for unit tests of PcscTransport that need no pcscd: reader lookup, waits,
// T=0 resolution, and the package's message-only errors injected where a real stack raises them.
import type { PcscCard, PcscContext, PcscModule, PcscReader, PcscReaderState } from '../../transport/pcsc.js';
import type { SimulatedCard } from '../../simulator/card.js';

export const K = {
  SCARD_SHARE_SHARED: 2,
  SCARD_SHARE_EXCLUSIVE: 1,
  SCARD_PROTOCOL_T0: 1,
  SCARD_PROTOCOL_T1: 2,
  SCARD_LEAVE_CARD: 0,
  SCARD_RESET_CARD: 1,
  SCARD_UNPOWER_CARD: 2,
  SCARD_STATE_CHANGED: 0x2,
  SCARD_STATE_UNKNOWN: 0x4,
  SCARD_STATE_UNAVAILABLE: 0x8,
  SCARD_STATE_EMPTY: 0x10,
  SCARD_STATE_PRESENT: 0x20,
  SCARD_STATE_MUTE: 0x200,
};

export interface Slot {
  card?: SimulatedCard | undefined;
  atr?: Buffer;
  mute?: boolean;
  events: number;
}

export interface Call {
  what: string;
  args: unknown[];
}

/** An injected failure: the next call of `what` throws Error(message) (as the native layer does). */
export interface Fault {
  what: 'transmit' | 'connect' | 'context' | 'reconnect' | 'list' | 'wait' | 'hang';
  message: string;
}

export class FakePcsc {
  slots = new Map<string, Slot>();
  calls: Call[] = [];
  faults: Fault[] = [];
  contextsOpen = 0;

  constructor(names: string[]) {
    for (const n of names) this.slots.set(n, { events: 0 });
  }

  insert(name: string, card: SimulatedCard): void {
    const s = this.slots.get(name)!;
    s.card = card;
    s.atr = Buffer.from(card.powerOn('contact'));
    card.powerOff();
    s.events++;
  }

  remove(name: string): void {
    const s = this.slots.get(name)!;
    s.card = undefined;
    s.events++;
  }

  #fault(what: Fault['what']): void {
    const i = this.faults.findIndex((f) => f.what === what);
    if (i >= 0) {
      const [f] = this.faults.splice(i, 1);
      throw new Error(f!.message);
    }
  }

  stateOf(name: string): PcscReaderState {
    const s = this.slots.get(name);
    if (!s) return { name, state: K.SCARD_STATE_UNKNOWN, atr: null };
    const counter = s.events << 16;
    if (!s.card) return { name, state: counter | K.SCARD_STATE_EMPTY, atr: null };
    return { name, state: counter | K.SCARD_STATE_PRESENT | (s.mute ? K.SCARD_STATE_MUTE : 0), atr: s.atr ?? null };
  }

  module(): PcscModule {
    const fake = this;
    class Context implements PcscContext {
      isValid = true;
      constructor() {
        fake.#fault('context');
        fake.contextsOpen++;
      }
      listReaders(): PcscReader[] {
        this.#check();
        fake.#fault('list');
        return [...fake.slots.keys()].map((name) => fake.reader(name));
      }
      async waitForChange(readers: PcscReaderState[], timeoutMs: number): Promise<PcscReaderState[] | null> {
        this.#check();
        fake.calls.push({ what: 'waitForChange', args: [readers.map((r) => ({ ...r })), timeoutMs] });
        fake.#fault('wait');
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const changed = readers
            .map((r) => ({ known: r.state, now: fake.stateOf(r.name) }))
            .filter(({ known, now }) => known === 0 || (known & ~K.SCARD_STATE_CHANGED) !== now.state);
          if (changed.length > 0) return changed.map(({ now }) => ({ ...now, state: now.state | K.SCARD_STATE_CHANGED }));
          if (Date.now() >= deadline) return [];
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      cancel(): void {}
      close(): void {
        if (this.isValid) fake.contextsOpen--;
        this.isValid = false;
      }
      #check(): void {
        if (!this.isValid) throw new Error('Context is not valid');
      }
    }
    return { Context, ...K };
  }

  reader(name: string): PcscReader {
    const fake = this;
    const st = this.stateOf(name);
    return {
      name,
      state: st.state,
      atr: st.atr ?? null,
      async connect(share?: number, protocol?: number): Promise<PcscCard> {
        fake.calls.push({ what: 'connect', args: [name, share, protocol] });
        fake.#fault('connect');
        const slot = fake.slots.get(name)!;
        if (!slot.card) throw new Error('No smart card present');
        return fake.card(name, slot.card);
      },
    };
  }

  card(name: string, sim: SimulatedCard): PcscCard {
    const fake = this;
    let atr = Buffer.from(sim.powerOn('contact'));
    let connected = true;
    const present = () => fake.slots.get(name)!.card === sim;
    return {
      protocol: K.SCARD_PROTOCOL_T1,
      atr,
      async transmit(command: Uint8Array, options?: { maxRecvLength?: number }): Promise<Uint8Array> {
        fake.calls.push({ what: 'transmit', args: [Buffer.from(command).toString('hex').toUpperCase(), options] });
        if (!connected) throw new Error('Card is not connected');
        fake.#fault('transmit');
        const hang = fake.faults.findIndex((f) => f.what === 'hang');
        if (hang >= 0) {
          fake.faults.splice(hang, 1);
          return new Promise(() => undefined);
        }
        if (!present()) throw new Error('Card was removed');
        const r = Buffer.from(sim.process(Uint8Array.from(command)));
        if (r.length > (options?.maxRecvLength ?? 258)) throw new Error('Insufficient buffer');
        return r;
      },
      getStatus() {
        if (!present()) throw new Error('Card was removed');
        return { state: K.SCARD_STATE_PRESENT, protocol: K.SCARD_PROTOCOL_T1, atr };
      },
      disconnect(disposition?: number): void {
        fake.calls.push({ what: 'disconnect', args: [disposition] });
        connected = false;
      },
      async reconnect(share?: number, protocol?: number, init?: number): Promise<number> {
        fake.calls.push({ what: 'reconnect', args: [share, protocol, init] });
        fake.#fault('reconnect');
        if (init === K.SCARD_UNPOWER_CARD) sim.powerOff();
        atr = Buffer.from(sim.powerOn('contact'));
        return K.SCARD_PROTOCOL_T1;
      },
    };
  }
}
