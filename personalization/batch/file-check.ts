// What a batch's file fields (photos) may name: a regular file inside the batch folder, links
// followed, not empty, not over the size limit, starting with the format's magic bytes. Checked
// synchronously with the fewest syscalls — one lstat, and one open/read/close when the format is
// checked — since an async check costs a thread-pool round trip per call. The real path of each
// folder is found once per batch, and each path is checked once (within a bounded cache, so that
// memory stays flat however many photos a batch names).
import { closeSync, lstatSync, openSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/** What a path names, as far as the checks go; `head` only once a format check asked for it. */
export type FileFacts = { kind: 'missing' } | { kind: 'not-file' } | { kind: 'outside' } | { kind: 'file'; path: string; size: number; head?: Uint8Array };

/** Paths remembered per batch; past this many the cache starts afresh (memory stays bounded). */
const MAX_PATHS = 16_384;
/** Bytes read for the magic: enough for every format checked (PNG's is the longest, 8). */
export const HEAD_BYTES = 8;

export class FileChecks {
  /** Per field declaration: the value as written → its check's result. */
  private readonly results = new Map<object, Map<string, unknown>>();
  private readonly paths = new Map<string, FileFacts>();
  private readonly dirs = new Map<string, boolean>();
  private base: string | null | undefined;

  constructor(private readonly baseDir: string) {}

  /** The result of `check` for this field declaration and value, computed once. */
  remember<T>(spec: object, raw: string, check: () => T): T {
    let results = this.results.get(spec);
    if (results === undefined) this.results.set(spec, (results = new Map()));
    if (results.has(raw)) return results.get(raw) as T;
    const r = check();
    if (results.size >= MAX_PATHS) results.clear();
    results.set(raw, r);
    return r;
  }

  /** The facts about `path` (absolute, lexically inside the batch folder; `rel` the same path relative to it). */
  facts(path: string, rel: string): FileFacts {
    let f = this.paths.get(path);
    if (f === undefined) {
      f = this.look(path, rel);
      if (this.paths.size >= MAX_PATHS) this.paths.clear();
      this.paths.set(path, f);
    }
    return f;
  }

  /** The first HEAD_BYTES bytes of a file (fewer when it is shorter), read once. */
  head(f: FileFacts & { kind: 'file' }): Uint8Array {
    if (f.head) return f.head;
    const buf = Buffer.alloc(HEAD_BYTES);
    const fd = openSync(f.path, 'r');
    try {
      f.head = buf.subarray(0, readSync(fd, buf, 0, HEAD_BYTES, 0));
    } finally {
      closeSync(fd);
    }
    return f.head;
  }

  private look(path: string, rel: string): FileFacts {
    let st: Stats | undefined;
    try {
      st = lstatSync(path, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (st === undefined) return { kind: 'missing' };
    if (st.isSymbolicLink()) return this.followed(path, rel);
    if (!st.isFile()) return { kind: 'not-file' };
    // Not a link itself: it is where its folder really is.
    return this.dirInside(dirname(path)) ? { kind: 'file', path, size: st.size } : { kind: 'outside' };
  }

  /** A link (rare): followed to where it really leads, which must be inside the batch folder. */
  private followed(path: string, rel: string): FileFacts {
    let st: Stats;
    try {
      st = statSync(path);
    } catch {
      return { kind: 'missing' };
    }
    if (!st.isFile()) return { kind: 'not-file' };
    const real = realInside(this.baseDir, rel);
    return real === undefined ? { kind: 'outside' } : { kind: 'file', path, size: st.size };
  }

  /** Whether the folder (links followed) is the batch folder or inside it; once per folder. */
  private dirInside(dir: string): boolean {
    let inside = this.dirs.get(dir);
    if (inside === undefined) {
      const base = this.realBase();
      let real: string | undefined;
      try {
        real = realpathSync(dir);
      } catch {
        real = undefined;
      }
      inside = base !== null && real !== undefined && isInside(base, real, true);
      if (this.dirs.size >= MAX_PATHS) this.dirs.clear();
      this.dirs.set(dir, inside);
    }
    return inside;
  }

  private realBase(): string | null {
    if (this.base === undefined) {
      try {
        this.base = realpathSync(this.baseDir);
      } catch {
        this.base = null;
      }
    }
    return this.base;
  }
}

/** Whether `real` is below `base` (or is `base` itself, when `orSelf`). */
function isInside(base: string, real: string, orSelf: boolean): boolean {
  const r = relative(base, real);
  if (r === '') return orSelf;
  return !(r === '..' || r.startsWith('..' + sep) || isAbsolute(r));
}

/**
 * The real path (links followed) of `rel` in the batch folder `baseDir`, when it is inside that
 * folder; undefined when it leads outside or does not exist. Prep reads files through this too,
 * so a link swapped in after the check is not followed out either.
 */
export function realInside(baseDir: string, rel: string, baseReal?: string): string | undefined {
  let base: string;
  let real: string;
  try {
    // The native realpath: one system call, where the JS one lstats every component (prep reads
    // every card's photo through here, with the folder's real path given once).
    base = baseReal ?? realpathSync.native(baseDir);
    real = realpathSync.native(resolve(baseDir, rel));
  } catch {
    return undefined;
  }
  return isInside(base, real, false) ? real : undefined;
}
