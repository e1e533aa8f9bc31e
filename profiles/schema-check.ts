// Checking a merged profile against the JSON Schema with Ajv (ajv.js.org: the most used and best
// kept JSON Schema validator for JavaScript, drafts 06–2020-12; chosen so that the published schema
// *is* what validation enforces — no second, hand-written copy of the rules to drift from it).
// Ajv reports JSON pointers; this module turns each error into a diagnostic at the file, line and
// column of the offending key or value, with a hint: "did you mean" for unknown keys and enum
// values, the schema's own description for patterns and missing keys.
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { clip } from '../bytes/index.js';
import type { Diagnostic, Loc } from './errors.js';
import { PROFILE_SCHEMA } from './schema.js';
import { nodeAt, toPlain, type LNode } from './source.js';
import { didYouMean } from './suggest.js';

// ajv is CommonJS: under NodeNext the default import is module.exports, whose `default` is the class.
const Ajv = AjvModule.default;

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  // strict: false — the schema uses if/then with anyOf, which Ajv's strict mode flags for style only.
  if (!compiled) compiled = new Ajv({ allErrors: true, verbose: true, strict: false }).compile(PROFILE_SCHEMA);
  return compiled;
}

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
  enum?: unknown[];
  type?: string | string[];
}

export function checkSchema(root: LNode): Diagnostic[] {
  const validate = validator();
  if (validate(toPlain(root))) return [];
  const out: Diagnostic[] = [];
  for (const e of validate.errors ?? []) {
    const d = toDiagnostic(root, e);
    if (d) out.push(d);
  }
  return out;
}

function segmentsOf(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function jsType(v: unknown): string {
  if (v === null) return 'nothing (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return 'text';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  return `a ${typeof v}`;
}

function typeName(t: string | string[] | undefined): string {
  const list = Array.isArray(t) ? t : [t ?? 'value'];
  return list.map((x) => ({ string: 'text', integer: 'an integer', number: 'a number', boolean: 'true or false', object: 'a mapping', array: 'a list' })[x] ?? x).join(' or ');
}

function toDiagnostic(root: LNode, e: ErrorObject): Diagnostic | undefined {
  const segs = segmentsOf(e.instancePath);
  const at = nodeAt(root, segs);
  const node = at.node;
  const seg = segs[segs.length - 1];
  // Keys and values are the user's: echoed clipped (a megabyte key, one short line).
  const last = seg === undefined ? undefined : clip(seg);
  const parent = e.parentSchema as SchemaNode | undefined;
  const diag = (loc: Loc, code: string, message: string, hint?: string): Diagnostic => ({ severity: 'error', code, message, hint, loc });
  const propertyName = (e as ErrorObject & { propertyName?: string }).propertyName;
  if (propertyName !== undefined) {
    const entry = node.kind === 'map' ? node.entries.find((x) => x.key === propertyName) : undefined;
    return diag(entry?.keyLoc ?? node.loc, 'bad-name', `'${clip(propertyName)}' is not a valid name`, 'names start with a letter or _ and hold letters, digits, _ and -');
  }
  switch (e.keyword) {
    case 'if':
    case 'propertyNames':
      return undefined; // the errors of the branch taken (or of the name) say more
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const entry = node.kind === 'map' ? node.entries.find((x) => x.key === key) : undefined;
      const known = Object.keys(parent?.properties ?? {});
      const hint = didYouMean(key, known) ?? (known.length > 0 ? `known keys here: ${known.join(', ')}` : undefined);
      return diag(entry?.keyLoc ?? node.loc, 'unknown-key', `unknown key '${clip(key)}'${last !== undefined ? ` in ${last}` : ''}`, hint);
    }
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      const description = parent?.properties?.[missing]?.description;
      const where = last !== undefined ? `${last} ` : 'the profile ';
      return diag(node.keyLoc ?? node.loc, 'missing-key', `${where}needs '${missing}'`, description);
    }
    case 'type': {
      const want = typeName((e.params as { type: string | string[] }).type);
      const hint = want === 'text' && node.kind === 'scalar' && node.value !== null ? 'put the value in quotes' : parent?.description;
      return diag(node.loc, 'wrong-type', `${last !== undefined ? `'${last}' ` : ''}must be ${want}, got ${jsType(e.data)}`, hint);
    }
    case 'enum': {
      const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
      const hint = (typeof e.data === 'string' ? didYouMean(e.data, allowed) : undefined) ?? `one of: ${allowed.join(', ')}`;
      return diag(node.loc, 'bad-value', `'${clip(e.data)}' is not allowed for ${last ?? 'this value'}`, hint);
    }
    case 'const':
      return diag(node.loc, 'bad-value', `'${clip(e.data)}' is not allowed for ${last ?? 'this value'}`, `write ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`);
    case 'pattern':
      return diag(node.loc, 'bad-format', `'${clip(e.data)}' is not a valid ${last ?? 'value'}`, parent?.description ?? `it must match ${(e.params as { pattern: string }).pattern}`);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const p = e.params as { comparison: string; limit: number };
      return diag(node.loc, 'out-of-range', `${last ?? 'value'} ${clip(e.data)} is out of range (must be ${p.comparison} ${p.limit})`, parent?.description);
    }
    case 'minItems':
    case 'maxItems':
    case 'minLength':
    case 'maxLength':
      return diag(node.loc, 'out-of-range', `${last ?? 'value'} ${e.message ?? 'has the wrong size'}`, parent?.description);
    case 'uniqueItems':
      return diag(node.loc, 'duplicate-item', `${last ?? 'the list'} lists the same item twice`, 'remove the repeated item');
    default:
      return diag(node.loc, 'schema', `${last ?? 'value'} ${e.message ?? 'is not valid'}`, parent?.description);
  }
}
