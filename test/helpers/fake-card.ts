// A small SimulatedCard test double for the transport tests: a few ISO 7816-4 commands over two
// files, a seeded GET CHALLENGE, a PIN, and on request T=0 behaviour (case-4 answers come back as
// 61xx + GET RESPONSE, a wrong Le gets 6Cxx) — enough to exercise what transports must hide.
import { concat, equal } from '../../bytes/index.js';
import { parseCommand, type ParsedCommand } from '../../iso7816/index.js';
import type { CardInterface, SimulatedCard } from '../../simulator/card.js';

export const FAKE_AID = Uint8Array.from([0xa0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10]);
export const ATR_T1 = Uint8Array.from([0x3b, 0x80, 0x80, 0x01, 0x01]);
export const ATR_T0 = Uint8Array.from([0x3b, 0x02, 0x14, 0x50]);
export const ATR_CONTACTLESS = Uint8Array.from([0x3b, 0x88, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x77, 0x81, 0x81, 0x00, 0x78]);
export const PIN = Uint8Array.from([0x12, 0x34, 0x56]);

export interface FakeCardOptions {
  t0?: boolean;
  seed?: number;
  /** Size of the transparent EF 0001 (filled with i & 0xff). */
  binarySize?: number;
}

const sw = (v: number): Uint8Array => Uint8Array.of(v >> 8, v & 0xff);

export class FakeCard implements SimulatedCard {
  readonly kind = 'fake';
  readonly t0: boolean;
  binary: Uint8Array;
  records = new Map<number, Uint8Array>([
    [1, Uint8Array.from([0x01, 0x02, 0x03, 0x04])],
    [2, Uint8Array.from([0x05, 0x06])],
  ]);
  /** Every command processed, in order (GET RESPONSE and repeats included). */
  log: Uint8Array[] = [];
  powered: CardInterface | undefined;
  powerOns = 0;
  pinTries = 3;
  #rng: number;
  #selected: 'mf' | 'app' = 'mf';
  #pending: Uint8Array | undefined;
  #pinOk = false;

  constructor(options: FakeCardOptions = {}) {
    this.t0 = options.t0 ?? false;
    this.#rng = (options.seed ?? 1) >>> 0;
    const size = options.binarySize ?? 1024;
    this.binary = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
  }

  powerOn(iface: CardInterface): Uint8Array {
    this.powered = iface;
    this.powerOns++;
    this.#selected = 'mf';
    this.#pending = undefined;
    this.#pinOk = false;
    return iface === 'contactless' ? ATR_CONTACTLESS : this.t0 ? ATR_T0 : ATR_T1;
  }

  powerOff(): void {
    this.powered = undefined;
  }

  process(command: Uint8Array): Uint8Array {
    this.log.push(Uint8Array.from(command));
    let c: ParsedCommand;
    try {
      c = parseCommand(command);
    } catch {
      return sw(0x6700);
    }
    if (c.cla === 0xff) return sw(0x6e00);
    if (c.ins === 0xc0) return this.#getResponse(c);
    this.#pending = undefined;
    const r = this.#dispatch(c);
    // T=0: a case-4 command cannot carry response data back directly.
    if (this.t0 && c.case === 4 && r.length > 2) {
      const data = r.subarray(0, r.length - 2);
      this.#pending = data;
      return sw(0x6100 | (data.length >= 256 ? 0 : data.length));
    }
    return r;
  }

  #getResponse(c: ParsedCommand): Uint8Array {
    const pending = this.#pending;
    if (!pending) return sw(0x6985);
    const le = c.le ?? 256;
    if (le > pending.length) return sw(0x6c00 | (pending.length & 0xff));
    const out = pending.subarray(0, le);
    const rest = pending.subarray(le);
    this.#pending = rest.length > 0 ? rest : undefined;
    return concat(out, sw(rest.length === 0 ? 0x9000 : 0x6100 | (rest.length >= 256 ? 0 : rest.length)));
  }

  /** Case 2 answers: all of `data` when Le fits, else 6Cxx under T=0 or the short read + 9000. */
  #answer(data: Uint8Array, le: number | undefined): Uint8Array {
    const wanted = le ?? 0;
    if (this.t0 && wanted !== data.length && data.length <= 256) return sw(0x6c00 | (data.length & 0xff));
    return concat(data.subarray(0, Math.min(wanted, data.length)), sw(0x9000));
  }

  #dispatch(c: ParsedCommand): Uint8Array {
    switch (c.ins) {
      case 0xa4: {
        if (c.p1 === 0x04) {
          if (!equal(c.data, FAKE_AID)) return sw(0x6a82);
          this.#selected = 'app';
          if (c.p2 === 0x0c) return sw(0x9000);
          return concat(Uint8Array.of(0x6f, FAKE_AID.length + 4, 0x84, FAKE_AID.length), FAKE_AID, Uint8Array.of(0xa5, 0x00), sw(0x9000));
        }
        if (c.p1 === 0x00 && c.data.length === 2) {
          if (c.data[0] === 0x3f && c.data[1] === 0x00) this.#selected = 'mf';
          return sw(0x9000);
        }
        return sw(0x6a86);
      }
      case 0xb0: {
        const off = ((c.p1 & 0x7f) << 8) | c.p2;
        if (off > this.binary.length) return sw(0x6b00);
        return this.#answer(this.binary.subarray(off), c.le);
      }
      case 0xd6: {
        const off = ((c.p1 & 0x7f) << 8) | c.p2;
        if (off + c.data.length > this.binary.length) return sw(0x6700);
        this.binary.set(c.data, off);
        return sw(0x9000);
      }
      case 0xb2: {
        const rec = this.records.get(c.p1);
        if (!rec) return sw(0x6a83);
        return this.#answer(rec, c.le);
      }
      case 0xdc: {
        if (!this.#pinOk) return sw(0x6982);
        this.records.set(c.p1, Uint8Array.from(c.data));
        return sw(0x9000);
      }
      case 0x84: {
        const n = c.le ?? 0;
        if (n !== 4 && n !== 8) return this.t0 ? sw(0x6c08) : sw(0x6700);
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          this.#rng = (Math.imul(this.#rng, 1664525) + 1013904223) >>> 0;
          out[i] = this.#rng >>> 24;
        }
        return concat(out, sw(0x9000));
      }
      case 0x20: {
        if (this.pinTries === 0) return sw(0x6983);
        if (equal(c.data, PIN)) {
          this.pinTries = 3;
          this.#pinOk = true;
          return sw(0x9000);
        }
        this.pinTries--;
        return sw(this.pinTries === 0 ? 0x6983 : 0x63c0 | this.pinTries);
      }
      case 0xca: // GET DATA: echoes P1P2 and the selection, as a case-4-capable command
        return concat(Uint8Array.of(c.p1, c.p2, this.#selected === 'app' ? 1 : 0), c.data, sw(0x9000));
      default:
        return sw(0x6d00);
    }
  }
}
