// `cardsmith profile show FILE`: the card as the profile builds it — file tree with identifiers,
// sizes, access conditions and data elements; keys and PINs with their ids, versions, algorithms
// and where they come from (key store labels and versions). A profile holds no key bytes, so a
// KCV is shown as a placeholder: card keys are derived per card, at prep.
import type { CommandModule } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import {
  loadProfile,
  type AccessSpec,
  type CardKeySpec,
  type DataElement,
  type DfNode,
  type EfNode,
  type FileNode,
  type KeyStoreRef,
  type PinSpec,
  type Profile,
} from '../../../profiles/index.js';
import type { Ctx } from '../../context.js';
import { emit } from '../../io.js';
import { outputOptions } from '../../options.js';
import { profileArg, profilePath } from './common.js';

const KCV_PLACEHOLDER = 'kcv ------';

export function profileShowCommand(ctx: Ctx): CommandModule {
  return {
    command: 'show <file>',
    describe: 'print the file tree with access conditions, keys (labels, versions, KCV placeholders) and PINs',
    builder: (y) =>
      y
        .positional('file', { ...profileArg, demandOption: true })
        .options(outputOptions)
        .example('$0 profile show builtin:sscard-gen3', 'the social security card, as a tree')
        .example('$0 profile show card.yaml --json', 'the loaded profile as JSON (bytes in hex)'),
    handler: (argv) => {
      const a = argv as unknown as { file: string; json: boolean };
      const { path, display } = profilePath(a.file);
      // One line and exit 2 (a ProfileError); `profile validate` lists every problem.
      const profile: Profile = loadProfile(path, { display });
      emit(ctx.io, a.json, jsonView(profile), textView(profile));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Text

function alg(a: string): string {
  return a === 'des3' ? '3DES' : a.toUpperCase();
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

export function showAccess(ac: AccessSpec): string {
  switch (ac.kind) {
    case 'always':
    case 'never':
      return ac.kind;
    case 'pin':
      return `pin(${ac.pin} #${hex2(ac.id)})`;
    case 'key':
      return `auth(${ac.key} #${hex2(ac.id)})`;
    case 'sm':
      return `mac(${ac.key} #${hex2(ac.id)})`;
  }
}

function storeRef(r: KeyStoreRef): string {
  return `${r.label} ${r.version === undefined ? 'v(newest)' : `v${r.version}`}`;
}

function keyLine(k: CardKeySpec): string {
  const d = k.derive;
  const levels = d.data.length > 1 ? ` ${d.data.length} levels` : '';
  const type = d.keyType ? ` ${d.keyType}` : '';
  const when = d.phase === 'run' ? ', at run time' : '';
  const tries = k.tries !== undefined ? ` tries ${k.tries}` : '';
  return `key ${k.name}  ${k.role} #${hex2(k.id)} v${k.version} ${alg(k.alg)}${tries}  ← ${d.method}${type}${levels} from ${storeRef(d.master)}${when}  ${KCV_PLACEHOLDER}`;
}

function pinLine(p: PinSpec): string {
  const len = p.minLength === p.maxLength ? `${p.minLength} digits` : `${p.minLength}-${p.maxLength} digits`;
  const source = p.initial.kind === 'record' ? `from record.${p.initial.field}` : p.initial.kind === 'fixed' ? 'fixed (test)' : 'random';
  const extra = [p.unblockKey ? `unblock ${p.unblockKey}` : '', p.reloadKey ? `reload ${p.reloadKey}` : ''].filter(Boolean).join(' ');
  return `pin ${p.name}  #${hex2(p.id)} ${len} tries ${p.tries} ${source}${extra ? `  ${extra}` : ''}`;
}

function aidText(aid: Uint8Array): string {
  const ascii = [...aid].every((b) => b >= 0x20 && b < 0x7f);
  return ascii ? ` ("${new TextDecoder().decode(aid)}")` : '';
}

function elementLine(el: DataElement): string {
  const where = el.tag !== undefined ? `tag ${hex2(el.tag)}` : el.record !== undefined ? `record ${el.record}` : `@${el.offset ?? 0}`;
  const size = el.fixed ? `${el.length}` : `≤${el.length}`;
  const value = el.parts ? `parts ${el.parts.map((p) => `${p.name}(${p.length} ${p.encoding})`).join(' ‖ ')}` : el.value!.source;
  const run = (el.value?.phase ?? (el.parts?.some((p) => p.value.phase === 'run') ? 'run' : 'prep')) === 'run' ? '  [run time]' : '';
  return `${where}  ${el.name}  ${size} ${el.encoding}${el.pad !== undefined ? ` pad ${hex2(el.pad)}` : ''}  = ${value}${run}`;
}

function fileHeader(n: FileNode): string {
  if (n.kind === 'df') {
    const parts = [n.path === '' ? 'MF' : n.name, 'DF'];
    if (n.fid !== undefined) parts.push(hex4(n.fid));
    if (n.aid) parts.push(`aid ${toHex(n.aid)}${aidText(n.aid)}`);
    parts.push(`create ${showAccess(n.access.create)}`, `keyWrite ${showAccess(n.access.keyWrite)}`);
    return parts.join('  ');
  }
  const shape =
    n.structure === 'transparent'
      ? `transparent${n.internal ? ' internal' : ''} ${n.size} bytes`
      : `${n.structure}${n.tlv ? ' tlv' : ''} ${n.maxRecords} × ${n.recordLength}`;
  const parts = [n.name, 'EF', hex4(n.fid)];
  if (n.sfi !== undefined) parts.push(`sfi ${n.sfi}`);
  parts.push(shape, `read ${showAccess(n.access.read)}`, `update ${showAccess(n.access.update)}`);
  if (n.structure !== 'transparent') parts.push(`append ${showAccess(n.access.append)}`);
  return parts.join('  ');
}

function tree(n: FileNode, prefix: string, last: boolean, root: boolean, out: string[]): void {
  const branch = root ? '' : last ? '└─ ' : '├─ ';
  out.push(`${prefix}${branch}${fileHeader(n)}`);
  const inner = root ? '' : prefix + (last ? '   ' : '│  ');
  const detailPrefix = inner + (n.kind === 'df' && n.children.length > 0 ? '│    ' : '     ');
  if (n.kind === 'df') {
    for (const d of n.directory ?? []) out.push(`${detailPrefix}directory ${toHex(d.aid)}${d.label ? ` "${d.label}"` : ''}${d.priority !== undefined ? ` priority ${d.priority}` : ''}`);
    for (const k of n.keys) out.push(`${detailPrefix}${keyLine(k)}`);
    for (const p of n.pins) out.push(`${detailPrefix}${pinLine(p)}`);
    n.children.forEach((c, i) => tree(c, inner, i === n.children.length - 1, false, out));
  } else {
    for (const el of (n as EfNode).elements) out.push(`${detailPrefix}${elementLine(el)}`);
  }
}

export function textView(p: Profile): string {
  const out: string[] = [];
  out.push(`${p.name}${p.title ? ` — ${p.title}` : ''}`);
  out.push(`  cos ${p.cos} · interfaces ${p.interfaces.join(', ')} · revision ${p.revision}${p.test ? ' · TEST PROFILE' : ''} · sha256 ${p.hash.slice(0, 16)}…`);
  out.push('');
  out.push('key store (labels and versions; a profile holds no key bytes)');
  const aliases = Object.values(p.keyStore);
  const w = Math.max(0, ...aliases.map((r) => r.alias.length));
  for (const r of aliases) out.push(`  ${r.alias.padEnd(w)}  ${alg(r.alg).padEnd(4)}  ${storeRef(r)}  ${KCV_PLACEHOLDER}`);
  out.push(`transport key: ${p.transport.key.alias} (${storeRef(p.transport.key)}), key version ${hex2(p.transport.version)} on the card`);
  out.push('');
  if (p.mf) {
    out.push('file tree');
    tree(p.mf, '', true, true, out);
  }
  if (p.gp) {
    const g = p.gp;
    out.push(`ISD ${toHex(g.isdAid)}  ${g.scp.toUpperCase()}  issuer keys ${g.replaceTransportKeys ? 'replace' : 'join'} the transport set`);
    for (const k of g.isdKeys) out.push(`     ${keyLine(k)}`);
    for (const lf of g.loadFiles) out.push(`load file ${lf.name}  ${toHex(lf.aid)}  ${lf.cap}`);
    for (const a of g.applets) {
      out.push(`applet ${a.name}  ${toHex(a.aid)}  module ${toHex(a.module)} of ${a.loadFile}  privileges ${a.privilegeNames.length ? a.privilegeNames.join(',') : 'none'} (${toHex(a.privileges)})  install ${toHex(a.installParameters)}`);
      for (const k of a.keys) out.push(`     ${keyLine(k)}`);
      for (const d of a.dgis) {
        const what = d.keys ? `keys ${d.keys.join(' ‖ ')} (encrypted)` : d.kcvs ? `KCVs of ${d.kcvs.join(', ')}` : d.value ? d.value.source : `${d.template !== undefined ? `template ${d.template.toString(16).toUpperCase()}: ` : ''}${d.elements.map((e) => `${e.tag.toString(16).toUpperCase()} ${e.name}`).join(', ')}`;
        out.push(`     DGI ${hex4(d.dgi)}${d.secret ? ' secret' : ''}  ${what}`);
      }
    }
  }
  if (p.pins.length > 0 && !p.mf) for (const pin of p.pins) out.push(pinLine(pin));
  if (p.pki) {
    out.push('');
    out.push(`PKI: CA ${storeRef(p.pki.ca)}${p.pki.pin ? `, after PIN ${p.pki.pin}` : ''}, certificates valid ${p.pki.validityYears} years`);
    out.push(`  subject ${p.pki.subject.map((s) => `${s.type}=${s.value.source}`).join(', ')}`);
    for (const kp of p.pki.keyPairs) {
      out.push(`  SM2 pair ${kp.name} in ${kp.df || 'MF'}: public ${kp.publicKey.name} (${hex4(kp.publicKey.fid)}), private ${kp.privateKey.name} (${hex4(kp.privateKey.fid)}), certificate ${kp.certificate.name} (${hex4(kp.certificate.fid)}); ${kp.keyUsage.join(', ')}`);
    }
  }
  if (p.face) {
    out.push('');
    out.push(`card face ${p.face.width} × ${p.face.height} mm`);
    for (const [side, items] of [['front', p.face.front], ['back', p.face.back]] as const) {
      for (const i of items) {
        out.push(i.kind === 'photo' ? `  ${side} photo ${i.name} from record.${i.field} at ${i.x},${i.y} mm, ${i.width} × ${i.height} mm` : `  ${side} text ${i.name} at ${i.x},${i.y} mm, ${i.fontSize} pt: ${i.value.source}`);
      }
    }
  }
  out.push('');
  out.push(`record: ${p.record.fields.map((f) => `${f.name}${f.required ? '' : '?'} (${f.type})`).join(', ')}${p.record.key ? `; unique key ${p.record.key}` : ''}`);
  if (p.warnings.length > 0) out.push(`${p.warnings.length} warning(s): cardsmith profile validate lists them`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// JSON: the loaded profile with bytes as hex, expressions as their source, and no locations.

export function jsonView(p: Profile): unknown {
  return strip(p);
}

function strip(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(strip);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    // An expression shows as its source and when it can be computed.
    if (typeof o.source === 'string' && 'node' in o && 'type' in o) return { expr: o.source, phase: o.phase };
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      if (k === 'loc' || k === 'src' || x === undefined) continue;
      out[k] = strip(x);
    }
    return out;
  }
  return v;
}
