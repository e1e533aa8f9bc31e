// Data elements of an EF: where each goes (offset, SIMPLE-TLV tag or record number), that it fits
// its file, its value or parts, and that the file can be written at all.
import { clip } from '../../bytes/index.js';
import type { Encoding } from '../codec.js';
import type { Loc } from '../errors.js';
import type { Expr } from '../expr.js';
import { entry, type LNode } from '../source.js';
import type { DataElement, DfNode, EfNode, ElementPart } from '../types.js';
import { resolveAccess } from './access.js';
import { hex2, type Context } from './context.js';
import { checkCodec, checkFit } from './fit.js';

export function completeEf(ctx: Context, ef: EfNode, df: DfNode): void {
  const node = ctx.srcOf.get(ef)!;
  const access = ctx.map(ctx.get(node, 'access'));
  ef.access = { read: resolveAccess(ctx, access, 'read', df), update: resolveAccess(ctx, access, 'update', df), append: resolveAccess(ctx, access, 'append', df) };
  const data = ctx.get(node, 'data');
  const byTag = new Map<number, DataElement>();
  const byRecord = new Map<number, DataElement>();
  let nextOffset = 0;
  const ranges: { from: number; to: number; el: DataElement }[] = [];
  for (const e of ctx.entries(data)) {
    const el = element(ctx, e.key, e.value, e.keyLoc, ef);
    if (!el) continue;
    const src = ctx.map(e.value)!;
    if (ef.structure === 'transparent') {
      for (const k of ['tag', 'record']) if (entry(src, k)) ctx.error(ctx.keyLocOf(src, k), 'element-place', `'${clip(k)}' is for record files; ${ef.name} is transparent (use offset)`);
      el.offset = ctx.num(src, 'offset') ?? nextOffset;
      nextOffset = el.offset + el.length;
      if (el.offset + el.length > ef.size && ef.size > 0) {
        ctx.error(el.loc, 'data-past-end', `element ${el.name} (${el.length} bytes at offset ${el.offset}) runs past the end of ${ef.name}, which is ${ef.size} bytes`, 'make the file larger or the element shorter');
      }
      const clash = ranges.find((r) => el.offset! < r.to && r.from < el.offset! + el.length);
      if (clash) ctx.error(el.loc, 'element-overlap', `element ${el.name} overlaps ${clash.el.name} in ${ef.name}`, 'give each element its own offset range');
      ranges.push({ from: el.offset, to: el.offset + el.length, el });
    } else if (ef.tlv) {
      if (entry(src, 'offset')) ctx.error(ctx.keyLocOf(src, 'offset'), 'element-place', `'offset' is for transparent files; in ${ef.name} each element is one TLV record`);
      if (entry(src, 'record')) ctx.error(ctx.keyLocOf(src, 'record'), 'element-place', `${ef.name} is a SIMPLE-TLV file: records are found by tag, not by number`, 'give tag: instead of record:');
      const tag = ctx.hexNum(src, 'tag');
      if (tag === undefined) {
        if (!entry(src, 'tag')) ctx.error(el.loc, 'element-place', `element ${el.name} of SIMPLE-TLV file ${ef.name} needs a tag`, "tag: '01' … 'FE'");
        continue;
      }
      if (tag === 0x00 || tag === 0xff) ctx.error(ctx.locOf(src, 'tag'), 'element-place', `tag ${hex2(tag)} cannot start a SIMPLE-TLV record (00 and FF are padding)`);
      el.tag = tag;
      const other = byTag.get(tag);
      if (other) ctx.error(ctx.locOf(src, 'tag'), 'duplicate-tag', `tag ${hex2(tag)} is used by ${other.name} and ${el.name} in ${ef.name}`, 'the tag identifies the record; each must be unique in its file');
      else byTag.set(tag, el);
      const size = 2 + el.length;
      if (ef.recordLength > 0 && size > ef.recordLength) {
        ctx.error(el.loc, 'record-too-long', `record ${hex2(tag)} (${el.name}) is ${size} bytes (tag, length and ${el.length} bytes of value), but records of ${ef.name} hold at most ${ef.recordLength}`, `raise ${ef.name}'s recordLength to ${size} or more, or shorten the element`);
      }
      if (ef.structure !== 'linear-variable' && ef.recordLength > 0 && size < ef.recordLength && !el.fixed) {
        ctx.warn(el.loc, 'record-short', `${ef.structure} records are exactly ${ef.recordLength} bytes; ${el.name} may be shorter and is then padded`);
      }
    } else {
      for (const k of ['tag', 'offset']) if (entry(src, k)) ctx.error(ctx.keyLocOf(src, k), 'element-place', `'${clip(k)}' does not apply in ${ef.name} (a record file without tlv: use record: N)`);
      const rec = ctx.num(src, 'record');
      if (rec === undefined) {
        ctx.error(el.loc, 'element-place', `element ${el.name} of record file ${ef.name} needs record: N`);
        continue;
      }
      el.record = rec;
      const other = byRecord.get(rec);
      if (other) ctx.error(ctx.locOf(src, 'record'), 'duplicate-record', `record ${rec} is written by ${other.name} and ${el.name}`);
      else byRecord.set(rec, el);
      if (ef.maxRecords > 0 && rec > ef.maxRecords) ctx.error(ctx.locOf(src, 'record'), 'too-many-records', `record ${rec} does not exist: ${ef.name} holds ${ef.maxRecords} records`);
      if (ef.recordLength > 0 && el.length > ef.recordLength) {
        ctx.error(el.loc, 'record-too-long', `element ${el.name} is ${el.length} bytes, but records of ${ef.name} hold at most ${ef.recordLength}`, `raise recordLength or shorten the element`);
      } else if (ef.structure !== 'linear-variable' && ef.recordLength > 0 && (el.length !== ef.recordLength || !el.fixed)) {
        ctx.error(el.loc, 'record-length', `${ef.structure} records of ${ef.name} are exactly ${ef.recordLength} bytes; element ${el.name} must be length: ${ef.recordLength}`);
      }
    }
    ef.elements.push(el);
  }
  if (ef.structure !== 'transparent' && ef.maxRecords > 0 && ef.elements.length > ef.maxRecords && ef.structure !== 'cyclic') {
    ctx.error(ctx.keyLocOf(node, 'data'), 'too-many-records', `${ef.name} gets ${ef.elements.length} records, but holds ${ef.maxRecords}`, `raise records to ${ef.elements.length} or more`);
  }
  if (ef.elements.length > 0) {
    // Personalization writes transparent files with UPDATE BINARY and record files with APPEND RECORD.
    const op = ef.structure === 'transparent' ? 'update' : 'append';
    if (ef.access[op].kind === 'never') {
      ctx.error(ctx.keyLocOf(node, 'access'), 'unwritable', `${ef.name} has data to write, but its ${op} access is never, which even the personalization authority cannot pass`, `give ${op}: a condition (e.g. auth(KEY)) — during personalization the card accepts any condition except never`);
    }
  }
  if (ef.internal && ef.elements.length > 0) ctx.error(ctx.keyLocOf(node, 'data'), 'ef-shape', `${ef.name} is internal (a private key); only on-card key generation writes it`);
}

/** A data element: codec, value expression (or parts), and whether the value fits the codec. */
function element(ctx: Context, name: string, node: LNode, keyLoc: Loc, ef: EfNode): DataElement | undefined {
  const m = ctx.map(node);
  if (!m) return undefined;
  const encoding = ctx.str(m, 'encoding') as Encoding | undefined;
  if (!encoding) return undefined;
  const length = ctx.num(m, 'length');
  const maxLength = ctx.num(m, 'maxLength');
  if ((length === undefined) === (maxLength === undefined)) {
    ctx.error(keyLoc, 'element-length', `element ${name} needs exactly one of length and maxLength`, 'length: always that many bytes (padded); maxLength: up to that many');
    return undefined;
  }
  const el: DataElement = {
    name,
    encoding,
    length: (length ?? maxLength)!,
    fixed: length !== undefined,
    pad: ctx.hexNum(m, 'pad'),
    skipEmpty: ctx.bool(m, 'skipEmpty') ?? false,
    loc: keyLoc,
  };
  checkCodec(ctx, el, m, `${ef.name}.${name}`);
  const partsNode = ctx.get(m, 'parts');
  if (partsNode && entry(m, 'value')) {
    ctx.error(ctx.keyLocOf(m, 'parts'), 'element-value', `element ${name} gives both value and parts`, 'keep one');
    return el;
  }
  if (partsNode) {
    if (encoding !== 'binary') ctx.error(ctx.locOf(m, 'encoding'), 'element-value', `element ${name} has parts, so its encoding is binary (each part has its own)`);
    const parts: ElementPart[] = [];
    for (const p of ctx.entries(partsNode)) {
      const pm = ctx.map(p.value);
      const penc = ctx.str(pm, 'encoding') as Encoding | undefined;
      const plen = ctx.num(pm, 'length');
      if (!pm || !penc || plen === undefined) {
        if (pm && entry(pm, 'maxLength')) ctx.error(p.keyLoc, 'element-length', `part ${p.key} needs a fixed length (parts sit side by side)`);
        continue;
      }
      const part: ElementPart = { name: p.key, encoding: penc, length: plen, fixed: true, pad: ctx.hexNum(pm, 'pad'), value: undefined as unknown as Expr, loc: p.keyLoc };
      checkCodec(ctx, part, pm, `${ef.name}.${name}.${p.key}`);
      const v = ctx.expr(pm, 'value', `${name}.${p.key}`);
      if (v) {
        checkFit(ctx, part, v, ctx.get(pm, 'value')!, `${name}.${p.key}`);
        part.value = v;
        parts.push(part);
      }
    }
    const total = ctx.entries(partsNode).reduce((n, p) => n + (ctx.num(p.value, 'length') ?? 0), 0);
    if (total !== el.length) {
      ctx.error(ctx.keyLocOf(m, 'parts'), 'parts-length', `the parts of ${name} add up to ${total} bytes, but the element is ${el.length}`, 'make the part lengths add up to the element length');
    }
    el.parts = parts;
    return el;
  }
  const valueNode = ctx.get(m, 'value');
  if (!valueNode) {
    ctx.error(keyLoc, 'element-value', `element ${name} needs a value (or parts)`, 'value: ${record.FIELD} or a literal');
    return undefined;
  }
  const v = ctx.exprNode(valueNode, name);
  if (v) {
    checkFit(ctx, el, v, valueNode, name);
    el.value = v;
  }
  return el;
}
