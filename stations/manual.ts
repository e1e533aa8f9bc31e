// The `manual` card mover: a desk reader and an operator. load() asks for a blank card and waits
// until the reader has one; eject() and reject() ask the operator to take the card out (onto the
// issued pile, or the reject pile with the reason) and wait until the reader is empty. Every wait
// is bounded (waitMs) and can be aborted. Reader events come through a small interface so tests
// drive them (ScriptedReaderEvents); PcscReaderEvents watches a PC/SC reader.
import { listReaders, resolveReaderName, waitForReader, type PcscBaseOptions } from '../transport/pcsc.js';
import { MoverError } from './errors.js';
import type { CardInterface, CardMover, MoverStatus } from './mover.js';

export interface WaitFor {
  /** Most time to wait (ms). */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface ReaderEvents {
  readonly reader: string;
  cardPresent(): Promise<boolean>;
  /** Resolves once the reader has a card ('present') or none ('empty'). */
  waitFor(want: 'present' | 'empty', options: WaitFor): Promise<void>;
}

function aborted(signal: AbortSignal | undefined, reader: string): Error | undefined {
  return signal?.aborted ? new MoverError(`${reader}: waiting for the operator was cancelled`) : undefined;
}

/** Reader events driven by a test (or a UI): insert() and remove() a card. */
export class ScriptedReaderEvents implements ReaderEvents {
  #present = false;
  #waiters = new Set<{ want: 'present' | 'empty'; done: () => void }>();

  constructor(readonly reader = 'scripted reader') {}

  insert(): void {
    this.#set(true);
  }
  remove(): void {
    this.#set(false);
  }

  async cardPresent(): Promise<boolean> {
    return this.#present;
  }

  waitFor(want: 'present' | 'empty', options: WaitFor): Promise<void> {
    const early = aborted(options.signal, this.reader);
    if (early) return Promise.reject(early);
    if (this.#present === (want === 'present')) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = {
        want,
        done: () => {
          cleanup();
          resolve();
        },
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new MoverError(`${this.reader}: no card ${want === 'present' ? 'was inserted' : 'was removed'} within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      const onAbort = () => {
        cleanup();
        reject(aborted(options.signal, this.reader)!);
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(w);
        options.signal?.removeEventListener('abort', onAbort);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(w);
    });
  }

  #set(present: boolean): void {
    this.#present = present;
    for (const w of [...this.#waiters]) if ((w.want === 'present') === present) w.done();
  }
}

/** Reader events of a PC/SC reader (pcscd), waited for in slices so that an abort is noticed. */
export class PcscReaderEvents implements ReaderEvents {
  constructor(
    readonly reader: string,
    private readonly options: PcscBaseOptions & { sliceMs?: number } = {},
  ) {}

  async cardPresent(): Promise<boolean> {
    const readers = await listReaders(this.options);
    const name = resolveReaderName(this.reader, readers.map((r) => r.name));
    return readers.find((r) => r.name === name)?.cardPresent ?? false;
  }

  async waitFor(want: 'present' | 'empty', options: WaitFor): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    const slice = this.options.sliceMs ?? 1000;
    for (;;) {
      const stop = aborted(options.signal, this.reader);
      if (stop) throw stop;
      const left = deadline - Date.now();
      if (left <= 0) throw new MoverError(`${this.reader}: no card ${want === 'present' ? 'was inserted' : 'was removed'} within ${options.timeoutMs} ms`);
      try {
        await waitForReader(this.reader, want, { ...this.options, timeoutMs: Math.min(slice, left) });
        return;
      } catch (e) {
        // waitForReader's own timeout ("no card after N ms" / "still in the reader after N ms"): next slice.
        if (!(e instanceof Error) || !/after \d+ ms/.test(e.message)) throw e;
      }
    }
  }
}

export interface ManualMoverOptions {
  name?: string;
  events: ReaderEvents;
  /** Tells the operator what to do (default: nothing; the CLI prints it). */
  prompt?: (message: string) => void;
  /** Bound on each wait for the operator (default 10 minutes). */
  waitMs?: number;
}

export class ManualMover implements CardMover {
  readonly kind = 'manual';
  readonly canPrint = false;
  readonly name: string;
  #events: ReaderEvents;
  #prompt: (message: string) => void;
  #waitMs: number;

  constructor(options: ManualMoverOptions) {
    this.#events = options.events;
    this.name = options.name ?? options.events.reader;
    this.#prompt = options.prompt ?? (() => {});
    this.#waitMs = options.waitMs ?? 600_000;
  }

  async load(_iface: CardInterface, signal?: AbortSignal): Promise<void> {
    if (await this.#events.cardPresent()) return; // a card is already there (e.g. kept after recovery)
    this.#prompt(`${this.name}: insert a blank card into ${this.#events.reader}`);
    await this.#events.waitFor('present', { timeoutMs: this.#waitMs, ...(signal ? { signal } : {}) });
  }

  async print(): Promise<boolean> {
    return false;
  }

  async eject(signal?: AbortSignal): Promise<void> {
    this.#prompt(`${this.name}: card done — take it out of ${this.#events.reader} and put it on the ISSUED pile`);
    await this.#events.waitFor('empty', { timeoutMs: this.#waitMs, ...(signal ? { signal } : {}) });
  }

  async reject(reason: string, signal?: AbortSignal): Promise<void> {
    this.#prompt(`${this.name}: card failed (${reason}) — take it out of ${this.#events.reader} and put it on the REJECT pile`);
    await this.#events.waitFor('empty', { timeoutMs: this.#waitMs, ...(signal ? { signal } : {}) });
  }

  async reset(): Promise<void> {}

  async status(): Promise<MoverStatus> {
    const present = await this.#events.cardPresent();
    return { ready: true, card: present ? 'contact' : 'none', detail: `${this.name}: ${present ? 'a card is in the reader' : 'reader empty'}` };
  }

  async close(): Promise<void> {}
}
