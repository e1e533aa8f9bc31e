// What expressions read: parameters, serial counters, and the batch record's fields (with the
// expression type each field gives) and cross-field rules.
import { clip } from '../../bytes/index.js';
import type { Loc } from '../errors.js';
import { bytesType, constantText, describeType, textType, type Charset, type ExprType } from '../expr.js';
import type { LNode } from '../source.js';
import { didYouMean } from '../suggest.js';
import type { FieldSpec, FieldType, RecordRule } from '../types.js';
import type { Context } from './context.js';

export function readParameters(ctx: Context): void {
  for (const e of ctx.entries(ctx.get(ctx.root, 'parameters'))) {
    if (e.value.kind === 'scalar' && (typeof e.value.value === 'string' || typeof e.value.value === 'number')) ctx.params.set(e.key, e.value.value);
  }
}

/** Named values are compiled on first use (they may use each other); here they are only listed. */
export function declareValues(ctx: Context): void {
  for (const e of ctx.entries(ctx.get(ctx.root, 'values'))) if (e.value.kind === 'scalar') ctx.valueNodes.set(e.key, e.value);
}

export function readSerials(ctx: Context): void {
  for (const e of ctx.entries(ctx.get(ctx.root, 'serials'))) {
    ctx.serials.set(e.key, { name: e.key, start: ctx.num(e.value, 'start') ?? 1, loc: e.keyLoc });
  }
}

export function readRecord(ctx: Context): void {
  const rec = ctx.map(ctx.get(ctx.root, 'record'));
  for (const e of ctx.entries(ctx.get(rec, 'fields'))) {
    const f = readField(ctx, e.key, e.value, e.keyLoc);
    if (!f) continue;
    ctx.fields.set(e.key, f);
    const t = fieldExprType(f);
    if (t) ctx.fieldTypes.set(e.key, t);
  }
  const key = ctx.str(rec, 'key');
  if (key !== undefined && !ctx.fields.has(key)) {
    ctx.error(ctx.locOf(rec, 'key'), 'unknown-field', `record key '${clip(key)}' is not one of the record's fields`, didYouMean(key, ctx.fields.keys()) ?? 'name the field that identifies a cardholder, e.g. ssn');
  } else if (key !== undefined && ctx.fields.get(key)!.required === false) {
    ctx.error(ctx.locOf(rec, 'key'), 'optional-key-field', `record key '${clip(key)}' is optional; a key field must be required`);
  }
}

function readField(ctx: Context, name: string, node: LNode, keyLoc: Loc): FieldSpec | undefined {
  const type = ctx.str(node, 'type') as FieldType | undefined;
  if (!type) return undefined;
  const f: FieldSpec = {
    name,
    type,
    required: ctx.bool(node, 'required') ?? true,
    description: ctx.str(node, 'description'),
    charset: ctx.str(node, 'charset') as 'gbk' | 'ascii' | undefined,
    minLength: ctx.num(node, 'minLength') ?? ctx.num(node, 'length'),
    maxLength: ctx.num(node, 'maxLength') ?? ctx.num(node, 'length'),
    maxBytes: ctx.num(node, 'maxBytes'),
    min: ctx.num(node, 'min'),
    max: ctx.num(node, 'max'),
    values: (() => {
      const v = ctx.get(node, 'values');
      return v?.kind === 'seq' ? v.items.flatMap((i) => (i.kind === 'scalar' && typeof i.value === 'string' ? [i.value] : [])) : undefined;
    })(),
    pattern: ctx.str(node, 'pattern'),
    format: ctx.str(node, 'format') as FieldSpec['format'],
    past: ctx.bool(node, 'past'),
    loc: keyLoc,
  };
  const allowed: Record<FieldType, string[]> = {
    'citizen-id': ['past'],
    'card-number': [],
    text: ['charset', 'length', 'minLength', 'maxLength', 'maxBytes', 'pattern'],
    digits: ['length', 'minLength', 'maxLength', 'min', 'max', 'pattern'],
    region: [],
    date: ['past'],
    enum: ['values'],
    file: ['maxBytes', 'format'],
    pan: [],
    pin: ['length', 'minLength', 'maxLength'],
  };
  const common = ['type', 'required', 'description'];
  const known = new Set(Object.values(allowed).flat());
  for (const e of ctx.entries(node)) {
    // Keys the schema does not know are reported by it ("unknown key"); here only misplaced known ones.
    if (known.has(e.key) && !common.includes(e.key) && !allowed[type].includes(e.key)) {
      ctx.error(e.keyLoc, 'field-option', `'${clip(e.key)}' does not apply to a ${type} field`, allowed[type].length ? `${type} fields take: ${allowed[type].join(', ')}` : `a ${type} field takes no options besides required and description`);
    }
  }
  if (type === 'text' && f.maxLength === undefined && f.maxBytes === undefined) {
    ctx.error(keyLoc, 'field-length', `text field '${clip(name)}' needs maxLength or maxBytes`, 'say how long the text may be, e.g. maxBytes: 30 for a GBK name');
  }
  if (type === 'text' && f.charset === undefined) f.charset = 'gbk';
  if (type === 'file' && f.maxBytes === undefined) ctx.error(keyLoc, 'field-length', `file field '${clip(name)}' needs maxBytes`, 'the largest file accepted, e.g. maxBytes: 8192');
  if (type === 'digits' && f.maxLength === undefined) ctx.error(keyLoc, 'field-length', `digits field '${clip(name)}' needs length or maxLength`);
  if (type === 'enum' && (!f.values || f.values.length === 0)) ctx.error(keyLoc, 'field-values', `enum field '${clip(name)}' needs values`, "values: ['1', '2']");
  if (f.minLength !== undefined && f.maxLength !== undefined && f.minLength > f.maxLength) {
    ctx.error(keyLoc, 'field-length', `field '${clip(name)}': minLength ${f.minLength} is more than maxLength ${f.maxLength}`);
  }
  if (f.pattern !== undefined) {
    try {
      new RegExp(f.pattern, 'u');
    } catch (e) {
      ctx.error(ctx.locOf(node, 'pattern'), 'bad-pattern', `field '${clip(name)}': the pattern is not a regular expression (${(e as Error).message})`);
    }
  }
  return f;
}

export function readRules(ctx: Context): RecordRule[] {
  const out: RecordRule[] = [];
  const rules = ctx.get(ctx.get(ctx.root, 'record'), 'rules');
  if (rules?.kind !== 'seq') return out;
  for (const r of rules.items) {
    const eq = ctx.get(r, 'equal');
    if (eq?.kind !== 'seq' || eq.items.length !== 2) continue;
    const a = ctx.exprNode(eq.items[0]!, 'rule');
    const b = ctx.exprNode(eq.items[1]!, 'rule');
    if (!a || !b) continue;
    for (const [x, n] of [[a, eq.items[0]!], [b, eq.items[1]!]] as const) {
      if (x.type.t !== 'text') ctx.error(n.loc, 'expr-type', `rule: compares text; this side is ${describeType(x.type)}`);
      if (x.phase === 'run') ctx.error(n.loc, 'expr-phase', 'rule: uses facts known only with the card in the encoder; rules are checked when the batch is read');
    }
    out.push({ equal: [a, b], message: ctx.str(r, 'message') ?? 'rule failed', loc: r.loc });
  }
  return out;
}

function fieldExprType(f: FieldSpec): ExprType | undefined {
  const min = (n: number): number => (f.required ? n : 0);
  switch (f.type) {
    case 'citizen-id':
      return textType(min(18), 18, 'upper');
    case 'card-number':
      return textType(min(9), 9, 'upper');
    case 'text': {
      const ascii = f.charset === 'ascii';
      const max = f.maxLength ?? f.maxBytes ?? 0;
      const gbk = f.maxBytes ?? (ascii ? max : 2 * max);
      return textType(min(f.minLength ?? 1), max, ascii ? 'ascii' : 'any', gbk);
    }
    case 'digits':
    case 'pin':
      return textType(min(f.minLength ?? 1), f.maxLength ?? (f.type === 'pin' ? 12 : 0), 'digits');
    case 'region':
      return textType(min(6), 6, 'digits');
    case 'date':
      return textType(min(8), 8, 'digits');
    case 'pan':
      return textType(min(12), 19, 'digits');
    case 'enum': {
      const vals = f.values ?? [];
      if (vals.length === 0) return undefined;
      const t = vals.map(constantText);
      return textType(min(Math.min(...t.map((x) => x.min))), Math.max(...t.map((x) => x.max)), t.reduce<Charset>((c, x) => (['digits', 'upper', 'ascii', 'any'].indexOf(x.charset) > ['digits', 'upper', 'ascii', 'any'].indexOf(c) ? x.charset : c), 'digits'), Math.max(...t.map((x) => x.gbkMax)));
    }
    case 'file':
      return bytesType(f.required ? 1 : 0, f.maxBytes ?? 0);
  }
}
