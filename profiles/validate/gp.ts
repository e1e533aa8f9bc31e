// GlobalPlatform cards: the ISD key set, load files (CAP paths), applet instances with their
// privileges and install parameters, and the DGIs that personalize each applet.
import { existsSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { clip, fromHex, toHex } from '../../bytes/index.js';
import { encodeTag, parseTlv } from '../../iso7816/index.js';
import type { Encoding } from '../codec.js';
import { formatLoc, type Loc } from '../errors.js';
import { describeType, type Expr } from '../expr.js';
import { entry, type LMap } from '../source.js';
import { didYouMean } from '../suggest.js';
import type { AppletSpec, DgiElement, DgiSpec, GpSpec, LoadFileSpec } from '../types.js';
import { hex2, hex4, type Context } from './context.js';
import { checkCodec, checkFit } from './fit.js';
import { declareKey } from './keys.js';

const GP_ROLES = new Set(['enc', 'mac', 'dek']);

const PRIVILEGES: readonly string[] = [
  'security-domain', 'dap-verification', 'delegated-management', 'card-lock', 'card-terminate', 'card-reset', 'cvm-management', 'mandated-dap',
  'trusted-path', 'authorized-management', 'token-verification', 'global-delete', 'global-lock', 'global-registry', 'final-application', 'global-service',
  'receipt-generation', 'ciphered-load-file-data-block', 'contactless-activation', 'contactless-self-activation',
];

const GP_ISD_AID = fromHex('A000000151000000');

export function declareGpKeys(ctx: Context): void {
  const isd = ctx.get(ctx.root, 'isd');
  for (const e of ctx.entries(ctx.get(isd, 'keys'))) {
    declareKey(ctx, e.key, e.value, e.keyLoc, 'isd');
    const role = ctx.str(e.value, 'type');
    if (role !== undefined && !GP_ROLES.has(role)) ctx.error(ctx.locOf(e.value, 'type'), 'key-role', `ISD keys are enc, mac and dek, not ${role}`);
  }
  for (const a of ctx.entries(ctx.get(ctx.root, 'applets'))) {
    for (const e of ctx.entries(ctx.get(a.value, 'keys'))) declareKey(ctx, e.key, e.value, e.keyLoc, `applet:${a.key}`);
  }
}

export function readGp(ctx: Context): GpSpec {
  const r = ctx.root;
  const isd = ctx.map(ctx.get(r, 'isd'));
  const isdAid = ctx.hex(isd, 'aid') ?? GP_ISD_AID;
  const isdKeys = [...ctx.keyDecls.values()].filter((k) => k.owner === 'isd');
  const specs = isdKeys.flatMap((k) => (k.spec ? [k.spec] : []));
  if (isd && entry(isd, 'keys')) {
    for (const role of ['enc', 'mac', 'dek'] as const) {
      const n = isdKeys.filter((k) => k.role === role).length;
      if (n !== 1) ctx.error(ctx.keyLocOf(isd, 'keys'), 'isd-keys', `the ISD key set needs exactly one ${role} key, it has ${n}`, 'a secure-channel key set is ENC (id 01), MAC (02) and DEK (03)');
    }
    const versions = new Set(specs.map((k) => k.version));
    if (versions.size > 1) ctx.error(ctx.keyLocOf(isd, 'keys'), 'isd-keys', `the ISD keys have different versions (${[...versions].join(', ')}); one key set has one version`);
    for (const k of specs) {
      if (k.version < 1 || k.version > 0x7f) ctx.error(ctx.locOf(isdKeys.find((d) => d.name === k.name)!.node, 'version'), 'isd-keys', `key ${k.name}: issuer key set versions are 1-127 (GP), got ${k.version}`);
    }
    const ids = new Map<number, string>();
    for (const k of specs) {
      const other = ids.get(k.id);
      if (other) ctx.error(ctx.locOf(isdKeys.find((d) => d.name === k.name)!.node, 'id'), 'duplicate-key-id', `keys ${other} and ${k.name} have the same id ${hex2(k.id)}`);
      ids.set(k.id, k.name);
    }
  }
  const loadFiles: LoadFileSpec[] = [];
  for (const e of ctx.entries(ctx.get(r, 'loadFiles'))) {
    const aid = ctx.hex(e.value, 'aid');
    const cap = ctx.str(e.value, 'cap');
    if (!aid || cap === undefined) continue;
    const capLoc = ctx.locOf(e.value, 'cap');
    const abs = resolvePath(dirname(ctx.absOf(capLoc.file)), cap);
    if (!existsSync(abs)) ctx.error(capLoc, 'cap-missing', `CAP file '${clip(cap, 240)}' does not exist`, 'the path is relative to the profile file that names it');
    loadFiles.push({ name: e.key, aid, cap: abs, loc: e.keyLoc });
  }
  const applets: AppletSpec[] = [];
  const aids = new Map<string, string>([[toHex(isdAid), 'the ISD']]);
  for (const e of ctx.entries(ctx.get(r, 'applets'))) {
    const m = ctx.map(e.value);
    const loadFile = ctx.str(m, 'loadFile');
    const module = ctx.hex(m, 'module');
    const aid = ctx.hex(m, 'aid');
    if (!m || loadFile === undefined || !module || !aid) continue;
    if (!loadFiles.some((l) => l.name === loadFile) && !entry(ctx.get(r, 'loadFiles'), loadFile)) {
      ctx.error(ctx.locOf(m, 'loadFile'), 'unknown-load-file', `load file '${clip(loadFile)}' is not declared`, didYouMean(loadFile, loadFiles.map((l) => l.name)) ?? 'declare it under loadFiles:');
    }
    const other = aids.get(toHex(aid));
    if (other) ctx.error(ctx.locOf(m, 'aid'), 'duplicate-aid', `instance AID ${toHex(aid)} is already used by ${other}`);
    aids.set(toHex(aid), `applet ${e.key}`);
    const names = (() => {
      const p = ctx.get(m, 'privileges');
      return p?.kind === 'seq' ? p.items.flatMap((i) => (i.kind === 'scalar' && typeof i.value === 'string' ? [i.value] : [])) : [];
    })();
    const privileges = new Uint8Array(3);
    for (const n of names) {
      const bit = PRIVILEGES.indexOf(n);
      if (bit >= 0) privileges[bit >> 3]! |= 0x80 >> (bit & 7);
    }
    let installParameters = ctx.hex(m, 'installParameters') ?? Uint8Array.of(0xc9, 0x00);
    if (entry(m, 'installParameters') && ctx.hex(m, 'installParameters')) {
      try {
        const nodes = parseTlv(installParameters);
        if (!nodes.some((n) => n.tag === 0xc9)) {
          ctx.error(ctx.locOf(m, 'installParameters'), 'install-parameters', 'install parameters need the C9 application-specific parameters (C900 when there are none)');
        }
      } catch (err) {
        ctx.error(ctx.locOf(m, 'installParameters'), 'install-parameters', `install parameters are not BER-TLV: ${(err as Error).message}`, 'e.g. C900');
        installParameters = Uint8Array.of(0xc9, 0x00);
      }
    }
    const keys = [...ctx.keyDecls.values()].filter((k) => k.owner === `applet:${e.key}` && k.spec).map((k) => k.spec!);
    const dgis = readDgis(ctx, m, e.key);
    applets.push({ name: e.key, loadFile, module, aid, privileges, privilegeNames: names, installParameters, keys, dgis, loc: e.keyLoc });
  }
  return { scp: ctx.scp, isdAid, isdKeys: specs, replaceTransportKeys: ctx.bool(isd, 'replaceTransportKeys') ?? true, loadFiles, applets };
}

function readDgis(ctx: Context, applet: LMap, appletName: string): DgiSpec[] {
  const list = ctx.get(applet, 'dgis');
  const out: DgiSpec[] = [];
  if (list?.kind !== 'seq') return out;
  const seen = new Map<number, Loc>();
  for (const item of list.items) {
    const m = ctx.map(item);
    const dgi = ctx.hexNum(m, 'dgi');
    if (!m || dgi === undefined) continue;
    const loc = ctx.locOf(m, 'dgi');
    const prev = seen.get(dgi);
    if (prev) ctx.error(loc, 'duplicate-dgi', `DGI ${hex4(dgi)} appears twice in applet ${appletName} (first at ${formatLoc(prev)})`);
    seen.set(dgi, loc);
    const secret = dgi >= 0x8000 && dgi <= 0x8fff;
    const kinds = ['elements', 'value', 'keys', 'kcvs'].filter((k) => entry(m, k));
    if (kinds.length !== 1) {
      ctx.error(loc, 'dgi-content', `DGI ${hex4(dgi)} needs exactly one of elements, value, keys and kcvs${kinds.length ? ` (it has ${kinds.join(' and ')})` : ''}`);
    }
    const spec: DgiSpec = { dgi, secret, template: ctx.hexNum(m, 'template'), elements: [], loc };
    if (spec.template !== undefined) {
      try {
        encodeTag(spec.template);
      } catch (e) {
        ctx.error(ctx.locOf(m, 'template'), 'bad-tag', `template ${hex4(spec.template)}: ${(e as Error).message}`);
      }
    }
    const keyList = (k: string): string[] | undefined => {
      const v = ctx.get(m, k);
      if (v?.kind !== 'seq') return undefined;
      const names: string[] = [];
      for (const i of v.items) {
        if (i.kind !== 'scalar' || typeof i.value !== 'string') continue;
        const decl = ctx.keyDecls.get(i.value);
        if (!decl) ctx.error(i.loc, 'unknown-key-ref', `DGI ${hex4(dgi)}: key '${clip(i.value)}' is not defined`, didYouMean(i.value, ctx.keyDecls.keys()) ?? `define it under applets.${appletName}.keys`);
        else if (decl.owner !== `applet:${appletName}`) ctx.error(i.loc, 'key-not-visible', `DGI ${hex4(dgi)}: key ${i.value} belongs to ${decl.owner}, not to applet ${appletName}`);
        names.push(i.value);
      }
      return names;
    };
    spec.keys = keyList('keys');
    spec.kcvs = keyList('kcvs');
    if (spec.keys && !secret) ctx.error(ctx.keyLocOf(m, 'keys'), 'secret-dgi', `DGI ${hex4(dgi)} would carry card keys in clear; keys go in secret DGIs 8000-8FFF`, 'put them in a DGI 8000-8FFF (sent encrypted); their KCVs can go in a 9xxx DGI with kcvs:');
    if (entry(m, 'value')) {
      const v = ctx.expr(m, 'value', `DGI ${hex4(dgi)}`);
      if (v && v.type.t !== 'bytes' && !(v.literal && v.type.t === 'text')) ctx.error(ctx.locOf(m, 'value'), 'encoding-capacity', `DGI ${hex4(dgi)}: the value must be bytes, but it is ${describeType(v.type)}`, 'hex(), bcd(), ascii() or gbk() make bytes');
      if (v) spec.value = v;
    }
    for (const e of ctx.entries(ctx.get(m, 'elements'))) {
      const em = ctx.map(e.value);
      const tag = ctx.hexNum(em, 'tag');
      const encoding = ctx.str(em, 'encoding') as Encoding | undefined;
      if (!em || tag === undefined || !encoding) continue;
      try {
        encodeTag(tag);
      } catch (err) {
        ctx.error(ctx.locOf(em, 'tag'), 'bad-tag', `tag ${ctx.str(em, 'tag')}: ${(err as Error).message}`);
      }
      const length = ctx.num(em, 'length');
      const maxLength = ctx.num(em, 'maxLength');
      if ((length === undefined) === (maxLength === undefined)) {
        ctx.error(e.keyLoc, 'element-length', `element ${e.key} needs exactly one of length and maxLength`);
        continue;
      }
      const el: DgiElement = { name: e.key, tag, encoding, length: (length ?? maxLength)!, fixed: length !== undefined, pad: ctx.hexNum(em, 'pad'), value: undefined as unknown as Expr, loc: e.keyLoc };
      checkCodec(ctx, el, em, `DGI ${hex4(dgi)}.${e.key}`);
      const v = ctx.expr(em, 'value', e.key);
      if (v) {
        checkFit(ctx, el, v, ctx.get(em, 'value')!, e.key);
        el.value = v;
        spec.elements.push(el);
      }
    }
    const size = spec.elements.reduce((n, el) => n + el.length + 6, 0);
    if (size > 0xffff) ctx.error(loc, 'dgi-size', `DGI ${hex4(dgi)} can be ${size} bytes; a DGI holds at most 65535`);
    out.push(spec);
  }
  return out;
}
