// Checking one field of a record against its declaration in the profile (record.fields). Each
// check returns the normalized value (dates become YYYYMMDD, file paths become paths relative to
// the batch folder) or a problem that names what is wrong without repeating the value.
import { isAbsolute, relative, resolve, sep } from 'node:path';
import iconv from 'iconv-lite';
import { clip } from '../../bytes/index.js';
import { FileChecks } from './file-check.js';
import { cardNumberProblem, citizenIdProblem, dateProblem, luhnValid, regionProblem, type FieldSpec } from '../../profiles/index.js';

export type FieldResult = { ok: true; value: string } | { ok: false; code: string; problem: string; hint?: string; mask?: boolean };

export interface FieldContext {
  /** The prep date, YYYYMMDD (for `past` dates). */
  today: string;
  /** Folder that file fields are relative to (the batch file's folder). */
  baseDir: string;
  /** The batch's file checks (each path checked once per batch); without it, each call checks afresh. */
  files?: FileChecks | undefined;
}

const bad = (code: string, problem: string, hint?: string, mask = true): FieldResult => ({ ok: false, code, problem, ...(hint ? { hint } : {}), mask });

/** GBK bytes of each character outside ASCII already seen (0: none), so that iconv runs once per character. */
const gbkBytes = new Map<number, number>();

function gbkCharBytes(ch: string, cp: number): number {
  let n = gbkBytes.get(cp);
  if (n === undefined) {
    const code = iconv.encode(ch, 'gbk');
    n = iconv.decode(code, 'gbk') === ch ? code.length : 0;
    gbkBytes.set(cp, n);
  }
  return n;
}

const codePoint = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

/** GBK bytes of text, or the 1-based position of the first character GBK cannot hold. */
export function gbkLength(text: string): { bytes: number } | { badChar: number; codePoint: string; control?: boolean } {
  let bytes = 0;
  let k = 0;
  for (const ch of text) {
    k++;
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      if (cp < 0x20 || cp === 0x7f) return { badChar: k, codePoint: codePoint(cp), control: true };
      bytes++;
      continue;
    }
    const n = gbkCharBytes(ch, cp);
    if (n === 0) return { badChar: k, codePoint: codePoint(cp) };
    bytes += n;
  }
  return { bytes };
}

/** Characters (code points) in text. */
function charCount(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** The first character (1-based) that is not printable ASCII, or 0. */
function firstNonAscii(text: string): number {
  let k = 0;
  for (const ch of text) {
    k++;
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || cp > 0x7e) return k;
  }
  return 0;
}

/** A profile's field pattern, compiled once. */
const patterns = new Map<string, RegExp>();
function matches(pattern: string, raw: string): boolean {
  let re = patterns.get(pattern);
  if (re === undefined) {
    re = new RegExp(`^(?:${pattern})$`, 'u');
    patterns.set(pattern, re);
  }
  return re.test(raw);
}

const DIGITS = /^[0-9]+$/;
const PAN = /^[0-9]{12,19}$/;

/** Checks one value (synchronously: photos too, see file-check.ts). */
export function checkField(spec: FieldSpec, raw: string, ctx: FieldContext): FieldResult {
  if (raw.length === 0) {
    return spec.required ? bad('required', 'is required but empty', undefined, false) : { ok: true, value: '' };
  }
  if (raw !== raw.trim()) return bad('spaces', 'has spaces at the start or end', 'remove them; cardsmith does not change cardholder data silently');
  switch (spec.type) {
    case 'citizen-id': {
      const p = citizenIdProblem(raw, spec.past ? ctx.today : undefined);
      return p ? bad('citizen-id', p, 'an 18-character citizen ID number whose last character is the GB 11643 check character') : { ok: true, value: raw };
    }
    case 'card-number': {
      const p = cardNumberProblem(raw);
      return p ? bad('card-number', p) : { ok: true, value: raw };
    }
    case 'text': {
      const n = charCount(raw);
      if (spec.charset === 'ascii') {
        const i = firstNonAscii(raw);
        if (i > 0) return bad('charset', `character ${i} is not printable ASCII`);
      } else {
        const g = gbkLength(raw);
        if ('badChar' in g) {
          if (g.control) return bad('control-character', `character ${g.badChar} is a control character (${g.codePoint}), such as a line break or tab`, 'text fields hold one line of text');
          return bad('gbk', `character ${g.badChar} (${g.codePoint}) has no GBK code`, 'cards store names in GBK; use the GBK form of the character or the name extension field');
        }
        if (spec.maxBytes !== undefined && g.bytes > spec.maxBytes) return bad('too-long', `is ${g.bytes} bytes in GBK, at most ${spec.maxBytes} fit`);
      }
      if (spec.maxLength !== undefined && n > spec.maxLength) return bad('too-long', `is ${n} characters, at most ${spec.maxLength}`);
      if (spec.minLength !== undefined && n < spec.minLength) return bad('too-short', `is ${n} characters, at least ${spec.minLength}`);
      if (spec.pattern !== undefined && !matches(spec.pattern, raw)) return bad('pattern', 'does not have the expected form', `the profile asks for /${spec.pattern}/`);
      return { ok: true, value: raw };
    }
    case 'digits':
    case 'pin': {
      if (!DIGITS.test(raw)) return bad('digits', 'must be digits only');
      const min = spec.minLength ?? (spec.type === 'pin' ? 4 : 1);
      const max = spec.maxLength ?? (spec.type === 'pin' ? 12 : Infinity);
      if (raw.length < min || raw.length > max) return bad('length', min === max ? `must be ${min} digits, got ${raw.length}` : `must be ${min} to ${max} digits, got ${raw.length}`);
      const v = Number(raw);
      if (spec.min !== undefined && v < spec.min) return bad('range', `must be at least ${spec.min}`);
      if (spec.max !== undefined && v > spec.max) return bad('range', `must be at most ${spec.max}`);
      if (spec.pattern !== undefined && !matches(spec.pattern, raw)) return bad('pattern', 'does not have the expected form');
      return { ok: true, value: raw };
    }
    case 'region': {
      const p = regionProblem(raw);
      return p ? bad('region', p, 'a 6-digit GB/T 2260 region code, e.g. 110105') : { ok: true, value: raw };
    }
    case 'date': {
      const p = dateProblem(raw, spec.past ? ctx.today : undefined);
      if (p) return bad('date', p);
      // dateProblem accepted YYYYMMDD or YYYY-MM-DD: normalizing is dropping the dashes.
      return { ok: true, value: raw.length === 8 ? raw : raw.replaceAll('-', '') };
    }
    case 'enum':
      return (spec.values ?? []).includes(raw) ? { ok: true, value: raw } : bad('enum', `is not one of ${(spec.values ?? []).join(', ')}`);
    case 'pan':
      if (!PAN.test(raw)) return bad('pan', 'must be 12 to 19 digits');
      return luhnValid(raw) ? { ok: true, value: raw } : bad('pan', 'fails the Luhn check (last digit)');
    case 'file':
      return checkFile(spec, raw, ctx);
  }
}

const MAGIC: Record<string, Uint8Array> = {
  jpeg: Uint8Array.of(0xff, 0xd8, 0xff),
  png: Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
};

function checkFile(spec: FieldSpec, raw: string, ctx: FieldContext): FieldResult {
  const files = ctx.files ?? new FileChecks(ctx.baseDir);
  return files.remember(spec, raw, () => checkFileOnce(spec, raw, ctx.baseDir, files));
}

function checkFileOnce(spec: FieldSpec, raw: string, baseDir: string, files: FileChecks): FieldResult {
  const path = resolve(baseDir, raw);
  const rel = relative(baseDir, path);
  // A batch names files in its own folder: an absolute path or ../ could read anything on the machine.
  if (isAbsolute(raw) || rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel)) {
    return bad('file-outside', 'names a file outside the batch folder', 'put the files in the batch folder (or below it) and give relative paths', false);
  }
  const f = files.facts(path, rel);
  const shown = (): string => clip(rel);
  switch (f.kind) {
    case 'missing':
      return bad('file-missing', `file ${shown()} does not exist`, 'paths are relative to the batch file', false);
    case 'not-file':
      return bad('file-missing', 'does not name a file', undefined, false);
    // A link (the file or a folder on its way) may point anywhere: where it really is counts.
    case 'outside':
      return bad('file-outside', `file ${shown()} is a link to a place outside the batch folder`, 'copy the file into the batch folder instead of linking to it', false);
  }
  if (f.size === 0) return bad('file-empty', `file ${shown()} is empty`, undefined, false);
  if (spec.maxBytes !== undefined && f.size > spec.maxBytes) return bad('file-too-large', `file ${shown()} is ${f.size} bytes, at most ${spec.maxBytes} fit`, 'compress the photo further', false);
  const magic = spec.format && spec.format !== 'any' ? MAGIC[spec.format] : undefined;
  if (magic) {
    const head = files.head(f);
    if (!magic.every((b, i) => head[i] === b)) return bad('file-format', `file ${shown()} is not a ${spec.format!.toUpperCase()} file`, undefined, false);
  }
  return { ok: true, value: sep === '/' ? rel : rel.split(sep).join('/') };
}

export { realInside } from './file-check.js';
