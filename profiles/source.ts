// Reading one YAML file into a tree that remembers where every key and value came from, so that
// schema errors, merge results and semantic checks can all point at file:line:column. Uses the
// `yaml` package (eemeli/yaml, YAML 1.2): it keeps node ranges and the raw source text of scalars,
// reports syntax errors with offsets, and refuses duplicate keys — which is how a duplicate file
// or key *name* in one DF is found.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar, visit, type Document, type Node as YamlNode } from 'yaml';
import type { Diagnostic, Loc } from './errors.js';
import { MAX_YAML_ALIASES, MAX_YAML_DEPTH, MAX_YAML_NODES, TOO_DEEP_MESSAGE, tooDeepAt } from '../files/yaml-limits.js';

export interface LBase {
  loc: Loc;
  /** Where the key that holds this value is, when the value sits in a mapping (for "missing key" errors). */
  keyLoc?: Loc | undefined;
}

export interface LEntry {
  key: string;
  keyLoc: Loc;
  value: LNode;
}

export interface LMap extends LBase {
  kind: 'map';
  entries: LEntry[];
}

export interface LSeq extends LBase {
  kind: 'seq';
  items: LNode[];
}

export type ScalarValue = string | number | boolean | null;

export interface LScalar extends LBase {
  kind: 'scalar';
  value: ScalarValue;
  /** `!delete`: in a profile that extends or includes another, removes the key (merge rules). */
  deleted?: boolean | undefined;
  /** Maps a character offset in the (string) value to a place in the file, where the style allows. */
  at?: ((offset: number) => Loc) | undefined;
}

export type LNode = LMap | LSeq | LScalar;

/**
 * Keys whose values are hexadecimal byte strings. YAML 1.2 reads `fid: 0012` as the number 12 and
 * `dgi: 0101` as 101; for these keys the loader takes the characters as written instead, so a
 * profile author can write identifiers the way card documents print them.
 */
export const HEX_KEYS: ReadonlySet<string> = new Set(['fid', 'aid', 'tag', 'dgi', 'id', 'module', 'installParameters', 'template']);

/**
 * Keys whose values are always text. YAML would read `value: 3.00` as the number 3 and
 * `revision: 1.10` as 1.1; for these keys (and list items under them) the characters as written
 * are kept.
 */
export const TEXT_KEYS: ReadonlySet<string> = new Set(['value', 'label', 'title', 'revision', 'description', 'message', 'values', 'levels', 'data', 'equal', 'pattern', 'field', 'profile']);

/**
 * Parameters are text unless written as a plain decimal integer: `cityCode: 011000` keeps its
 * leading zero, `validityYears: 10` is the number 10.
 */
function parameterValue(source: string, value: unknown): ScalarValue {
  if (typeof value === 'number' && /^(0|-?[1-9][0-9]*)$/.test(source)) return value;
  return source;
}

export interface ParsedFile {
  root: LNode | undefined;
  diagnostics: Diagnostic[];
}

/** Parses `text` (the contents of `file`). Syntax errors come back as diagnostics, never thrown. */
export function parseYaml(text: string, file: string): ParsedFile {
  const lineCounter = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const deep = tooDeepAt(text);
  if (deep !== undefined) {
    return { root: undefined, diagnostics: [{ severity: 'error', code: 'yaml-too-deep', message: TOO_DEEP_MESSAGE, hint: 'a profile nests a few levels; this file looks generated or damaged', loc: { file, ...deep } }] };
  }
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    customTags: [{ tag: '!delete', resolve: () => null }],
  });
  const locOf = (offset: number): Loc => {
    const p = lineCounter.linePos(offset);
    return { file, line: p.line, col: p.col };
  };
  for (const e of [...doc.errors, ...doc.warnings]) {
    const { message, hint } = yamlMessage(e.code, e.message);
    diagnostics.push({ severity: 'error', code: e.code === 'DUPLICATE_KEY' ? 'duplicate-name' : 'yaml-syntax', message, hint, loc: locOf(e.pos[0]) });
  }
  if (doc.errors.length > 0) return { root: undefined, diagnostics };
  if (doc.contents === null) return { root: undefined, diagnostics };
  const state: ConvertState = { doc, aliases: aliasTargets(doc), expanding: new Set(), aliasUses: 0, nodes: 0, exhausted: false };
  const root = convert(state, doc.contents as YamlNode, text, locOf, [], diagnostics, 0);
  // Past a limit the tree is cut short: checking it would only add noise to the one real error.
  if (state.exhausted) return { root: undefined, diagnostics };
  return { root, diagnostics };
}

/** YAML library messages, made a little more actionable for the common cases. */
function yamlMessage(code: string, message: string): { message: string; hint?: string } {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  switch (code) {
    case 'DUPLICATE_KEY':
      return { message: `YAML: ${first}`, hint: 'names must be unique within one mapping (one DF, one key set); rename or remove one' };
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
    case 'UNEXPECTED_TOKEN':
      return { message: `YAML syntax: ${first}`, hint: 'check the indentation and the quotes on this line' };
    case 'TAG_RESOLVE_FAILED':
      return { message: `YAML: ${first}`, hint: 'the only tag profiles use is !delete' };
    case 'RESOURCE_EXHAUSTION':
      return { message: TOO_DEEP_MESSAGE };
    default:
      return { message: `YAML syntax: ${first}` };
  }
}

interface ConvertState {
  doc: Document;
  /** Each alias node → the anchored node it stands for (resolved once: the library's lookup walks the whole document per call). */
  aliases: Map<YamlNode, YamlNode | undefined>;
  /** Anchored nodes being expanded now: an alias to one of them would expand forever. */
  expanding: Set<YamlNode>;
  aliasUses: number;
  nodes: number;
  /** A limit was hit (reported once): the rest converts to nulls at once. */
  exhausted: boolean;
  /** The alias in the document's own text being expanded: limits are reported there, not inside the anchor. */
  outerAlias?: Loc | undefined;
}

/** Each alias → the last node before it with that anchor (YAML 1.2 §3.2.2.2), in one walk of the document. */
function aliasTargets(doc: Document): Map<YamlNode, YamlNode | undefined> {
  const anchors = new Map<string, YamlNode>();
  const out = new Map<YamlNode, YamlNode | undefined>();
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) out.set(node, anchors.get(node.source));
      else if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  return out;
}

function convert(
  state: ConvertState,
  node: YamlNode,
  text: string,
  locOf: (offset: number) => Loc,
  path: readonly string[],
  diagnostics: Diagnostic[],
  depth: number,
): LNode {
  const start = node.range?.[0] ?? 0;
  const loc = locOf(start);
  const stop = (code: string, message: string, hint?: string): LScalar => {
    state.exhausted = true;
    diagnostics.push({ severity: 'error', code, message, hint, loc: state.outerAlias ?? loc });
    return { kind: 'scalar', value: null, loc };
  };
  if (state.exhausted) return { kind: 'scalar', value: null, loc };
  if (depth > MAX_YAML_DEPTH) return stop('yaml-too-deep', TOO_DEEP_MESSAGE);
  if (++state.nodes > MAX_YAML_NODES) {
    return stop('yaml-too-large', `YAML: the aliases here expand the file to more than ${MAX_YAML_NODES} values`, 'write the values out, or use fewer nested aliases');
  }
  if (isAlias(node)) {
    const target = state.aliases.get(node);
    if (!target) {
      diagnostics.push({ severity: 'error', code: 'yaml-syntax', message: `YAML: alias *${node.source} names no anchor`, loc });
      return { kind: 'scalar', value: null, loc };
    }
    if (state.expanding.has(target)) return stop('yaml-syntax', `YAML: alias *${node.source} is inside the node it names`, 'an alias cannot repeat the list or mapping it is part of');
    if (++state.aliasUses > MAX_YAML_ALIASES) return stop('yaml-too-large', `YAML: more than ${MAX_YAML_ALIASES} aliases are used`, 'write the values out, or use fewer aliases');
    // An alias stands for the anchored node; its places stay those of the anchor, where the text is.
    const outermost = state.outerAlias === undefined;
    if (outermost) state.outerAlias = loc;
    state.expanding.add(target);
    try {
      return convert(state, target, text, locOf, path, diagnostics, depth + 1);
    } finally {
      state.expanding.delete(target);
      if (outermost) state.outerAlias = undefined;
    }
  }
  if (isMap(node)) {
    const entries: LEntry[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as YamlNode | null;
      const keyStart = keyNode?.range?.[0] ?? start;
      let key: string;
      if (keyNode && isScalar(keyNode)) {
        // The characters as written: `01:` is the key "01", not the number 1.
        key = keyNode.source ?? String(keyNode.value);
      } else {
        diagnostics.push({ severity: 'error', code: 'yaml-syntax', message: 'YAML: a key must be a plain name, not a mapping or a list', loc: locOf(keyStart) });
        continue;
      }
      const keyLoc = locOf(keyStart);
      const valueNode = pair.value as YamlNode | null;
      const value: LNode = valueNode
        ? convert(state, valueNode, text, locOf, [...path, key], diagnostics, depth + 1)
        : { kind: 'scalar', value: null, loc: keyLoc };
      value.keyLoc = keyLoc;
      entries.push({ key, keyLoc, value });
    }
    return { kind: 'map', entries, loc };
  }
  if (isSeq(node)) {
    const items: LNode[] = [];
    for (const item of node.items) {
      if (item === null || item === undefined) {
        items.push({ kind: 'scalar', value: null, loc });
        continue;
      }
      items.push(convert(state, item as YamlNode, text, locOf, path, diagnostics, depth + 1));
    }
    return { kind: 'seq', items, loc };
  }
  if (isScalar(node)) return scalar(node, text, loc, locOf, path);
  diagnostics.push({ severity: 'error', code: 'yaml-syntax', message: 'YAML: unsupported node', loc });
  return { kind: 'scalar', value: null, loc };
}

function scalar(node: Scalar, text: string, loc: Loc, locOf: (offset: number) => Loc, path: readonly string[]): LScalar {
  const deleted = node.tag === '!delete';
  let value: ScalarValue;
  const raw = node.value;
  const parentKey = path[path.length - 1];
  const plain = node.type === Scalar.PLAIN && typeof node.source === 'string' && raw !== null;
  if (deleted) value = null;
  else if (plain && parentKey !== undefined && HEX_KEYS.has(parentKey)) {
    // Hex identifiers as written (see HEX_KEYS); a `0x` prefix is dropped for the same reason.
    value = node.source!.replace(/^0[xX]/, '');
  } else if (plain && typeof raw !== 'string' && parentKey !== undefined && TEXT_KEYS.has(parentKey)) {
    value = node.source!;
  } else if (plain && path.length === 2 && path[0] === 'parameters') {
    value = parameterValue(node.source!, raw);
  } else if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean' || raw === null) value = raw;
  else if (typeof raw === 'bigint') value = Number(raw);
  else value = String(raw);
  const out: LScalar = { kind: 'scalar', value, loc, deleted: deleted || undefined };
  if (typeof value === 'string' && node.range) out.at = offsetMapper(node, value, text, loc, locOf);
  return out;
}

/**
 * For single-line scalars whose characters appear in the file as they are in the value (plain,
 * or quoted without escapes before the offset), offset k of the value is column col + quote + k.
 * Anything else (block scalars, escapes, folded lines) maps to the start of the scalar.
 */
function offsetMapper(node: Scalar, value: string, text: string, loc: Loc, locOf: (offset: number) => Loc): (offset: number) => Loc {
  const [start, end] = node.range!;
  const quote = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ? 1 : 0;
  const inline = node.type === Scalar.PLAIN || quote === 1;
  const raw = text.slice(start + quote, end);
  return (offset: number): Loc => {
    if (!inline) return loc;
    const prefix = value.slice(0, offset);
    if (prefix.includes('\n') || !raw.startsWith(prefix)) return loc;
    return locOf(start + quote + offset);
  };
}

// ---------------------------------------------------------------------------------------------
// Plain values and navigation.

/** The plain JSON value of a located tree (what the JSON Schema is checked against). */
export function toPlain(node: LNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const e of node.entries) out[e.key] = toPlain(e.value);
      return out;
    }
  }
}

export function entry(map: LNode | undefined, key: string): LEntry | undefined {
  if (!map || map.kind !== 'map') return undefined;
  return map.entries.find((e) => e.key === key);
}

export function child(map: LNode | undefined, key: string): LNode | undefined {
  return entry(map, key)?.value;
}

/** Follows a JSON pointer's segments (`/files/SSSE/fid`) through the tree; stops at the deepest node found. */
export function nodeAt(root: LNode, segments: readonly string[]): { node: LNode; complete: boolean; keyLoc?: Loc | undefined } {
  let node = root;
  let keyLoc: Loc | undefined;
  for (const seg of segments) {
    if (node.kind === 'map') {
      const e = node.entries.find((x) => x.key === seg);
      if (!e) return { node, complete: false, keyLoc };
      keyLoc = e.keyLoc;
      node = e.value;
    } else if (node.kind === 'seq') {
      const item = node.items[Number(seg)];
      if (!item) return { node, complete: false, keyLoc };
      keyLoc = undefined;
      node = item;
    } else return { node, complete: false, keyLoc };
  }
  return { node, complete: true, keyLoc };
}
