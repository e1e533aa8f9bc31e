// The script of one GlobalPlatform card personalized the EMV CPS way: open the profile's secure
// channel with the transport key set, load the CAP and install the applets, INSTALL [for
// personalization] + STORE DATA of the DGIs (secret DGIs sealed; the runner encrypts them under
// the session DEK), then PUT KEY of the issuer key set diversified with the card's KDD. Every
// command inside the channel is an `apdu` step the runner wraps (C-MAC/C-DEC).
import { readFileSync } from 'node:fs';
import { concat, fromHex, toHex } from '../../bytes/index.js';
import { installCommand, installForLoadCommand, installForPersonalizationCommand, loadCommands, loadStream } from '../../globalplatform/commands.js';
import { parseCap } from '../../globalplatform/session.js';
import { buildTlv, encodeCommand, findTlv, MAX_SHORT_DATA, MAX_SHORT_LE, parseTlv } from '../../iso7816/index.js';
import { encodeField, type CardEvaluator, type FieldValue } from '../../profiles/index.js';
import type { AppletSpec, DgiSpec, Profile } from '../../profiles/types.js';
import { once, type CardInputs } from './card-context.js';
import { ScriptTemplate } from './template.js';
import type { Sealed, SealedKey, Step } from '../script.js';
import { PrepError } from './errors.js';

/** What the GP script needs of one card (the template's per-card context). */
export interface GpInputs extends CardInputs {
  /** The transport key set, sealed for this card. */
  transport: SealedKey;
}

/**
 * LOAD block size: the most plain bytes that still fit `limit` data bytes once the channel at
 * level 03 has padded them (ISO 9797-1 method 2: at least one byte, to the cipher block: 16 for
 * SCP03, 8 for SCP02) and added the 8-byte C-MAC. A short APDU (255) carries 239. The limit is
 * card.maxCommandData, but never above 255: cardsmith's secure channels (channels/) send short
 * APDUs only, so a card that takes extended lengths still gets short LOADs here.
 */
export function loadBlockSize(limit: number, scp: 'scp02' | 'scp03'): number {
  const block = scp === 'scp02' ? 8 : 16;
  const fits = Math.min(limit, MAX_SHORT_DATA);
  return Math.floor((fits - 8) / block) * block - 1;
}

const capCache = new Map<string, string[]>();

/** The INSTALL [for load] + LOAD commands of a CAP, computed once per batch (same for every card). */
function loadSteps(aid: Uint8Array, cap: string, blockSize: number): string[] {
  if (blockSize < 1) throw new PrepError(`${cap}: card.maxCommandData is too small for a LOAD block after the secure channel's padding and C-MAC`);
  const key = `${blockSize}:${cap}`;
  const hit = capCache.get(key);
  if (hit) return hit;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(cap);
  } catch (e) {
    throw new PrepError(`${cap}: cannot read the CAP file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const parsed = parseCap(bytes, cap);
  if (toHex(parsed.packageAid) !== toHex(aid)) throw new PrepError(`${cap}: package AID ${toHex(parsed.packageAid)} is not the profile's ${toHex(aid)}`);
  const cmds = [installForLoadCommand({ loadFileAid: aid }), ...loadCommands(loadStream(parsed.loadFileDataBlock()), blockSize)].map((c) => toHex(encodeCommand(c)));
  capCache.set(key, cmds);
  return cmds;
}

function c9Value(params: Uint8Array): Uint8Array {
  if (params.length === 0) return new Uint8Array(0);
  const node = findTlv(parseTlv(params), [0xc9]);
  return node?.value ?? new Uint8Array(0);
}

function dgiData(d: DgiSpec, ev: CardEvaluator, keys: GpInputs['prepKeys']): Uint8Array {
  if (d.keys) return concat(...d.keys.map((k) => keyOf(keys, k).value));
  if (d.kcvs) return concat(...d.kcvs.map((k) => fromHex(keyOf(keys, k).kcv)));
  if (d.value) {
    const v = ev.evaluate(d.value);
    if (!(v instanceof Uint8Array)) throw new PrepError(`DGI ${d.dgi.toString(16)}: the value must be bytes`);
    return v;
  }
  const objects = d.elements.map((el) => {
    const v = ev.evaluate(el.value);
    const fv: FieldValue = v instanceof Uint8Array ? v : el.encoding === 'binary' && typeof v === 'string' ? fromHex(v) : String(v);
    return buildTlv(el.tag, encodeField(el, fv));
  });
  return d.template !== undefined ? buildTlv(d.template, objects) : concat(...objects);
}

function keyOf(keys: GpInputs['prepKeys'], name: string): { value: Uint8Array; kcv: string } {
  const k = keys.get(name);
  if (!k) throw new PrepError(`key ${name}: needs card facts, so it cannot go into a DGI at prep`);
  return k;
}

/** The GP/CPS script of a profile, compiled once: the LOADs and INSTALLs fixed, the keys and DGIs per card. */
export function compileGp(profile: Profile, versionOf: (label: string) => number, perCardOnly = false): { steps: ScriptTemplate<GpInputs>; verify: ScriptTemplate<GpInputs> } {
  const gp = profile.gp;
  if (!gp) throw new PrepError(`profile ${profile.name}: no GlobalPlatform section`);
  const steps = new ScriptTemplate<GpInputs>(perCardOnly);
  const verify = new ScriptTemplate<GpInputs>(perCardOnly);
  steps.card((c) => [
    {
      op: 'open',
      protocol: gp.scp,
      keys: { enc: c.transport, mac: c.transport, dek: c.transport },
      keyVersion: profile.transport.version,
      securityLevel: 0x03,
      sdAid: toHex(gp.isdAid),
      note: 'ISD, transport key set',
    },
  ]);
  const blockSize = loadBlockSize(profile.maxCommandData, gp.scp);
  for (const lf of gp.loadFiles) steps.fixedBy(() => loadSteps(lf.aid, lf.cap, blockSize).map((a) => ({ op: 'apdu', apdu: a, note: `load ${lf.name}` })));
  for (const app of gp.applets) {
    const lf = gp.loadFiles.find((l) => l.name === app.loadFile);
    if (!lf) throw new PrepError(`applet ${app.name}: load file ${app.loadFile} is not declared`);
    const install = installCommand({ loadFileAid: lf.aid, moduleAid: app.module, instanceAid: app.aid, privileges: app.privileges, parameters: c9Value(app.installParameters) });
    steps.fixed({ op: 'apdu', apdu: toHex(encodeCommand(install)), note: `install ${app.name}` });
    if (app.dgis.length === 0) continue;
    steps.fixed({ op: 'apdu', apdu: toHex(encodeCommand(installForPersonalizationCommand(app.aid))), note: `install for personalization ${app.name}` });
    const personalized = (c: GpInputs) => once(c, app, () => personalizeApplet(app, c));
    steps.card(async (c) => (await personalized(c)).steps);
    verify.card(async (c) => (await personalized(c)).verify);
  }
  if (gp.isdKeys.length > 0) {
    const first = gp.isdKeys[0]!;
    const div = first.derive.method;
    if (div !== 'emv' && div !== 'visa2' && div !== 'kdf3') throw new PrepError(`ISD key ${first.name}: PUT KEY supports emv, visa2 and kdf3 diversification, not ${div}`);
    steps.fixed({
      op: 'put-derived-key',
      keyVersion: first.version,
      ...(gp.replaceTransportKeys ? { replaceVersion: profile.transport.version } : {}),
      master: { label: first.derive.master.label, version: versionOf(first.derive.master.label) },
      div,
      note: 'ISD: transport keys → issuer keys diversified with the KDD',
    });
  }
  steps.fixed({ op: 'close' });
  return { steps, verify };
}

/** STORE DATA of an applet's DGIs and the checks that read them back. */
async function personalizeApplet(app: AppletSpec, inp: GpInputs): Promise<{ steps: Step[]; verify: Step[] }> {
  const steps: Step[] = [];
  const verify: Step[] = [];
  const dgis: { dgi: number; data?: string; sealed?: Sealed }[] = [];
  const plain = new Map<number, Uint8Array>();
  for (const d of app.dgis) {
    const data = dgiData(d, inp.ev, inp.prepKeys);
    if (d.secret) dgis.push({ dgi: d.dgi, sealed: await inp.seal(data) });
    else {
      dgis.push({ dgi: d.dgi, data: toHex(data) });
      plain.set(d.dgi, data);
    }
  }
  steps.push({ op: 'store-data', dgis, note: `personalize ${app.name}` });
  // Read back what the CPS applet answers (docs/simulator-gp.md): the FCI from DGI 9102, records
  // from DGIs 0101–1EFF, other public DGIs by GET DATA.
  const select = toHex(encodeCommand({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: app.aid, le: MAX_SHORT_LE }));
  const fci = plain.get(0x9102);
  verify.push({ op: 'check', apdu: select, ...(fci && fci[0] === 0xa5 ? { expect: toHex(buildTlv(0x6f, [buildTlv(0x84, app.aid), fci])) } : {}), what: `select ${app.name}` });
  for (const [dgi, data] of plain) {
    const sfi = dgi >> 8;
    const rec = dgi & 0xff;
    // Other public DGIs are not read back by GET DATA: the simulator's CPS applet answers 6A88 for
    // DGI 9000 (KCVs) (an open point in docs/prep.md).
    if (sfi >= 1 && sfi <= 30 && rec >= 1) verify.push({ op: 'check', apdu: toHex(encodeCommand({ cla: 0x00, ins: 0xb2, p1: rec, p2: (sfi << 3) | 4, data: new Uint8Array(0), le: MAX_SHORT_LE })), expect: toHex(data), what: `record ${rec} of SFI ${sfi}` });
  }
  return { steps, verify };
}
