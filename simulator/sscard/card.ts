// The native social-security COS card (ISO/IEC 7816-4, LD/T 32 and the PBOC-style COS): an ISO/IEC 7816-4 file system with
// the PBOC-style proprietary commands and the generation-3 PKI commands, behind the byte-only
// SimulatedCard interface. This module owns power, the command pipeline and the image; the
// commands live one family per module in commands/.
//
// Pipeline of process(): mute unless powered → class byte → instruction → length fields
// (core/apdu.ts, into the one reused Command) → card / application life cycle → handler → Le
// and T=0 rules → the response written once.
import type { CardInterface, SimulatedCard } from '../card.js';
import { buildAtr } from '../core/atr.js';
import { CellId, expectCell, type Cell, type Lifecycle } from '../core/cells.js';
import { Drbg } from '../core/drbg.js';
import { getResponse, shapeReply } from '../core/response.js';
import { PowerCut, Store, type PowerLossEvent, type PowerLossPlan, type StoreSnapshot } from '../core/store.js';
import { SW, SwError, reply, type Reply } from '../core/sw.js';
import { FsRuntime } from '../fs/runtime.js';
import { FileTree } from '../fs/tree.js';
import { Command, Ctx, type CardOptions, type Session } from './context.js';
import { ALLOWED_WHEN_BLOCKED, INS_GET_RESPONSE, handlerFor, refusal } from './dispatch.js';
import { toImage, type CardImage } from './image.js';

/** What process() returns while the card has no power: nothing at all (a mute card). */
export const NO_RESPONSE: Uint8Array = new Uint8Array(0);

/** Largest command data field accepted in the extended form (the card's I/O buffer). */
export const MAX_COMMAND_DATA = 1024;

export interface SsCardState {
  snapshot: StoreSnapshot<Cell>;
  seed: Uint8Array;
  position: number;
  options: CardOptions;
}

const TORN: Cell = Object.freeze({ t: 'torn' });

export class SsCard implements SimulatedCard {
  readonly kind = 'sscard';
  private readonly store: Store<Cell>;
  private readonly tree: FileTree;
  private readonly drbg: Drbg;
  private readonly options: CardOptions;
  private session: Session | undefined;
  private lost = false;
  private lastCut: PowerLossEvent | undefined;
  /**
   * The last command's trace: `traceLength` entries, head and tail pairs (tail '' when none),
   * joined only when read. The array is overwritten, not emptied, from one command to the next.
   */
  private readonly traceLog: string[] = [];
  private traceLength = 0;
  private failures = 0;
  private iface: CardInterface = 'contact';
  private readonly cmd = new Command();
  private readonly ctx: Ctx;
  /** Records a trace event (made once: the store and every command call it). */
  private readonly trace = (head: string, tail?: string): void => {
    this.traceLog[this.traceLength++] = head;
    this.traceLog[this.traceLength++] = tail ?? '';
  };

  constructor(state: SsCardState) {
    this.store = new Store<Cell>(() => TORN, state.snapshot, this.trace);
    this.tree = new FileTree(this.store);
    this.drbg = new Drbg(state.seed, state.position);
    this.options = { ...state.options };
    this.ctx = new Ctx(this.cmd, this.store, this.tree, this.drbg, this.options, this.trace);
  }

  // --- SimulatedCard ---------------------------------------------------------------------------

  powerOn(iface: CardInterface): Uint8Array {
    if (iface !== 'contact' && iface !== 'contactless') throw new RangeError(`simulator: interface must be 'contact' or 'contactless', got ${String(iface)}`);
    this.traceLength = 0;
    // Boot: finish or drop whatever transaction a power cut interrupted (core/store.ts).
    this.store.recover();
    this.lost = false;
    this.iface = iface;
    this.session = { iface, fs: new FsRuntime(), challenge: undefined, pending: undefined };
    this.ctx.session = this.session;
    return this.atr;
  }

  powerOff(): void {
    this.session = undefined;
  }

  process(command: Uint8Array): Uint8Array {
    if (!this.session) return NO_RESPONSE;
    this.traceLength = 0;
    try {
      if (!(command instanceof Uint8Array)) return encode(reply(SW.WRONG_LENGTH));
      return encode(this.run(this.session, command));
    } catch (e) {
      if (e instanceof PowerCut) {
        this.lost = true;
        this.lastCut = e.event;
        this.session = undefined;
        return NO_RESPONSE;
      }
      // A bug, not a card answer: count it (tests assert zero) and answer "no precise diagnosis".
      this.failures++;
      this.trace(`internal error: ${e instanceof Error ? e.name : typeof e}`);
      return encode(reply(SW.NO_PRECISE_DIAGNOSIS));
    }
  }

  // --- extras ----------------------------------------------------------------------------------

  /** The ATR of the interface the card was last powered on (contact before the first power-on). */
  get atr(): Uint8Array {
    return buildAtr({ iface: this.iface, t0: this.options.t0, chipId: this.cardCell().chipId });
  }

  atrFor(iface: CardInterface): Uint8Array {
    return buildAtr({ iface, t0: this.options.t0, chipId: this.cardCell().chipId });
  }

  get powered(): boolean {
    return this.session !== undefined;
  }

  /**
   * True after an injected power cut until the next powerOn(): the card is unpowered and
   * process() answers NO_RESPONSE. A bridge reads this to tell "card removed" from an answer.
   */
  get powerLost(): boolean {
    return this.lost;
  }

  get lastPowerLoss(): PowerLossEvent | undefined {
    return this.lastCut;
  }

  /**
   * Cuts the power at the `atWrite`-th persistent write from now, counting across the next
   * commands (1 = the next write), before, during or after that write. See core/store.ts for
   * what a write is and what survives.
   */
  injectPowerLoss(plan: PowerLossPlan): void {
    this.store.armPowerLoss(plan);
  }

  cancelPowerLoss(): void {
    this.store.disarmPowerLoss();
  }

  /** Persistent writes since this card object was made; a test counts a command's writes with it. */
  get writeCount(): number {
    return this.store.writeCount;
  }

  get lifecycle(): Lifecycle {
    return this.cardCell().lifecycle;
  }

  /** Internal steps of the last command (transactions, writes, secret comparisons): names only. */
  get lastTrace(): readonly string[] {
    const out: string[] = [];
    for (let i = 0; i < this.traceLength; i += 2) {
      const tail = this.traceLog[i + 1]!;
      out.push(tail === '' ? this.traceLog[i]! : `${this.traceLog[i]!} ${tail}`);
    }
    return out;
  }

  /** Commands that hit a simulator bug (answered 6F00). Zero in a healthy run. */
  get internalErrors(): number {
    return this.failures;
  }

  /** Security status entries held now, e.g. `pin/5/1` (for tests; no secrets). */
  securityStatus(): string[] {
    return this.session?.fs.entries() ?? [];
  }

  toImage(): CardImage {
    return toImage({ t0: this.options.t0, seed: this.drbg.seedCopy, position: this.drbg.position, snapshot: this.store.snapshot() });
  }

  // --- pipeline --------------------------------------------------------------------------------

  private cardCell() {
    return expectCell(this.store.get(CellId.card), 'card', CellId.card);
  }

  private run(session: Session, bytes: Uint8Array): Reply {
    try {
      return this.runChecked(session, bytes);
    } catch (e) {
      if (e instanceof SwError) return reply(e.sw);
      throw e;
    }
  }

  private runChecked(session: Session, bytes: Uint8Array): Reply {
    if (bytes.length < 4) return reply(SW.WRONG_LENGTH);
    const cla = bytes[0]!;
    const ins = bytes[1]!;
    const handler = handlerFor(cla, ins);
    if (handler === undefined) return reply(refusal(cla, ins));

    const cmd = this.cmd;
    if (!cmd.read(bytes)) return reply(SW.WRONG_LENGTH);
    const nc = cmd.data.length;
    if (cmd.extended && (this.options.t0 || nc > MAX_COMMAND_DATA)) return reply(SW.WRONG_LENGTH);
    const sm = (cla & 0x04) !== 0;
    if (sm && (cmd.extended || nc < 4)) return reply(SW.WRONG_LENGTH);
    cmd.sm = sm;
    cmd.body = sm ? cmd.data.slice(0, -4) : cmd.data;
    cmd.mac = sm ? cmd.data.slice(-4) : undefined;

    if (this.cardCell().lifecycle === 'blocked') return reply(SW.FUNCTION_NOT_SUPPORTED);
    if (ins === INS_GET_RESPONSE) {
      const r = getResponse(session.pending, cmd.p1, cmd.p2, nc, cmd.ne);
      session.pending = r.pending;
      return r.reply;
    }
    session.pending = undefined;

    if (this.tree.effectiveState(session.fs.currentDf) !== 'active' && !ALLOWED_WHEN_BLOCKED.has(ins)) {
      return reply(SW.FUNCTION_NOT_SUPPORTED);
    }

    let r: Reply;
    try {
      r = handler(this.ctx);
    } catch (e) {
      if (!(e instanceof SwError)) throw e;
      r = reply(e.sw);
    }
    return shapeReply(r, nc, cmd.ne, this.options.t0, session);
  }
}

function encode(r: Reply): Uint8Array {
  const out = new Uint8Array(r.data.length + 2);
  out.set(r.data);
  out[r.data.length] = r.sw >> 8;
  out[r.data.length + 1] = r.sw & 0xff;
  return out;
}
