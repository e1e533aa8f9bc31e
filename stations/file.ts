// The stations file (YAML): which stations a run uses, each a card mover + an encoder. Every
// problem is reported at its file:line:column, all at once (StationsFileError).
//
//   version: 1                       # optional
//   defaults:                        # optional: apply to every station
//     interface: contact             # contact | contactless
//     maxConsecutiveFailures: 3
//   stations:
//     - name: printer-1              # unique; A-Z a-z 0-9 . _ : -
//       mover:                       # simulated | evolis | manual, or a map with `type`
//         type: evolis
//         uri: tcp://10.0.0.7:9100   # or a device path: /dev/usb/lp0
//         timeoutMs: 30000           # optional
//       encoder: "OMNIKEY 5422 00 00"  # a PC/SC reader (name or unique part), or sim / sim:sscard?seed=N
//     - name: sim-1
//       mover: { type: simulated, seed: 1, cards: 500, latency: { apduMs: 5 },
//                faults: [ { kind: jam, card: 7 }, { kind: dead-chip, probability: 0.01 } ] }
//     - name: desk
//       mover: manual
//       encoder: "Virtual PCD 00 00"
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import { clip } from '../bytes/index.js';
import { TOO_DEEP_MESSAGE, tooDeepAt } from '../files/yaml-limits.js';
import { parseReaderSpec } from '../transport/spec.js';
import { StationsFileError, type StationsFileIssue } from './errors.js';
import type { CardInterface } from './mover.js';
import { FAULT_KINDS, type FaultKind, type FaultSpec, type PrinterLatency } from './sim-printer/index.js';

export type MoverConfig =
  | { type: 'simulated'; seed: number; cards?: number; latency: PrinterLatency; faults: FaultSpec[] }
  | { type: 'evolis'; uri: string; timeoutMs?: number; replyIdleMs?: number; ribbon?: string | null }
  | { type: 'manual'; waitMs?: number };

export interface StationConfig {
  name: string;
  mover: MoverConfig;
  /** PC/SC reader name or sim spec; undefined = the simulated printer's own encoder. */
  encoder: string | undefined;
  interface: CardInterface;
  maxConsecutiveFailures: number;
}

export interface StationsFile {
  file: string;
  stations: StationConfig[];
}

/** Backstop for messages that quote the file (an encoder spec, a YAML error): one readable line each. */
const MAX_LINE = 400;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const LATENCY_KEYS = ['feedMs', 'moveMs', 'printMs', 'ejectMs', 'apduMs', 'encoderTimeoutMs'] as const;

export async function loadStationsFile(path: string): Promise<StationsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new StationsFileError([{ file: path, line: 1, col: 1, message: `cannot read the stations file (${(e as NodeJS.ErrnoException).code ?? 'error'})` }]);
  }
  return parseStationsFile(text, path);
}

export function parseStationsFile(text: string, file = 'stations.yaml'): StationsFile {
  const lc = new LineCounter();
  const issues: StationsFileIssue[] = [];
  const deep = tooDeepAt(text);
  if (deep !== undefined) throw new StationsFileError([{ file, ...deep, message: TOO_DEEP_MESSAGE }]);
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const at = (node: Node | Pair | null | undefined, message: string) => {
    const range = (node && 'range' in node ? node.range : undefined) ?? (node && 'key' in node ? (node.key as Node | null)?.range : undefined);
    const pos = lc.linePos(range?.[0] ?? 0);
    issues.push({ file, line: pos.line, col: pos.col, message: clip(message, MAX_LINE) });
  };
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    issues.push({ file, line: pos.line, col: pos.col, message: `YAML: ${e.message.split('\n')[0]}` });
  }
  if (issues.length) throw new StationsFileError(issues);

  const root = doc.contents;
  if (!isMap(root)) {
    at(root as Node | null, 'the stations file must be a map with a `stations:` list');
    throw new StationsFileError(issues);
  }
  checkKeys(root, ['version', 'defaults', 'stations'], 'top level', at);
  const version = root.get('version', true) as Node | undefined;
  if (version !== undefined && !(isScalar(version) && version.value === 1)) at(version as Node, 'version must be 1');

  let defInterface: CardInterface = 'contact';
  let defMax = 3;
  const defaults = root.get('defaults', true) as Node | undefined;
  if (defaults !== undefined) {
    if (!isMap(defaults)) at(defaults, 'defaults must be a map (interface, maxConsecutiveFailures)');
    else {
      checkKeys(defaults, ['interface', 'maxConsecutiveFailures'], 'defaults', at);
      defInterface = iface(defaults, 'defaults', at) ?? defInterface;
      defMax = int(defaults, 'maxConsecutiveFailures', 1, 1000, at) ?? defMax;
    }
  }

  const list = root.get('stations', true) as Node | undefined;
  const stations: StationConfig[] = [];
  if (list === undefined) at(root, 'missing `stations:` (a list of stations)');
  else if (!isSeq(list) || list.items.length === 0) at(list, '`stations` must be a non-empty list');
  else {
    const seen = new Map<string, number>();
    list.items.forEach((item, i) => {
      const where = `stations[${i}]`;
      if (!isMap(item)) {
        at(item as Node, `${where} must be a map with name, mover and encoder`);
        return;
      }
      checkKeys(item, ['name', 'mover', 'encoder', 'interface', 'maxConsecutiveFailures'], where, at);
      const nameNode = item.get('name', true) as Node | undefined;
      let name = `#${i + 1}`;
      if (nameNode === undefined) at(item, `${where}: missing name`);
      else if (!isScalar(nameNode) || typeof nameNode.value !== 'string' || !NAME.test(nameNode.value)) {
        at(nameNode, `${where}: name must be 1..64 of A-Z a-z 0-9 . _ : - starting with a letter or digit`);
      } else {
        name = nameNode.value;
        if (seen.has(name)) at(nameNode, `station "${name}" is named twice (first at line ${seen.get(name)}); names must be unique`);
        else seen.set(name, lc.linePos(nameNode.range![0]).line);
      }
      const label = `station "${name}"`;
      const mover = moverConfig(item, label, at);
      const encNode = item.get('encoder', true) as Node | undefined;
      let encoder: string | undefined;
      if (encNode !== undefined) {
        if (!isScalar(encNode) || typeof encNode.value !== 'string' || encNode.value.trim() === '') at(encNode, `${label}: encoder must be a PC/SC reader name or sim`);
        else {
          encoder = encNode.value;
          try {
            const spec = parseReaderSpec(encoder);
            if (spec.type === 'sim' && spec.sim.kind !== 'sscard') at(encNode, `${label}: encoder ${encoder}: only sim:sscard cards exist so far`);
          } catch (e) {
            at(encNode, `${label}: encoder: ${e instanceof Error ? e.message : String(e)}`);
          }
          if (mover?.type === 'simulated' && encoder !== 'printer') {
            at(encNode, `${label}: a simulated printer encodes its own cards; leave encoder out (or write encoder: printer)`);
          }
        }
      } else if (mover && mover.type !== 'simulated') {
        at(item, `${label}: missing encoder (a PC/SC reader name, or sim for simulated cards)`);
      }
      if (encoder === 'printer' && mover?.type !== 'simulated') {
        at(encNode ?? item, `${label}: encoder "printer" is only for simulated movers`);
      }
      const ifc = iface(item, label, at) ?? defInterface;
      const max = int(item, 'maxConsecutiveFailures', 1, 1000, at) ?? defMax;
      if (mover) {
        stations.push({ name, mover, encoder: encoder === 'printer' ? undefined : encoder, interface: ifc, maxConsecutiveFailures: max });
      }
    });
  }
  if (issues.length) throw new StationsFileError(issues.sort((a, b) => a.line - b.line || a.col - b.col));
  return { file, stations };
}

type At = (node: Node | Pair | null | undefined, message: string) => void;

function checkKeys(map: YAMLMap, allowed: readonly string[], where: string, at: At): void {
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === undefined || !allowed.includes(key)) {
      at(pair.key as Node, `${where}: unknown key ${key === undefined ? '(not a plain key)' : `"${clip(key)}"`}; known: ${allowed.join(', ')}`);
    }
  }
}

function iface(map: YAMLMap, where: string, at: At): CardInterface | undefined {
  const n = map.get('interface', true) as Node | undefined;
  if (n === undefined) return undefined;
  if (isScalar(n) && (n.value === 'contact' || n.value === 'contactless')) return n.value;
  at(n, `${where}: interface must be contact or contactless`);
  return undefined;
}

function int(map: YAMLMap, key: string, min: number, max: number, at: At, where = ''): number | undefined {
  const n = map.get(key, true) as Node | undefined;
  if (n === undefined) return undefined;
  if (isScalar(n) && typeof n.value === 'number' && Number.isInteger(n.value) && n.value >= min && n.value <= max) return n.value;
  at(n, `${where}${key} must be an integer ${min}..${max}`);
  return undefined;
}

function moverConfig(item: YAMLMap, label: string, at: At): MoverConfig | undefined {
  const node = item.get('mover', true) as Node | undefined;
  if (node === undefined) {
    at(item, `${label}: missing mover (simulated, evolis or manual)`);
    return undefined;
  }
  let type: unknown;
  let map: YAMLMap | undefined;
  if (isScalar(node)) type = node.value;
  else if (isMap(node)) {
    map = node;
    const t = node.get('type', true) as Node | undefined;
    if (t === undefined) {
      at(node, `${label}: mover: missing type (simulated, evolis or manual)`);
      return undefined;
    }
    type = isScalar(t) ? t.value : undefined;
  }
  const typeNode = (map?.get('type', true) as Node | undefined) ?? node;
  const p = `${label}: mover: `;
  switch (type) {
    case 'simulated': {
      if (map) checkKeys(map, ['type', 'seed', 'cards', 'latency', 'faults'], `${label}: mover`, at);
      const seed = map ? int(map, 'seed', 0, 0xffffffff, at, p) : undefined;
      const cards = map ? int(map, 'cards', 0, 100_000_000, at, p) : undefined;
      const latency: PrinterLatency = {};
      const lat = map?.get('latency', true) as Node | undefined;
      if (lat !== undefined) {
        if (!isMap(lat)) at(lat, `${p}latency must be a map of ${LATENCY_KEYS.join(', ')} (ms)`);
        else {
          checkKeys(lat, LATENCY_KEYS, `${p}latency`, at);
          for (const k of LATENCY_KEYS) {
            const v = int(lat, k, 0, 600_000, at, `${p}latency.`);
            if (v !== undefined) latency[k] = v;
          }
        }
      }
      const faults: FaultSpec[] = [];
      const fl = map?.get('faults', true) as Node | undefined;
      if (fl !== undefined) {
        if (!isSeq(fl)) at(fl, `${p}faults must be a list`);
        else
          fl.items.forEach((f, i) => {
            const w = `${p}faults[${i}]: `;
            if (!isMap(f)) {
              at(f as Node, `${w}must be a map: { kind, card | every | probability, afterApdus? }`);
              return;
            }
            checkKeys(f, ['kind', 'card', 'every', 'probability', 'afterApdus'], `${p}faults[${i}]`, at);
            const k = f.get('kind', true) as Node | undefined;
            const kind = k && isScalar(k) ? k.value : undefined;
            if (!(FAULT_KINDS as readonly unknown[]).includes(kind)) {
              at(k ?? f, `${w}kind must be one of ${FAULT_KINDS.join(', ')}`);
              return;
            }
            const spec: FaultSpec = { kind: kind as FaultKind };
            const card = int(f, 'card', 1, 100_000_000, at, w);
            const every = int(f, 'every', 1, 100_000_000, at, w);
            const after = int(f, 'afterApdus', 0, 100_000, at, w);
            const probNode = f.get('probability', true) as Node | undefined;
            if (probNode !== undefined) {
              if (isScalar(probNode) && typeof probNode.value === 'number' && probNode.value >= 0 && probNode.value <= 1) spec.probability = probNode.value;
              else at(probNode, `${w}probability must be a number 0..1`);
            }
            if (card !== undefined) spec.card = card;
            if (every !== undefined) spec.every = every;
            if (after !== undefined) spec.afterApdus = after;
            const given = [f.has('card'), f.has('every'), f.has('probability')].filter(Boolean).length;
            if (given !== 1) at(f, `${w}give exactly one of card, every, probability`);
            faults.push(spec);
          });
      }
      return { type: 'simulated', seed: seed ?? 0, ...(cards !== undefined ? { cards } : {}), latency, faults };
    }
    case 'evolis': {
      if (!map) {
        at(node, `${p}evolis needs a map: { type: evolis, uri: tcp://HOST:PORT | /dev/usb/lp0 }`);
        return undefined;
      }
      checkKeys(map, ['type', 'uri', 'timeoutMs', 'replyIdleMs', 'ribbon'], `${label}: mover`, at);
      const u = map.get('uri', true) as Node | undefined;
      let uri = '';
      if (u === undefined) at(map, `${p}missing uri (tcp://HOST:PORT or a device path such as /dev/usb/lp0)`);
      else if (!isScalar(u) || typeof u.value !== 'string' || !/^(tcp:\/\/(\[[^\]]+\]|[^:/\s]+):\d{1,5}\/?|file:\/\/\/\S+|\/\S+)$/.test(u.value)) {
        at(u, `${p}uri must be tcp://HOST:PORT or a device path such as /dev/usb/lp0`);
      } else uri = u.value;
      const timeoutMs = int(map, 'timeoutMs', 100, 600_000, at, p);
      const replyIdleMs = int(map, 'replyIdleMs', 1, 10_000, at, p);
      const r = map.get('ribbon', true) as Node | undefined;
      let ribbon: string | null | undefined;
      if (r !== undefined) {
        if (isScalar(r) && (r.value === null || (typeof r.value === 'string' && /^[ymckoKO]+$/.test(r.value)))) ribbon = r.value as string | null;
        else at(r, `${p}ribbon must be panels such as k or ymcko, or null to keep the printer's setting`);
      }
      return {
        type: 'evolis',
        uri,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(replyIdleMs !== undefined ? { replyIdleMs } : {}),
        ...(ribbon !== undefined ? { ribbon } : {}),
      };
    }
    case 'manual': {
      if (map) checkKeys(map, ['type', 'waitMs'], `${label}: mover`, at);
      const waitMs = map ? int(map, 'waitMs', 1000, 86_400_000, at, p) : undefined;
      return { type: 'manual', ...(waitMs !== undefined ? { waitMs } : {}) };
    }
    default:
      at(typeNode, `${p}unknown type ${JSON.stringify(type)}; known: simulated, evolis, manual`);
      return undefined;
  }
}

/** `--sim N`: N simulated printer stations sim-1 … sim-N, seeds seed+1 … seed+N. */
export function simulatedStations(n: number, options: { seed?: number; cards?: number; latency?: PrinterLatency; faults?: FaultSpec[]; maxConsecutiveFailures?: number } = {}): StationConfig[] {
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError(`stations: --sim takes 1..256 stations, got ${n}`);
  return Array.from({ length: n }, (_, i) => ({
    name: `sim-${i + 1}`,
    mover: { type: 'simulated', seed: (options.seed ?? 0) + i + 1, ...(options.cards !== undefined ? { cards: options.cards } : {}), latency: { ...options.latency }, faults: [...(options.faults ?? [])] },
    encoder: undefined,
    interface: 'contact',
    maxConsecutiveFailures: options.maxConsecutiveFailures ?? 3,
  }));
}
