// The Issuer Security Domain's commands, GlobalPlatform Card Specification 2.3.1 chapter 11:
// INITIALIZE UPDATE / EXTERNAL AUTHENTICATE (with SCP02 per GP 2.2 Appendix E and SCP03 per
// Amendment D), GET DATA (§11.3), GET STATUS (§11.4), INSTALL (§11.5), LOAD (§11.6),
// DELETE (§11.2), PUT KEY (§11.8), SET STATUS (§11.10) and STORE DATA (§11.11; EMV CPS 1.1 for
// the DGI format). Each handler validates everything before it changes state, so a refused
// command leaves the card as it was; refusals are CardError(SW).
import { concat, fromHex } from '../../bytes/index.js';
import { hash } from '../../crypto/index.js';
import { buildTlv, parseDgis, parseTlv, type TlvNode } from '../../iso7816/index.js';
import { AppletException, type AppletContext, type AppletModel, type PersonalizationContext } from './applet.js';
import type { Applet } from './applet.js';
import { parseLoadFile } from './cap.js';
import { channelKeys, keyInformationTemplate, parsePutKey, putKeyResponse, type CardKey, type KeySet } from './keys.js';
import {
  APP_LIFE_CYCLE,
  CARD_LIFE_CYCLE,
  findApp,
  findLoadFile,
  isLocked,
  isSd,
  isSelectable,
  PRIV,
  statusEntries,
  type AppEntry,
  type LoadFileEntry,
} from './registry.js';
import { Scp02Session } from './scp02.js';
import { Scp03Session } from './scp03.js';
import type { CardCommand, CardSession } from './session.js';
import { memoryUsed, type PersistentState, type VolatileState } from './state.js';
import { aidHex, be, CardError, fail, FieldReader, isAidLength, respond, sameAid, SW, type CardResponse } from './util.js';

interface Victims {
  apps: Set<AppEntry>;
  loadFiles: Set<LoadFileEntry>;
}

/** What the ISD needs from the card around it. */
export interface IsdHost {
  readonly state: PersistentState;
  readonly vol: VolatileState;
  random(length: number): Uint8Array;
  closeSession(): void;
  modelFor(loadFile: Uint8Array, module: Uint8Array): AppletModel;
  appletContext(aid: Uint8Array): AppletContext;
  instance(app: AppEntry): Applet;
  /** Removes an instance's transient object and persistent fields. */
  dropInstance(aid: Uint8Array): void;
}

/** GET STATUS answers at most this many bytes per response, so R-ENC padding and a 16-byte R-MAC still fit in 256. */
export const STATUS_CHUNK = 239;
const GP_OID = fromHex('2A864886FC6B');
/** Java Card 3 platform OID 1.3.6.1.4.1.42.2.110.1.3 for the card/chip details (tag 66 inside 73). */
const JAVA_CARD_OID = fromHex('2B060104012A026E0103');

function u(n: number): Uint8Array {
  return Uint8Array.of(n);
}

/** Card Recognition Data, the 73 template (GP 2.3.1 Card Recognition Data): GP 2.3.1, SCP and i, Java Card 3. */
export function cardRecognitionData(scp: '02' | '03', i: number): Uint8Array {
  return buildTlv(0x73, [
    buildTlv(0x06, concat(GP_OID, u(0x01))),
    buildTlv(0x60, [buildTlv(0x06, concat(GP_OID, Uint8Array.of(0x02, 0x02, 0x03, 0x01)))]),
    buildTlv(0x63, [buildTlv(0x06, concat(GP_OID, u(0x03)))]),
    buildTlv(0x64, [buildTlv(0x06, concat(GP_OID, Uint8Array.of(0x04, scp === '02' ? 0x02 : 0x03, i)))]),
    buildTlv(0x66, [buildTlv(0x06, JAVA_CARD_OID)]),
  ]);
}

export class IssuerSecurityDomain {
  constructor(private readonly host: IsdHost) {}

  private get s(): PersistentState {
    return this.host.state;
  }

  private get v(): VolatileState {
    return this.host.vol;
  }

  /** SELECT response of the ISD (GP 2.3.1 SELECT response): 6F { 84 AID, A5 { 73 card recognition data, 9F65 max command data } }. */
  fci(): Uint8Array {
    const c = this.s.config;
    return buildTlv(0x6f, [buildTlv(0x84, c.isdAid), buildTlv(0xa5, [cardRecognitionData(c.scp, c.i), buildTlv(0x9f65, u(0xff))])]);
  }

  private authenticated(): CardSession {
    const session = this.v.session;
    if (!session || session.state !== 'authenticated') fail(SW.SECURITY_STATUS, 'no authenticated secure channel');
    return session;
  }

  private requireUnlocked(): void {
    if (this.s.lifeCycle === CARD_LIFE_CYCLE.CARD_LOCKED) fail(SW.CONDITIONS, 'card is locked');
  }

  private defaultKeySet(): KeySet | undefined {
    const alg = this.s.config.scp === '02' ? 'des3' : 'aes';
    return this.s.keySets.find((set) => channelKeys(set)?.alg === alg);
  }

  // --- secure channel ---------------------------------------------------------------------

  initializeUpdate(c: CardCommand): CardResponse {
    this.host.closeSession();
    const cfg = this.s.config;
    if (cfg.authTryLimit > 0 && this.s.authFailures >= cfg.authTryLimit) fail(SW.AUTH_BLOCKED, 'too many failed authentications');
    if (c.p2 !== 0x00) fail(SW.WRONG_P1P2, 'INITIALIZE UPDATE P2 must be 00');
    const set = c.p1 === 0x00 ? this.defaultKeySet() : this.s.keySets.find((k) => k.version === c.p1);
    const keys = set ? channelKeys(set) : undefined;
    const alg = cfg.scp === '02' ? 'des3' : 'aes';
    if (!set || !keys || keys.alg !== alg) fail(SW.REF_NOT_FOUND, 'no usable key set with that version');
    const n = cfg.scp === '03' && (cfg.i & 0x01) !== 0 ? 16 : 8;
    if (c.data.length !== n) fail(SW.WRONG_LENGTH, `host challenge must be ${n} bytes`);
    const max = cfg.scp === '02' ? 0xffff : 0xffffff;
    if (set.counter > max) fail(SW.CONDITIONS, 'sequence counter exhausted');
    const params = {
      i: cfg.i,
      keys: keys.keys,
      keyVersion: set.version,
      counter: set.counter,
      kdd: this.s.kdd,
      sdAid: cfg.isdAid,
      hostChallenge: c.data,
      random: (len: number) => this.host.random(len),
    };
    const session = cfg.scp === '02' ? new Scp02Session(params) : new Scp03Session(params);
    // The counter moves on at every INITIALIZE UPDATE, so no two responses share a counter value
    // (a pseudo-random card challenge would otherwise repeat after an aborted session).
    set.counter++;
    this.v.session = session;
    return respond(session.initializeUpdateResponse);
  }

  externalAuthenticate(c: CardCommand): CardResponse {
    const session = this.v.session;
    if (!session || session.state !== 'initiated') fail(SW.CONDITIONS, 'EXTERNAL AUTHENTICATE without INITIALIZE UPDATE');
    try {
      session.externalAuthenticate(c);
    } catch (e) {
      this.host.closeSession();
      // Only a failed proof of the keys counts towards the try limit, not a malformed command.
      if (e instanceof CardError && (e.sw === SW.AUTH_FAILED || e.sw === SW.SECURITY_STATUS)) this.s.authFailures++;
      throw e;
    }
    this.s.authFailures = 0;
    return respond();
  }

  // --- GET DATA ---------------------------------------------------------------------------

  getData(c: CardCommand): CardResponse {
    const s = this.s;
    switch ((c.p1 << 8) | c.p2) {
      case 0x9f7f:
        return respond(buildTlv(0x9f7f, s.config.cplc));
      case 0x0066:
        return respond(buildTlv(0x66, [cardRecognitionData(s.config.scp, s.config.i)]));
      case 0x00e0:
        return respond(keyInformationTemplate(s.keySets));
      case 0x0042:
        if (!s.iin) fail(SW.REF_NOT_FOUND, 'no IIN');
        return respond(buildTlv(0x42, s.iin));
      case 0x0045:
        if (!s.cin) fail(SW.REF_NOT_FOUND, 'no CIN');
        return respond(buildTlv(0x45, s.cin));
      case 0x00c1: {
        const set = this.defaultKeySet();
        if (!set) fail(SW.REF_NOT_FOUND, 'no key set');
        const width = s.config.scp === '02' ? 2 : 3;
        // An exhausted counter (one past the top) shows as the top value.
        return respond(buildTlv(0xc1, be(Math.min(set.counter, 2 ** (8 * width) - 1), width)));
      }
      case 0x00cf:
        return respond(buildTlv(0xcf, s.kdd));
      case 0xff21: {
        // Extended Card Resources Information (GP 2.3.1 tag FF21): installed applications, free
        // non-volatile memory, free volatile memory.
        const free = Math.max(0, s.config.memory - memoryUsed(s));
        // FF21 starts with FF, which BER-TLV (and buildTlv) refuses as a first tag byte: build it by hand.
        const body = concat(buildTlv(0x81, be(s.registry.apps.length, 2)), buildTlv(0x82, be(free, 4)), buildTlv(0x83, be(0x0800, 2)));
        return respond(concat(Uint8Array.of(0xff, 0x21, body.length), body));
      }
      default:
        fail(SW.REF_NOT_FOUND, 'unknown GET DATA tag');
    }
  }

  // --- GET STATUS -------------------------------------------------------------------------

  getStatus(c: CardCommand): CardResponse {
    this.authenticated();
    if (![0x80, 0x40, 0x20, 0x10].includes(c.p1)) fail(SW.WRONG_P1P2, 'GET STATUS P1');
    if ((c.p2 & ~0x03) !== 0) fail(SW.WRONG_P1P2, 'GET STATUS P2');
    let entries: Uint8Array[];
    if ((c.p2 & 0x01) !== 0) {
      if (!this.v.statusRemaining) fail(SW.CONDITIONS, 'no GET STATUS to continue');
      entries = this.v.statusRemaining;
    } else {
      this.v.statusRemaining = undefined;
      const nodes = tlvOrFail(c.data);
      const criteria = nodes.find((n) => n.tag === 0x4f);
      if (!criteria) fail(SW.WRONG_DATA, 'GET STATUS needs search criteria 4F');
      entries = statusEntries(this.s.registry, { aid: this.s.config.isdAid, lifeCycle: this.s.lifeCycle }, c.p1, criteria.value, (c.p2 & 0x02) !== 0);
      if (entries.length === 0) fail(SW.REF_NOT_FOUND, 'nothing matches');
    }
    const out: Uint8Array[] = [];
    let size = 0;
    let k = 0;
    for (; k < entries.length; k++) {
      const e = entries[k]!;
      if (out.length > 0 && size + e.length > STATUS_CHUNK) break;
      out.push(e);
      size += e.length;
    }
    const rest = entries.slice(k);
    this.v.statusRemaining = rest.length > 0 ? rest : undefined;
    return respond(concat(...out), rest.length > 0 ? SW.MORE_DATA : SW.OK);
  }

  // --- INSTALL ----------------------------------------------------------------------------

  install(c: CardCommand): CardResponse {
    this.authenticated();
    this.requireUnlocked();
    if (c.p2 !== 0x00 && c.p2 !== 0x01 && c.p2 !== 0x03) fail(SW.WRONG_P1P2, 'INSTALL P2');
    // b8 only announces more INSTALL commands; it does not change what this one does.
    switch (c.p1 & 0x7f) {
      case 0x02:
        return this.installForLoad(c.data);
      case 0x04:
        return this.installForInstall(c.data, false);
      case 0x0c:
        return this.installForInstall(c.data, true);
      case 0x08:
        return this.makeSelectable(c.data);
      case 0x20:
        return this.installForPersonalization(c.data);
      case 0x10:
      case 0x40:
        fail(SW.FUNCTION_NOT_SUPPORTED, 'extradition and registry update are not simulated');
      // falls through (fail never returns)
      default:
        fail(SW.WRONG_P1P2, 'INSTALL P1');
    }
  }

  private aidInUse(aid: Uint8Array): boolean {
    return sameAid(aid, this.s.config.isdAid) || !!findApp(this.s.registry, aid) || !!findLoadFile(this.s.registry, aid);
  }

  /** An SD the card knows: the ISD or an installed Supplementary Security Domain. */
  private securityDomain(aid: Uint8Array): Uint8Array {
    if (aid.length === 0 || sameAid(aid, this.s.config.isdAid)) return this.s.config.isdAid;
    const app = findApp(this.s.registry, aid);
    if (!app || !isSd(app)) fail(SW.REF_NOT_FOUND, 'security domain not found');
    return app.aid;
  }

  private installForLoad(data: Uint8Array): CardResponse {
    const r = new FieldReader(data);
    const aid = r.lv('load file AID');
    const sdAid = r.lv('security domain AID');
    const lfHash = r.lv('load file data block hash');
    r.lv('load parameters');
    r.lv('load token');
    if (r.remaining > 0) fail(SW.WRONG_DATA, 'bytes after the load token');
    if (!isAidLength(aid.length)) fail(SW.WRONG_DATA, 'load file AID length');
    if (this.aidInUse(aid)) fail(SW.WRONG_DATA, 'AID already present');
    const sd = this.securityDomain(sdAid);
    if (lfHash.length !== 0 && lfHash.length !== 20 && lfHash.length !== 32) fail(SW.WRONG_DATA, 'hash must be SHA-1 (20) or SHA-256 (32)');
    this.v.load = { aid, sd, hash: lfHash.length > 0 ? lfHash : undefined, nextBlock: 0, chunks: [], size: 0 };
    return respond(u(0x00));
  }

  load(c: CardCommand): CardResponse {
    this.authenticated();
    this.requireUnlocked();
    const load = this.v.load;
    if (!load) fail(SW.CONDITIONS, 'LOAD without INSTALL [for load]');
    if ((c.p1 & 0x7f) !== 0) fail(SW.WRONG_P1P2, 'LOAD P1');
    if (c.p2 !== load.nextBlock) {
      // A gap or a repeat means the load file on the card would differ from the host's: drop it.
      this.v.load = undefined;
      fail(SW.WRONG_P1P2, 'LOAD block number out of sequence');
    }
    const free = this.s.config.memory - memoryUsed(this.s);
    if (load.size + c.data.length > free + 16) {
      this.v.load = undefined;
      fail(SW.NO_MEMORY, 'load file does not fit');
    }
    load.chunks.push(c.data);
    load.size += c.data.length;
    load.nextBlock++;
    if ((c.p1 & 0x80) === 0) return respond();
    this.v.load = undefined;
    const info = parseLoadFile(concat(...load.chunks));
    if (load.hash) {
      const actual = hash(load.hash.length === 20 ? 'sha1' : 'sha256', info.dataBlock);
      if (!sameAid(actual, load.hash)) fail(SW.WRONG_DATA, 'load file data block hash mismatch');
    }
    if (!sameAid(info.packageAid, load.aid)) fail(SW.WRONG_DATA, 'package AID differs from INSTALL [for load]');
    if (info.dataBlock.length > free) fail(SW.NO_MEMORY, 'load file does not fit');
    const entry: LoadFileEntry = { aid: load.aid, version: info.packageVersion, sd: load.sd, modules: info.appletAids, size: info.dataBlock.length, builtin: false };
    this.s.registry.loadFiles.push(entry);
    return respond(u(0x00));
  }

  private installForInstall(data: Uint8Array, selectable: boolean): CardResponse {
    const r = new FieldReader(data);
    const lfAid = r.lv('load file AID');
    const moduleAid = r.lv('module AID');
    const aid = r.lv('application AID');
    const privileges = r.lv('privileges');
    const params = r.lv('install parameters');
    r.lv('install token');
    if (r.remaining > 0) fail(SW.WRONG_DATA, 'bytes after the install token');
    const lf = findLoadFile(this.s.registry, lfAid);
    if (!lf) fail(SW.REF_NOT_FOUND, 'load file not found');
    if (!lf.modules.some((m) => sameAid(m, moduleAid))) fail(SW.REF_NOT_FOUND, 'module not in load file');
    if (!isAidLength(aid.length)) fail(SW.WRONG_DATA, 'application AID length');
    if (this.aidInUse(aid)) fail(SW.WRONG_DATA, 'AID already present');
    const privs = threePrivileges(privileges);
    const appParams = installParameters(params);
    const model = this.host.modelFor(lf.aid, moduleAid);
    const wantsSd = (privs[0]! & PRIV.SECURITY_DOMAIN) !== 0;
    if (wantsSd !== (model.securityDomain === true)) fail(SW.WRONG_DATA, 'Security Domain privilege does not fit the module');
    if (memoryUsed(this.s) + 64 > this.s.config.memory) fail(SW.NO_MEMORY, 'no memory for an instance');
    this.s.storage.set(aidHex(aid), new Map());
    const ctx = this.host.appletContext(aid);
    try {
      model.install?.(appParams, ctx);
    } catch (e) {
      this.host.dropInstance(aid);
      if (e instanceof AppletException) fail(e.sw === 0x9000 ? SW.WRONG_DATA : e.sw, 'applet refused install');
      throw e;
    }
    this.s.registry.apps.push({
      aid,
      loadFile: lf.aid,
      module: moduleAid,
      lifeCycle: selectable ? APP_LIFE_CYCLE.SELECTABLE : APP_LIFE_CYCLE.INSTALLED,
      privileges: privs,
      // cardsmith choice: an instance belongs to the SD its load file was loaded for (the ISD unless
      // INSTALL [for load] named a Supplementary Security Domain).
      sd: lf.sd,
    });
    return respond(u(0x00));
  }

  private makeSelectable(data: Uint8Array): CardResponse {
    const r = new FieldReader(data);
    r.lv('load file AID');
    r.lv('module AID');
    const aid = r.lv('application AID');
    const privileges = r.lv('privileges');
    r.lv('install parameters');
    r.lv('install token');
    if (r.remaining > 0) fail(SW.WRONG_DATA, 'bytes after the install token');
    const app = findApp(this.s.registry, aid);
    if (!app) fail(SW.REF_NOT_FOUND, 'application not found');
    if (app.lifeCycle !== APP_LIFE_CYCLE.INSTALLED) fail(SW.CONDITIONS, 'application is not in INSTALLED');
    const privs = privileges.length > 0 ? threePrivileges(privileges) : app.privileges;
    if ((privs[0]! & PRIV.SECURITY_DOMAIN) !== (app.privileges[0]! & PRIV.SECURITY_DOMAIN)) fail(SW.WRONG_DATA, 'cannot change the Security Domain privilege');
    app.privileges = privs;
    app.lifeCycle = APP_LIFE_CYCLE.SELECTABLE;
    return respond(u(0x00));
  }

  private installForPersonalization(data: Uint8Array): CardResponse {
    const r = new FieldReader(data);
    r.lv('load file AID');
    r.lv('module AID');
    const aid = r.lv('application AID');
    const app = findApp(this.s.registry, aid);
    if (!app) fail(SW.REF_NOT_FOUND, 'application not found');
    if (isLocked(app)) fail(SW.CONDITIONS, 'application is locked');
    if (!this.host.instance(app).processData) fail(SW.WRONG_DATA, 'application does not take STORE DATA');
    this.v.perso = app.aid;
    this.v.storeBlock = 0;
    return respond(u(0x00));
  }

  // --- STORE DATA -------------------------------------------------------------------------

  storeData(c: CardCommand): CardResponse {
    const session = this.authenticated();
    this.requireUnlocked();
    if (c.p2 !== 0x00 && c.p2 !== this.v.storeBlock) {
      this.v.storeBlock = 0;
      fail(SW.WRONG_P1P2, 'STORE DATA block number out of sequence');
    }
    const last = (c.p1 & 0x80) !== 0;
    let response: CardResponse;
    try {
      response = this.v.perso ? this.forwardStoreData(c, session, this.v.perso) : this.isdStoreData(c);
    } catch (e) {
      this.v.storeBlock = 0;
      throw e;
    }
    this.v.storeBlock = last ? 0 : (c.p2 + 1) & 0xff;
    return response;
  }

  private forwardStoreData(c: CardCommand, session: CardSession, aid: Uint8Array): CardResponse {
    const app = findApp(this.s.registry, aid);
    if (!app || isLocked(app)) {
      this.v.perso = undefined;
      fail(SW.CONDITIONS, 'personalization target is gone');
    }
    const applet = this.host.instance(app);
    const base = this.host.appletContext(app.aid);
    const ctx: PersonalizationContext = {
      ...base,
      cardInterface: base.cardInterface,
      random: (n) => base.random(n),
      dekBlockSize: session.dek.blockSize,
      decrypt: (d) => {
        try {
          return session.dek.decrypt(d);
        } catch {
          throw new AppletException(SW.WRONG_DATA);
        }
      },
    };
    let out;
    try {
      out = applet.processData!({ cla: c.cla, ins: c.ins, p1: c.p1, p2: c.p2, data: c.data, le: c.le }, ctx);
    } catch (e) {
      if (e instanceof AppletException) fail(e.sw, 'applet refused STORE DATA');
      throw e;
    }
    const sw = out.sw ?? SW.OK;
    if (!Number.isInteger(sw) || sw < 0x6100 || sw > 0x9fff) throw new Error('applet answered an invalid status word');
    return respond(out.data ?? new Uint8Array(0), sw);
  }

  /** STORE DATA to the ISD itself: IIN (42), CIN (45) and KDD (CF), as BER-TLV or as DGIs 0042/0045/00CF. */
  private isdStoreData(c: CardCommand): CardResponse {
    if ((c.p1 & 0x60) !== 0) fail(SW.WRONG_DATA, 'the ISD takes no encrypted data');
    const structure = c.p1 & 0x18;
    const items: { tag: number; value: Uint8Array }[] = [];
    if (structure === 0x08) {
      let dgis;
      try {
        dgis = parseDgis(c.data);
      } catch {
        fail(SW.WRONG_DATA, 'malformed DGI');
      }
      for (const d of dgis) items.push({ tag: d.dgi, value: d.data });
    } else if (structure === 0x00 || structure === 0x10) {
      for (const n of tlvOrFail(c.data)) items.push({ tag: n.tag, value: n.value });
    } else {
      fail(SW.WRONG_DATA, 'STORE DATA structure bits');
    }
    for (const it of items) {
      if (it.tag !== 0x42 && it.tag !== 0x45 && it.tag !== 0xcf) fail(SW.REF_NOT_FOUND, 'the ISD does not store this tag');
      if (it.tag === 0xcf && it.value.length !== 10) fail(SW.WRONG_DATA, 'KDD is 10 bytes');
      if (it.tag !== 0xcf && (it.value.length < 1 || it.value.length > 16)) fail(SW.WRONG_DATA, 'IIN / CIN length');
    }
    for (const it of items) {
      const value = Uint8Array.from(it.value);
      if (it.tag === 0x42) this.s.iin = value;
      else if (it.tag === 0x45) this.s.cin = value;
      else this.s.kdd = value;
    }
    return respond();
  }

  // --- DELETE -----------------------------------------------------------------------------

  delete(c: CardCommand): CardResponse {
    this.authenticated();
    this.requireUnlocked();
    if (c.p1 !== 0x00) fail(SW.WRONG_P1P2, 'DELETE P1');
    if (c.p2 !== 0x00 && c.p2 !== 0x80) fail(SW.WRONG_P1P2, 'DELETE P2');
    const related = c.p2 === 0x80;
    const nodes = tlvOrFail(c.data);
    const aidNode = nodes.find((n) => n.tag === 0x4f);
    if (aidNode) {
      const aid = aidNode.value;
      if (!isAidLength(aid.length)) fail(SW.WRONG_DATA, 'AID length');
      if (sameAid(aid, this.s.config.isdAid)) fail(SW.CONDITIONS, 'the ISD cannot be deleted');
      const app = findApp(this.s.registry, aid);
      const lf = app ? undefined : findLoadFile(this.s.registry, aid);
      if (!app && !lf) fail(SW.REF_NOT_FOUND, 'AID not found');
      if (lf?.builtin) fail(SW.CONDITIONS, 'built-in load file');
      const victims = { apps: new Set<AppEntry>(), loadFiles: new Set<LoadFileEntry>() };
      if (app) this.collectApp(app, related, victims);
      else this.collectLoadFile(lf!, related, victims);
      // Everything checked: now remove.
      this.deleteApps([...victims.apps]);
      this.s.registry.loadFiles = this.s.registry.loadFiles.filter((e) => !victims.loadFiles.has(e));
      return respond(u(0x00));
    }
    const id = nodes.find((n) => n.tag === 0xd0);
    const version = nodes.find((n) => n.tag === 0xd2);
    if (!id && !version) fail(SW.WRONG_DATA, 'DELETE names no AID and no key');
    if ((id && id.value.length !== 1) || (version && version.value.length !== 1)) fail(SW.WRONG_DATA, 'key identifier / version is one byte');
    let found = false;
    for (const set of this.s.keySets) {
      if (version && set.version !== version.value[0]) continue;
      const keep = set.keys.filter((k: CardKey) => id !== undefined && k.id !== id.value[0]);
      if (keep.length !== set.keys.length) found = true;
      set.keys = keep;
    }
    if (!found) fail(SW.REF_NOT_FOUND, 'key not found');
    this.s.keySets = this.s.keySets.filter((set) => set.keys.length > 0);
    return respond(u(0x00));
  }

  /**
   * What DELETE removes with an application: for a Security Domain also the applications and
   * load files associated with it, which needs P2 80 ("and related objects") when there are any.
   */
  private collectApp(app: AppEntry, related: boolean, out: Victims): void {
    if (out.apps.has(app)) return;
    out.apps.add(app);
    if (!isSd(app)) return;
    const apps = this.s.registry.apps.filter((a) => a !== app && sameAid(a.sd, app.aid));
    const loadFiles = this.s.registry.loadFiles.filter((lf) => !lf.builtin && sameAid(lf.sd, app.aid));
    if ((apps.length > 0 || loadFiles.length > 0) && !related) fail(SW.CONDITIONS, 'security domain has associated objects');
    for (const a of apps) this.collectApp(a, true, out);
    for (const lf of loadFiles) this.collectLoadFile(lf, true, out);
  }

  /** A load file and, with P2 80, the applications installed from it. */
  private collectLoadFile(lf: LoadFileEntry, related: boolean, out: Victims): void {
    if (out.loadFiles.has(lf)) return;
    out.loadFiles.add(lf);
    const instances = this.s.registry.apps.filter((a) => sameAid(a.loadFile, lf.aid));
    if (instances.length > 0 && !related) fail(SW.CONDITIONS, 'load file has instances');
    for (const a of instances) this.collectApp(a, true, out);
  }

  private deleteApps(apps: readonly AppEntry[]): void {
    for (const app of apps) {
      this.host.dropInstance(app.aid);
      if (this.v.perso && sameAid(this.v.perso, app.aid)) this.v.perso = undefined;
    }
    this.s.registry.apps = this.s.registry.apps.filter((a) => !apps.includes(a));
  }

  // --- PUT KEY ----------------------------------------------------------------------------

  putKey(c: CardCommand): CardResponse {
    const session = this.authenticated();
    this.requireUnlocked();
    const firstId = c.p2 & 0x7f;
    if (firstId === 0) fail(SW.WRONG_P1P2, 'key identifier 0');
    const { version, entries } = parsePutKey(c.data, firstId, (c.p2 & 0x80) !== 0, session.dek);
    if (version < 0x01 || version > 0x7f) fail(SW.WRONG_DATA, 'new key version must be 01-7F');
    const alg = this.s.config.scp === '02' ? 'des3' : 'aes';
    if (entries.some((e) => e.key.alg !== alg)) fail(SW.WRONG_DATA, `this ISD keeps ${alg} keys`);
    const sets = this.s.keySets;
    if (c.p1 === 0x00) {
      if (sets.some((k) => k.version === version)) fail(SW.WRONG_DATA, 'key version already present');
      sets.push({ version, counter: 0, keys: entries.map((e) => e.key) });
    } else {
      const set = sets.find((k) => k.version === c.p1);
      if (!set) fail(SW.REF_NOT_FOUND, 'key set to replace not found');
      if (version !== set.version && sets.some((k) => k.version === version)) fail(SW.WRONG_DATA, 'key version already present');
      const ids = new Set(entries.map((e) => e.key.id));
      set.keys = [...set.keys.filter((k) => !ids.has(k.id)), ...entries.map((e) => e.key)].sort((a, b) => a.id - b.id);
      set.version = version;
      // New keys start a new counter: session keys of SCP02 depend on the counter alone.
      set.counter = 0;
    }
    return respond(putKeyResponse(version, entries));
  }

  // --- SET STATUS -------------------------------------------------------------------------

  setStatus(c: CardCommand): CardResponse {
    this.authenticated();
    if (c.p1 === 0x80) return this.setCardStatus(c);
    if (c.p1 !== 0x40 && c.p1 !== 0x60) fail(SW.WRONG_P1P2, 'SET STATUS P1');
    if (!isAidLength(c.data.length)) fail(SW.WRONG_DATA, 'AID length');
    if (sameAid(c.data, this.s.config.isdAid)) fail(SW.CONDITIONS, 'use P1 80 for the ISD');
    const app = findApp(this.s.registry, c.data);
    if (!app) fail(SW.REF_NOT_FOUND, 'application not found');
    if (c.p1 === 0x60 && !isSd(app)) fail(SW.WRONG_DATA, 'P1 60 is for a security domain');
    const targets = c.p1 === 0x60 ? [app, ...this.s.registry.apps.filter((a) => a !== app && sameAid(a.sd, app.aid))] : [app];
    if (c.p2 === 0x80) {
      if (isLocked(app)) fail(SW.CONDITIONS, 'already locked');
      for (const a of targets) a.lifeCycle |= APP_LIFE_CYCLE.LOCKED_BIT;
      if (this.v.perso && targets.some((a) => sameAid(a.aid, this.v.perso!))) this.v.perso = undefined;
    } else if (c.p2 === 0x00) {
      if (!isLocked(app)) fail(SW.CONDITIONS, 'not locked');
      for (const a of targets) a.lifeCycle &= ~APP_LIFE_CYCLE.LOCKED_BIT;
    } else if (c.p2 === APP_LIFE_CYCLE.SD_PERSONALIZED && c.p1 === 0x40 && isSd(app)) {
      if (!isSelectable(app) || app.lifeCycle !== APP_LIFE_CYCLE.SELECTABLE) fail(SW.CONDITIONS, 'security domain is not SELECTABLE');
      app.lifeCycle = APP_LIFE_CYCLE.SD_PERSONALIZED;
    } else {
      fail(SW.WRONG_P1P2, 'SET STATUS P2');
    }
    return respond();
  }

  /** Card life cycle (GP 2.3.1 §5.1): OP_READY → INITIALIZED → SECURED ⇄ CARD_LOCKED, any → TERMINATED. */
  private setCardStatus(c: CardCommand): CardResponse {
    if (c.data.length > 0 && !sameAid(c.data, this.s.config.isdAid)) fail(SW.REF_NOT_FOUND, 'P1 80 takes the ISD AID');
    const L = CARD_LIFE_CYCLE;
    const from = this.s.lifeCycle;
    const to = c.p2;
    if (![L.INITIALIZED, L.SECURED, L.CARD_LOCKED, L.TERMINATED].includes(to as 0x07)) fail(SW.WRONG_P1P2, 'not a card life cycle state');
    const allowed =
      (from === L.OP_READY && to === L.INITIALIZED) ||
      (from === L.INITIALIZED && to === L.SECURED) ||
      (from === L.SECURED && to === L.CARD_LOCKED) ||
      (from === L.CARD_LOCKED && to === L.SECURED) ||
      (from !== L.TERMINATED && to === L.TERMINATED);
    if (!allowed) fail(SW.CONDITIONS, 'card life cycle transition not allowed');
    this.s.lifeCycle = to;
    return respond();
  }
}

function tlvOrFail(data: Uint8Array): TlvNode[] {
  try {
    return parseTlv(data);
  } catch {
    fail(SW.WRONG_DATA, 'malformed TLV');
  }
}

/** Privileges are 1 byte (GP 2.1.1) or 3 bytes (GP 2.2+); kept as 3. */
function threePrivileges(p: Uint8Array): Uint8Array {
  if (p.length !== 1 && p.length !== 3) fail(SW.WRONG_DATA, 'privileges are 1 or 3 bytes');
  const out = new Uint8Array(3);
  out.set(p);
  return out;
}

/** Install parameters field: C9 (application-specific, mandatory) and optional system parameters (EF, …), which the card ignores. */
function installParameters(field: Uint8Array): Uint8Array {
  const nodes = tlvOrFail(field);
  const c9 = nodes.find((n) => n.tag === 0xc9);
  if (!c9) fail(SW.WRONG_DATA, 'install parameters need tag C9');
  return c9.value;
}
