// Reuse between profiles: `extends: base.yaml` (one parent) and `include: [a.yaml, …]` (fragments),
// resolved into one located tree before anything is checked. Merge rules (docs/profiles.md):
//   result = parent ⊕ include[0] ⊕ include[1] ⊕ … ⊕ this file
//   - mappings merge key by key, recursively; keys new to the later file go after the earlier ones
//     (so files added by a child are created after the parent's);
//   - a list, a scalar, or a value of another type replaces the earlier value whole;
//   - `key: !delete` removes the key (and everything under it) from the result.
// Paths are relative to the file that names them; `builtin:NAME` names a profile shipped in
// profiles/. A file that (directly or through others) extends or includes itself is a cycle,
// reported at the reference that closes it with the whole chain.
import { clip } from '../bytes/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Diagnostic, Loc } from './errors.js';
import { parseYaml, type LEntry, type LMap, type LNode } from './source.js';

/** Where the built-in profiles live (profiles/ beside this module, also when run from dist/). */
export function builtinDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [here, join(here, '..', '..', 'profiles')];
  for (const c of candidates) if (existsSync(join(c, 'sscard-gen3.yaml'))) return c;
  return here;
}

/** `builtin:sscard-gen3` → the shipped file; anything else is a path relative to `from`'s folder. */
export function resolveProfilePath(ref: string, from: string | undefined): string {
  if (ref.startsWith('builtin:')) return join(builtinDir(), `${ref.slice('builtin:'.length)}.yaml`);
  return from === undefined ? resolve(ref) : resolve(dirname(from), ref);
}

export interface ReadFile {
  (path: string): string;
}

const defaultRead: ReadFile = (path) => readFileSync(path, 'utf8');

export interface ResolvedSource {
  root: LNode | undefined;
  /** Every file that contributed, the top file first (absolute paths). */
  files: string[];
  /** Absolute path → the name messages use for it. */
  displayNames: Map<string, string>;
  diagnostics: Diagnostic[];
}

interface Ctx {
  read: ReadFile;
  diagnostics: Diagnostic[];
  files: string[];
  /** Display names: paths as the user gave them for the top file, relative names for the others. */
  display: Map<string, string>;
  cache: Map<string, LNode | undefined>;
}

/** Loads `file` and everything it extends or includes, merged by the rules above. */
export function resolveSources(file: string, opts: { read?: ReadFile; text?: string; display?: string } = {}): ResolvedSource {
  const abs = resolve(file);
  const ctx: Ctx = { read: opts.read ?? defaultRead, diagnostics: [], files: [], display: new Map([[abs, opts.display ?? file]]), cache: new Map() };
  const root = load(ctx, abs, [], undefined, opts.text);
  return { root, files: ctx.files, displayNames: ctx.display, diagnostics: ctx.diagnostics };
}

function displayName(ctx: Ctx, abs: string): string {
  let name = ctx.display.get(abs);
  if (name === undefined) {
    // Shown relative to the top file's folder when it is below it, else as referenced.
    // Other files are shown relative to the working folder (so editors and terminals can open
    // them), or absolute when the top file was given absolute.
    const top = [...ctx.display.keys()][0]!;
    const topName = ctx.display.get(top)!;
    name = isAbsolute(topName) ? abs : relative(process.cwd(), abs) || abs;
    ctx.display.set(abs, name);
  }
  return name;
}

function load(ctx: Ctx, abs: string, chain: readonly string[], ref: { loc: Loc; text: string } | undefined, text?: string): LNode | undefined {
  if (chain.includes(abs)) {
    const names = [...chain.slice(chain.indexOf(abs)), abs].map((f) => displayName(ctx, f));
    ctx.diagnostics.push({
      severity: 'error',
      code: 'include-cycle',
      message: `'${clip(ref?.text ?? basename(abs), 240)}' makes a cycle: ${names.join(' → ')}`,
      hint: 'a profile cannot extend or include itself, directly or through other files; remove one link of the chain',
      loc: ref!.loc,
    });
    return undefined;
  }
  if (ctx.cache.has(abs) && chain.length > 0) return ctx.cache.get(abs);
  const name = displayName(ctx, abs);
  let source: string;
  try {
    source = text ?? ctx.read(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    if (ref) {
      ctx.diagnostics.push({
        severity: 'error',
        code: 'include-missing',
        message: `cannot read '${clip(ref.text, 240)}' (${code === 'ENOENT' ? 'no such file' : code})`,
        hint: 'paths are relative to the file that names them; builtin:NAME names a shipped profile',
        loc: ref.loc,
      });
      return undefined;
    }
    ctx.diagnostics.push({ severity: 'error', code: 'file-unreadable', message: `cannot read the profile (${code === 'ENOENT' ? 'no such file' : code})`, loc: { file: name, line: 1, col: 1 } });
    return undefined;
  }
  if (!ctx.files.includes(abs)) ctx.files.push(abs);
  const parsed = parseYaml(source, name);
  ctx.diagnostics.push(...parsed.diagnostics);
  let root = parsed.root;
  if (root === undefined) {
    if (parsed.diagnostics.length === 0) {
      ctx.diagnostics.push({ severity: 'error', code: 'empty-profile', message: 'the file is empty', hint: 'a profile is a YAML mapping that starts with profile: NAME', loc: { file: name, line: 1, col: 1 } });
    }
    ctx.cache.set(abs, undefined);
    return undefined;
  }
  if (root.kind !== 'map') {
    ctx.diagnostics.push({ severity: 'error', code: 'not-a-mapping', message: 'a profile must be a YAML mapping (key: value lines)', loc: root.loc });
    ctx.cache.set(abs, undefined);
    return undefined;
  }
  const next = [...chain, abs];
  let base: LNode | undefined;
  const ext = root.entries.find((e) => e.key === 'extends');
  if (ext) {
    if (ext.value.kind === 'scalar' && typeof ext.value.value === 'string' && ext.value.value.length > 0) {
      base = load(ctx, resolveProfilePath(ext.value.value, abs), next, { loc: ext.value.loc, text: ext.value.value });
    } else {
      ctx.diagnostics.push({ severity: 'error', code: 'schema', message: "'extends' must name one profile file", hint: 'extends: base.yaml (or builtin:NAME)', loc: ext.value.loc });
    }
  }
  const inc = root.entries.find((e) => e.key === 'include');
  const fragments: LNode[] = [];
  if (inc) {
    const items = inc.value.kind === 'seq' ? inc.value.items : [inc.value];
    for (const item of items) {
      if (item.kind === 'scalar' && typeof item.value === 'string' && item.value.length > 0) {
        const f = load(ctx, resolveProfilePath(item.value, abs), next, { loc: item.loc, text: item.value });
        if (f) fragments.push(f);
      } else {
        ctx.diagnostics.push({ severity: 'error', code: 'schema', message: "'include' must list file names", hint: 'include: [fragment.yaml, …]', loc: item.loc });
      }
    }
  }
  const own: LMap = { ...root, entries: root.entries.filter((e) => e.key !== 'extends' && e.key !== 'include') };
  let result: LNode | undefined = base;
  for (const f of fragments) result = result === undefined ? f : merge(result, f);
  result = result === undefined ? stripDeletes(own) : merge(result, own);
  ctx.cache.set(abs, result);
  return result;
}

/** `later` over `earlier` by the merge rules at the top of this file. */
export function merge(earlier: LNode, later: LNode): LNode {
  if (earlier.kind !== 'map' || later.kind !== 'map') return stripDeletes(later);
  const entries: LEntry[] = earlier.entries.map((e) => ({ ...e }));
  for (const e of later.entries) {
    const at = entries.findIndex((x) => x.key === e.key);
    const deleted = e.value.kind === 'scalar' && e.value.deleted === true;
    if (at < 0) {
      if (!deleted) entries.push({ ...e, value: stripDeletes(e.value) });
      continue;
    }
    if (deleted) entries.splice(at, 1);
    else entries[at] = { ...e, value: merge(entries[at]!.value, e.value) };
  }
  return { ...later, entries };
}

/** A `!delete` with nothing to delete is simply dropped. */
function stripDeletes(node: LNode): LNode {
  if (node.kind === 'map') {
    return { ...node, entries: node.entries.filter((e) => !(e.value.kind === 'scalar' && e.value.deleted)).map((e) => ({ ...e, value: stripDeletes(e.value) })) };
  }
  if (node.kind === 'seq') return { ...node, items: node.items.map(stripDeletes) };
  return node;
}
