// What a command handler sees: the parsed command, the card's persistent memory (through the
// file tree and transactions), the volatile session of this power cycle, and the random source.
// One Ctx per card, its command refilled for every APDU (no per-command objects); handlers are
// plain functions (Ctx) => Reply, one module per command family, that keep nothing of it.
import type { CardInterface } from '../card.js';
import { CommandFields } from '../core/apdu.js';
import { CellId, expectCell, type Cell, type CellOf, type Lifecycle } from '../core/cells.js';
import type { Drbg } from '../core/drbg.js';
import type { Store, TransactionWriter } from '../core/store.js';
import type { FsRuntime } from '../fs/runtime.js';
import type { FileTree } from '../fs/tree.js';

const EMPTY = new Uint8Array(0);

/** The command being processed: the APDU's fields plus the secure-messaging split. */
export class Command extends CommandFields {
  /** Secure messaging (CLA b3 = 1: 04, 84): the data field is `body ‖ MAC(4)`. */
  sm = false;
  /** The data field without the MAC. */
  body: Uint8Array = EMPTY;
  mac: Uint8Array | undefined = undefined;
}

/** Volatile state of one power cycle. */
export interface Session {
  readonly iface: CardInterface;
  readonly fs: FsRuntime;
  /** The last GET CHALLENGE answer, until a command uses it up or another replaces it. */
  challenge: Uint8Array | undefined;
  /** T=0: the response waiting for GET RESPONSE, with the status word to end it with. */
  pending: { data: Uint8Array; sw: number } | undefined;
}

export interface CardOptions {
  t0: boolean;
}

export class Ctx {
  /** The session of the current power cycle (set at power-on). */
  session!: Session;

  constructor(
    readonly cmd: Command,
    readonly store: Store<Cell>,
    readonly tree: FileTree,
    readonly drbg: Drbg,
    readonly options: CardOptions,
    readonly trace: (event: string) => void,
  ) {}

  get fs(): FsRuntime {
    return this.session.fs;
  }

  card(): CellOf<'card'> {
    return expectCell(this.store.get(CellId.card), 'card', CellId.card);
  }

  lifecycle(): Lifecycle {
    return this.card().lifecycle;
  }

  tx<T>(label: string, fn: (tx: TransactionWriter<Cell>) => T): T {
    return this.store.transaction(label, fn);
  }

  /** Takes the challenge: a challenge serves one command only (cardsmith choice). */
  takeChallenge(): Uint8Array | undefined {
    const c = this.session.challenge;
    this.session.challenge = undefined;
    return c;
  }
}
