// The simulated GP card's state, split as a card splits it: what survives power loss (EEPROM:
// life cycle, keys, registry, applet fields, counters, the random source position) and what does
// not (RAM: selection, secure channel session, pending LOAD / personalization / GET STATUS).
// GP Card Specification 2.3.1: the secure channel session, a LOAD in progress and the target of
// INSTALL [for personalization] all end with the session (GP 2.3.1 chapter 10, secure channel termination, and the command sections).
import type { CardInterface } from '../card.js';
import type { Applet } from './applet.js';
import type { KeySet } from './keys.js';
import type { SeededRandom } from './random.js';
import type { Registry } from './registry.js';
import type { CardSession } from './session.js';

export interface CardConfig {
  scp: '02' | '03';
  i: number;
  isdAid: Uint8Array;
  /** CPLC, 42 bytes (GET DATA 9F7F). */
  cplc: Uint8Array;
  /** Bytes available for load files and applet fields. */
  memory: number;
  /** Consecutive failed EXTERNAL AUTHENTICATEs after which INITIALIZE UPDATE answers 6983; 0 = never. */
  authTryLimit: number;
}

export interface PersistentState {
  config: CardConfig;
  lifeCycle: number;
  /** Key diversification data: the first 10 bytes of the INITIALIZE UPDATE response (GET DATA CF). */
  kdd: Uint8Array;
  /** Issuer Identification Number (tag 42) and Card Image Number (tag 45). */
  iin: Uint8Array | undefined;
  cin: Uint8Array | undefined;
  keySets: KeySet[];
  registry: Registry;
  /** Applet fields by instance AID (hex) then field name. */
  storage: Map<string, Map<string, Uint8Array>>;
  authFailures: number;
  rng: SeededRandom;
}

export interface LoadInProgress {
  aid: Uint8Array;
  sd: Uint8Array;
  hash: Uint8Array | undefined;
  nextBlock: number;
  chunks: Uint8Array[];
  size: number;
}

export interface VolatileState {
  powered: boolean;
  cardInterface: CardInterface;
  /** AID of the selected application; the ISD AID when the ISD is selected. */
  selected: Uint8Array;
  session: CardSession | undefined;
  load: LoadInProgress | undefined;
  /** Target of INSTALL [for personalization]. */
  perso: Uint8Array | undefined;
  /** Next STORE DATA block number expected (P2). */
  storeBlock: number;
  /** GET STATUS entries still to send after 6310. */
  statusRemaining: Uint8Array[] | undefined;
  /** Transient applet objects by instance AID (hex). */
  instances: Map<string, Applet>;
}

export function memoryUsed(s: PersistentState): number {
  let n = 0;
  for (const lf of s.registry.loadFiles) if (!lf.builtin) n += lf.size;
  for (const fields of s.storage.values()) for (const [name, v] of fields) n += name.length + v.length;
  return n;
}
