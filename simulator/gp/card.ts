// The simulated GlobalPlatform card as the outside world sees it (simulator/card.ts): ATR, power,
// APDU framing and class byte (ISO/IEC 7816-4 §5.1 and §5.4.1), application selection by AID with
// partial matching and the card life cycle rules for it (GP Card Specification 2.3.1, SELECT), the
// secure messaging layer of the ISD (GP 2.2 Appendix E / Amendment D: which commands must be
// wrapped, when a session ends) and routing of everything else to the selected applet.
// process() never throws: every failure becomes a status word.
import { toHex } from '../../bytes/index.js';
import type { CardInterface, SimulatedCard } from '../card.js';
import { CommandFields } from '../core/apdu.js';
import { AppletException, INERT_APPLET, MapStorage, type Applet, type AppletContext, type AppletModel, type AppletModelEntry } from './applet.js';
import { IssuerSecurityDomain, type IsdHost } from './isd.js';
import { CARD_LIFE_CYCLE, findApp, isSelectable, type AppEntry } from './registry.js';
import type { RandomSource } from './random.js';
import { LEVEL_CMAC, type CardCommand, type CardSession } from './session.js';
import type { PersistentState, VolatileState } from './state.js';
import { CardError, encode, respond, sameAid, startsWith, SW, type CardResponse } from './util.js';

/** Historical bytes: category 80, COMPACT-TLV tag 5 (card issuer's data) "cardsmith-GP". */
const HISTORICAL = Uint8Array.of(0x80, 0x5c, ...new TextEncoder().encode('cardsmith-GP'));

function withTck(bytes: number[]): Uint8Array {
  let x = 0;
  for (const b of bytes.slice(1)) x ^= b;
  return Uint8Array.from([...bytes, x]);
}

/** Contact: TA1 13, T=1 with IFSC FE, BWI/CWI 45. Contactless: the ATR PC/SC builds from an ISO 14443-4 ATS. */
export const ATR_CONTACT = withTck([0x3b, 0x90 | HISTORICAL.length, 0x13, 0x81, 0x31, 0xfe, 0x45, ...HISTORICAL]);
export const ATR_CONTACTLESS = withTck([0x3b, 0x80 | HISTORICAL.length, 0x80, 0x01, ...HISTORICAL]);

const INS = {
  SELECT: 0xa4,
  MANAGE_CHANNEL: 0x70,
  INITIALIZE_UPDATE: 0x50,
  EXTERNAL_AUTHENTICATE: 0x82,
  GET_DATA: 0xca,
  GET_STATUS: 0xf2,
  INSTALL: 0xe6,
  LOAD: 0xe8,
  DELETE: 0xe4,
  PUT_KEY: 0xd8,
  SET_STATUS: 0xf0,
  STORE_DATA: 0xe2,
} as const;

/** The GP commands that need the proprietary class (CLA 80/84). */
const GP_PROPRIETARY = new Set<number>([INS.GET_STATUS, INS.INSTALL, INS.LOAD, INS.DELETE, INS.PUT_KEY, INS.SET_STATUS, INS.STORE_DATA]);

export class GpCard implements SimulatedCard {
  readonly kind = 'gp';
  /** Exceptions other than CardError / AppletException caught by process(): a bug in the card or an applet model. */
  internalErrors = 0;

  /** RAM: selection, session, pending sequences (inspection only; process() is the way in). */
  readonly vol: VolatileState;
  private readonly isd: IssuerSecurityDomain;
  /** The APDU's fields, read into the same object for every command. */
  private readonly fields = new CommandFields();
  private readonly models: readonly AppletModelEntry[];

  constructor(
    /** Non-volatile memory (inspection only; saveGpCardImage() gives it as JSON). */
    readonly state: PersistentState,
    models: readonly AppletModelEntry[],
    private readonly randomOverride: RandomSource | undefined,
  ) {
    this.models = models;
    this.vol = {
      powered: false,
      cardInterface: 'contact',
      selected: state.config.isdAid,
      session: undefined,
      load: undefined,
      perso: undefined,
      storeBlock: 0,
      statusRemaining: undefined,
      instances: new Map(),
    };
    const host: IsdHost = {
      state: this.state,
      vol: this.vol,
      random: (n) => this.random(n),
      closeSession: () => this.closeSession(),
      modelFor: (lf, m) => this.modelFor(lf, m),
      appletContext: (aid) => this.appletContext(aid),
      instance: (app) => this.instance(app),
      dropInstance: (aid) => this.dropInstance(aid),
    };
    this.isd = new IssuerSecurityDomain(host);
  }

  powerOn(iface: CardInterface): Uint8Array {
    this.resetVolatile();
    this.vol.powered = true;
    this.vol.cardInterface = iface;
    return Uint8Array.from(iface === 'contactless' ? ATR_CONTACTLESS : ATR_CONTACT);
  }

  powerOff(): void {
    this.resetVolatile();
    this.vol.powered = false;
  }

  /** RAM is lost: no selection but the ISD (it has the Card Reset privilege), no session, no transient applet objects. */
  private resetVolatile(): void {
    this.closeSession();
    this.vol.selected = this.state.config.isdAid;
    this.vol.instances.clear();
  }

  private random(n: number): Uint8Array {
    return this.randomOverride ? this.randomOverride(n) : this.state.rng.bytes(n);
  }

  /** Ends the secure channel session and everything bound to it (LOAD, personalization, STORE DATA and GET STATUS sequences). */
  private closeSession(): void {
    this.vol.session = undefined;
    this.vol.load = undefined;
    this.vol.perso = undefined;
    this.vol.storeBlock = 0;
    this.vol.statusRemaining = undefined;
  }

  process(command: Uint8Array): Uint8Array {
    try {
      return encode(this.dispatch(command));
    } catch (e) {
      if (e instanceof CardError) return encode(respond(undefined, e.sw));
      this.internalErrors++;
      return encode(respond(undefined, SW.NO_DIAGNOSIS));
    }
  }

  private dispatch(bytes: Uint8Array): CardResponse {
    if (!(bytes instanceof Uint8Array) || bytes.length < 4) return respond(undefined, SW.WRONG_LENGTH);
    // A card without power would be mute; the simulator says "no precise diagnosis" instead.
    if (!this.vol.powered) return respond(undefined, SW.NO_DIAGNOSIS);
    const f = this.fields;
    if (!f.read(bytes)) return respond(undefined, SW.WRONG_LENGTH);
    const c: CardCommand = { cla: f.cla, ins: f.ins, p1: f.p1, p2: f.p2, data: f.data, le: f.ne, extended: f.extended };
    const classProblem = checkClass(c.cla);
    if (classProblem !== undefined) return respond(undefined, classProblem);
    // INS 6X and 9X are invalid in every class (ISO/IEC 7816-3 procedure bytes).
    if ((c.ins & 0xf0) === 0x60 || (c.ins & 0xf0) === 0x90) return respond(undefined, SW.INS_NOT_SUPPORTED);
    if (c.ins === INS.MANAGE_CHANNEL) return respond(undefined, SW.CHANNEL_NOT_SUPPORTED);

    const lc = this.state.lifeCycle;
    if (lc === CARD_LIFE_CYCLE.TERMINATED && c.ins !== INS.GET_DATA) return respond(undefined, SW.FUNCTION_NOT_SUPPORTED);

    if (c.ins === INS.SELECT && c.p1 === 0x04) {
      if (c.cla !== 0x00) return respond(undefined, (c.cla & 0x80) !== 0 ? SW.CLA_NOT_SUPPORTED : 0x6882);
      return this.select(c);
    }
    if (sameAid(this.vol.selected, this.state.config.isdAid)) return this.processIsd(c);
    const app = findApp(this.state.registry, this.vol.selected);
    if (!app) {
      // The selected application was deleted under us (cannot happen through the ISD, which is
      // selected while it deletes); fall back to the ISD.
      this.vol.selected = this.state.config.isdAid;
      return this.processIsd(c);
    }
    return this.processApplet(app, c);
  }

  // --- selection --------------------------------------------------------------------------

  private select(c: CardCommand): CardResponse {
    const next = (c.p2 & 0x03) === 0x02;
    const noData = (c.p2 & 0x0c) === 0x0c;
    if ((c.p2 & 0x03) !== 0x00 && !next) return respond(undefined, SW.WRONG_P1P2);
    if ((c.p2 & 0x0c) !== 0x00 && !noData) return respond(undefined, SW.WRONG_P1P2);
    if ((c.p2 & 0xf0) !== 0) return respond(undefined, SW.WRONG_P1P2);
    if (c.data.length > 16) return respond(undefined, SW.WRONG_LENGTH);
    const isdAid = this.state.config.isdAid;
    const locked = this.state.lifeCycle === CARD_LIFE_CYCLE.CARD_LOCKED;

    let target: Uint8Array | undefined;
    if (c.data.length === 0) {
      // GP: SELECT without an AID selects the ISD; "next occurrence" of nothing is nothing.
      target = next ? undefined : isdAid;
    } else {
      const candidates: Uint8Array[] = [isdAid, ...this.state.registry.apps.filter(isSelectable).map((a) => a.aid)];
      const matches = candidates.filter((aid) => startsWith(aid, c.data));
      if (next) {
        const at = matches.findIndex((aid) => sameAid(aid, this.vol.selected));
        target = at >= 0 ? matches[at + 1] : matches[0];
      } else {
        target = matches[0];
      }
    }
    if (!target) return respond(undefined, SW.NOT_FOUND);
    if (locked && !sameAid(target, isdAid)) return respond(undefined, SW.FUNCTION_NOT_SUPPORTED);

    // Selecting (even the same application again) deselects the current one and ends its session.
    this.deselectCurrent();
    this.closeSession();
    if (sameAid(target, isdAid)) {
      this.vol.selected = isdAid;
      const warning = locked ? SW.CARD_LOCKED_WARNING : SW.OK;
      return respond(noData ? undefined : this.isd.fci(), warning);
    }
    const app = findApp(this.state.registry, target)!;
    this.vol.selected = isdAid;
    const applet = this.instance(app);
    const ctx = this.appletContext(app.aid);
    let accepted: boolean;
    try {
      accepted = applet.select ? applet.select(ctx) : true;
    } catch (e) {
      if (e instanceof AppletException) return respond(undefined, SW.SELECT_FAILED);
      throw e;
    }
    if (!accepted) return respond(undefined, SW.SELECT_FAILED);
    this.vol.selected = app.aid;
    return this.runApplet(applet, ctx, c);
  }

  private deselectCurrent(): void {
    if (sameAid(this.vol.selected, this.state.config.isdAid)) return;
    const app = findApp(this.state.registry, this.vol.selected);
    const applet = app ? this.vol.instances.get(toHex(app.aid)) : undefined;
    if (app && applet?.deselect) {
      try {
        applet.deselect(this.appletContext(app.aid));
      } catch (e) {
        if (!(e instanceof AppletException)) this.internalErrors++;
      }
    }
    this.vol.selected = this.state.config.isdAid;
  }

  // --- the ISD and its secure messaging ---------------------------------------------------

  private processIsd(c: CardCommand): CardResponse {
    const isd = this.isd;
    if (c.ins === INS.INITIALIZE_UPDATE) {
      if (c.cla !== 0x80) return respond(undefined, SW.CLA_NOT_SUPPORTED);
      return isd.initializeUpdate(c);
    }
    if (c.ins === INS.EXTERNAL_AUTHENTICATE) {
      if (c.cla !== 0x84) {
        this.closeSession();
        return respond(undefined, SW.CLA_NOT_SUPPORTED);
      }
      return isd.externalAuthenticate(c);
    }
    // GP: anything else between INITIALIZE UPDATE and EXTERNAL AUTHENTICATE aborts the initiation.
    if (this.vol.session?.state === 'initiated') this.closeSession();

    const session = this.vol.session;
    let plain = c;
    let wrapper: CardSession | undefined;
    if ((c.cla & 0x04) !== 0) {
      if (!session) return respond(undefined, SW.SECURITY_STATUS);
      try {
        plain = session.unwrap(c);
      } catch (e) {
        this.closeSession();
        if (e instanceof CardError) return respond(undefined, SW.SECURITY_STATUS);
        throw e;
      }
      wrapper = session;
    } else if ((c.cla & 0x80) !== 0 && session && (session.level & LEVEL_CMAC) !== 0) {
      // A proprietary command without its C-MAC while the session requires one.
      this.closeSession();
      return respond(undefined, SW.SECURITY_STATUS);
    }

    let response: CardResponse;
    try {
      response = this.isdCommand(plain);
    } catch (e) {
      if (!(e instanceof CardError)) throw e;
      response = respond(undefined, e.sw);
    }
    if (wrapper) response = wrapper.wrap(plain, response);
    if (this.state.lifeCycle === CARD_LIFE_CYCLE.TERMINATED) {
      this.closeSession();
      this.vol.instances.clear();
    }
    return response;
  }

  private isdCommand(c: CardCommand): CardResponse {
    const isd = this.isd;
    if (c.ins === INS.GET_DATA) {
      if (c.cla !== 0x00 && c.cla !== 0x80) return respond(undefined, SW.CLA_NOT_SUPPORTED);
      return isd.getData(c);
    }
    // SELECT by file identifier or path: the ISD has no file system.
    if (c.ins === INS.SELECT) return respond(undefined, SW.WRONG_P1P2);
    if (!GP_PROPRIETARY.has(c.ins)) return respond(undefined, SW.INS_NOT_SUPPORTED);
    if (c.cla !== 0x80) return respond(undefined, SW.CLA_NOT_SUPPORTED);
    switch (c.ins) {
      case INS.GET_STATUS:
        return isd.getStatus(c);
      case INS.INSTALL:
        return isd.install(c);
      case INS.LOAD:
        return isd.load(c);
      case INS.DELETE:
        return isd.delete(c);
      case INS.PUT_KEY:
        return isd.putKey(c);
      case INS.SET_STATUS:
        return isd.setStatus(c);
      default:
        return isd.storeData(c);
    }
  }

  // --- applets ----------------------------------------------------------------------------

  private processApplet(app: AppEntry, c: CardCommand): CardResponse {
    const applet = this.instance(app);
    return this.runApplet(applet, this.appletContext(app.aid), c);
  }

  private runApplet(applet: Applet, ctx: AppletContext, c: CardCommand): CardResponse {
    try {
      const out = applet.process({ cla: c.cla, ins: c.ins, p1: c.p1, p2: c.p2, data: c.data, le: c.le }, ctx);
      const sw = out.sw ?? SW.OK;
      if (!Number.isInteger(sw) || sw < 0x6100 || sw > 0x9fff || (sw >= 0x7000 && sw < 0x9000)) {
        this.internalErrors++;
        return respond(undefined, SW.NO_DIAGNOSIS);
      }
      return respond(out.data ?? undefined, sw);
    } catch (e) {
      if (e instanceof AppletException) return respond(undefined, e.sw);
      this.internalErrors++;
      return respond(undefined, SW.NO_DIAGNOSIS);
    }
  }

  private modelFor(loadFile: Uint8Array, module: Uint8Array): AppletModel {
    const entry = this.models.find((m) => sameAid(m.moduleAid, module) && (!m.packageAid || sameAid(m.packageAid, loadFile)));
    return entry?.model ?? INERT_APPLET;
  }

  private appletContext(aid: Uint8Array): AppletContext {
    const key = toHex(aid);
    let fields = this.state.storage.get(key);
    if (!fields) {
      fields = new Map();
      this.state.storage.set(key, fields);
    }
    return {
      aid: Uint8Array.from(aid),
      storage: new MapStorage(fields),
      cardInterface: this.vol.cardInterface,
      random: (n) => this.random(n),
    };
  }

  private instance(app: AppEntry): Applet {
    const key = toHex(app.aid);
    let applet = this.vol.instances.get(key);
    if (!applet) {
      applet = this.modelFor(app.loadFile, app.module).create(this.appletContext(app.aid));
      this.vol.instances.set(key, applet);
    }
    return applet;
  }

  private dropInstance(aid: Uint8Array): void {
    const key = toHex(aid);
    this.vol.instances.delete(key);
    this.state.storage.delete(key);
  }
}

/**
 * ISO/IEC 7816-4 §5.4.1 class byte: 0X (interindustry) and 8X (GP proprietary, same coding) are
 * served on the basic channel only; b5 is command chaining; b4-b3 = 01 is GP secure messaging,
 * 10 / 11 ISO secure messaging, which this card does not speak.
 */
function checkClass(cla: number): number | undefined {
  if (cla === 0xff) return SW.CLA_NOT_SUPPORTED;
  const family = cla & 0xe0;
  if (family === 0x40 || family === 0x60 || family === 0xc0 || family === 0xe0) return SW.CHANNEL_NOT_SUPPORTED;
  if (family !== 0x00 && family !== 0x80) return SW.CLA_NOT_SUPPORTED;
  if ((cla & 0x10) !== 0) return SW.CHAINING_NOT_SUPPORTED;
  if ((cla & 0x03) !== 0) return SW.CHANNEL_NOT_SUPPORTED;
  if ((cla & 0x08) !== 0) return 0x6882;
  return undefined;
}
