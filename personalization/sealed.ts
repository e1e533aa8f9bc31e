// The sealed batch folder (docs/prep.md, "The sealed manifest"). prep records in manifest.json the
// digest of every file it wrote — each line of cards.jsonl (listed in cards.sha256, folded into a
// root the manifest holds with the line count), every file under input-files/ and fonts/,
// rejects.csv, the size of blobs.pack — and a MAC over the canonical manifest under the batch
// transport key. Readers check the files against it before anything reaches a card, and name the
// first file and line that differ:
//   - cards.jsonl line by line while it is read (one SHA-256 per line, no second copy in memory);
//   - blobs.pack by its size only: each blob in it is checked against the SHA-256 its script line
//     names (blobs.ts) when it is read, and those lines are sealed like the rest of cards.jsonl;
//   - the MAC needs the key store: `run` has it; commands without one check the digests only and
//     say so, since without the MAC a consistent rewrite of files *and* manifest goes unnoticed.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFileAtomicSync } from '../files/private.js';
import type { KeyProvider } from '../keys/types.js';
import { canonicalJson } from '../profiles/index.js';
import { manifestProblem } from './schemas.js';
import { FONTS_DIR, INPUT_FILES_DIR, MANIFEST_FORMAT, type BatchManifest } from './script.js';
import { CardsmithError, type ErrorKind } from '../errors/index.js';

export const MANIFEST_FILE = 'manifest.json';
export const CARDS_FILE = 'cards.jsonl';
export const CARD_DIGESTS_FILE = 'cards.sha256';
export const REJECTS_FILE = 'rejects.csv';
/** The batch's photos and other big data, each blob once (blobs.ts). */
export const BLOBS_FILE = 'blobs.pack';

/** The batch folder cannot be used (missing files, wrong format, files that differ from the manifest): exit 2. */
export class BatchInputError extends CardsmithError {
  override name = 'BatchInputError';
  readonly kind: ErrorKind = 'input';
}

const sha256 = (data: string | Uint8Array): Buffer => createHash('sha256').update(data).digest();

/**
 * The digests of cards.jsonl, line by line: `add` gives the line's hex digest for cards.sha256
 * (written as it comes: nothing per card is kept) and folds it into the root.
 */
export class CardDigests {
  #root = createHash('sha256');
  #lines = 0;

  add(line: string | Uint8Array): string {
    return this.addDigest(sha256(line));
  }

  /** Folds in the digest of a line hashed elsewhere (prep's builder threads); its hex form. */
  addDigest(digest: Uint8Array): string {
    this.#root.update(digest);
    this.#lines++;
    return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('hex');
  }

  get lines(): number {
    return this.#lines;
  }

  root(): string {
    return this.#root.copy().digest('hex');
  }
}

type InputFile = BatchManifest['files']['inputFiles'][number];

/** Every file under `dir` (recursively, name order, '/'-separated names) with its size and SHA-256; [] when `dir` does not exist. */
export function inputFileDigests(dir: string): InputFile[] {
  if (!existsSync(dir)) return [];
  const out: InputFile[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile()) out.push({ name: r, size: st.size, sha256: sha256(readFileSync(join(dir, r))).toString('hex') });
      else throw new BatchInputError(`${join(dir, r)}: not a regular file (a link or device has no place in a batch folder)`);
    }
  };
  walk('');
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const MAC_LABEL = 'cardsmith/batch-manifest\0';

/** The MAC of a manifest (its `mac` field left out) under its transport key, hex. */
export async function manifestMac(provider: KeyProvider, m: Omit<BatchManifest, 'mac'> & { mac?: string }): Promise<string> {
  const { mac: _ignored, ...rest } = m;
  const data = new TextEncoder().encode(MAC_LABEL + canonicalJson(JSON.parse(JSON.stringify(rest))));
  return Buffer.from(await provider.mac({ label: m.transportKey.label, version: m.transportKey.version }, data)).toString('hex');
}

/** Writes DIR/manifest.json atomically (temp file, fsync, rename): a reader sees the old file or the whole new one. */
export function writeManifestFile(dir: string, m: BatchManifest): void {
  writePrivateFileAtomicSync(join(dir, MANIFEST_FILE), JSON.stringify(m, null, 2) + '\n');
}

export interface ManifestRead {
  manifest: BatchManifest;
  /** SHA-256 (hex) of manifest.json as stored: the journal is bound to it. */
  sha256: string;
  /** The batch's id: profile name and the manifest digest's first 16 hex digits. */
  id: string;
}

/** Reads DIR/manifest.json and checks it against its schema (no file digests, no MAC). */
export function readManifest(dir: string): ManifestRead {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BatchInputError(`${dir}: not a batch folder (${(e as NodeJS.ErrnoException).code ?? 'unreadable'}: it needs manifest.json and cards.jsonl, written by cardsmith prep)`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BatchInputError(`${path}: not JSON (${(e as Error).message.slice(0, 200)})`);
  }
  const format = (value as { format?: unknown } | null)?.format;
  if (typeof format === 'string' && format.startsWith('cardsmith-batch/') && format !== MANIFEST_FORMAT) {
    throw new BatchInputError(`${path}: a ${format.slice(0, 40)} batch, without the digests and MAC this cardsmith requires (${MANIFEST_FORMAT}): prepare it again with cardsmith prep into a new folder`);
  }
  if (format !== MANIFEST_FORMAT) throw new BatchInputError(`${path}: not a ${MANIFEST_FORMAT} manifest`);
  const problem = manifestProblem(value);
  if (problem !== undefined) throw new BatchInputError(`${path}: not a valid manifest (schemas/batch-manifest.schema.json): ${problem}`);
  const manifest = value as BatchManifest;
  if (manifest.files.cards.lines !== manifest.cards) {
    throw new BatchInputError(`${path}: "cards" says ${manifest.cards} card(s) but files.cards lists ${manifest.files.cards.lines} line(s) of cards.jsonl: the manifest was edited`);
  }
  const digest = sha256(text).toString('hex');
  return { manifest, sha256: digest, id: `${manifest.profile.name}:${digest.slice(0, 16)}` };
}

/**
 * Checks cards.jsonl line by line against cards.sha256 and the manifest: construct it (it reads and
 * checks cards.sha256), call line() for every line as it is read, end() after the last one. Each
 * throws BatchInputError naming the file and the first line that differs.
 */
export class CardLinesCheck {
  readonly #path: string;
  readonly #digests: Buffer;
  readonly #lines: number;

  constructor(dir: string, m: BatchManifest) {
    this.#path = join(dir, CARDS_FILE);
    const file = join(dir, CARD_DIGESTS_FILE);
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch (e) {
      throw new BatchInputError(`${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}: it holds the digest of every line of cards.jsonl; without it the batch cannot be checked (restore the folder as prep wrote it)`);
    }
    const n = m.files.cards.lines;
    let shape = text.length === n * 65;
    for (let i = 64; shape && i < text.length; i += 65) shape = text[i] === '\n';
    this.#digests = Buffer.from(text.replaceAll('\n', ''), 'hex'); // stops at the first non-hex digit
    if (!shape || this.#digests.length !== n * 32) {
      throw new BatchInputError(`${file}: not the ${n} line digest(s) manifest.json lists (${Math.floor(text.length / 65)} found, or not one SHA-256 a line): the file was edited or replaced`);
    }
    if (!sha256(this.#digests).equals(Buffer.from(m.files.cards.root, 'hex'))) {
      throw new BatchInputError(`${file}: its digests do not fold to the root in manifest.json: the file was edited or replaced`);
    }
    this.#lines = n;
  }

  /** Line `n` (1-based) of cards.jsonl, without its newline. */
  line(n: number, text: string): void {
    if (n > this.#lines) throw new BatchInputError(`${this.#path}:${n}: a line prep did not write (it wrote ${this.#lines}): lines were added`);
    const d = sha256(text);
    const want = this.#digests.subarray((n - 1) * 32, n * 32);
    if (d.equals(want)) return;
    let other = 0;
    for (let i = 0; i < this.#lines && other === 0; i++) if (d.equals(this.#digests.subarray(i * 32, (i + 1) * 32))) other = i + 1;
    const what = other ? `it is line ${other} as prep wrote it: lines were removed, copied or moved` : 'the line was changed';
    throw new BatchInputError(`${this.#path}:${n}: differs from what prep wrote (${what}); prepare the batch again or restore cards.jsonl`);
  }

  /** After the last line: `count` lines seen, `newline` whether the file ended with one. */
  end(count: number, newline: boolean): void {
    if (count < this.#lines) throw new BatchInputError(`${this.#path}:${count + 1}: missing: the file ends after ${count} line(s), prep wrote ${this.#lines}`);
    if (!newline && count > 0) throw new BatchInputError(`${this.#path}:${count}: the file does not end with a newline as prep wrote it (cut short or edited)`);
  }
}

/** Checks the files under `folder` against the manifest's list: names the first one that is missing, extra or changed. */
function checkFolder(folder: string, files: readonly InputFile[]): void {
  const have = new Map(inputFileDigests(folder).map((f) => [f.name, f]));
  for (const want of files) {
    const got = have.get(want.name);
    const path = `${folder}/${want.name}`;
    if (!got) throw new BatchInputError(`${path}: missing (prep copied it there; the card faces print it)`);
    if (got.sha256 !== want.sha256) throw new BatchInputError(`${path}: differs from the file prep wrote (${got.size} bytes, SHA-256 ${got.sha256.slice(0, 16)}…; prep wrote ${want.size} bytes, ${want.sha256.slice(0, 16)}…)`);
    have.delete(want.name);
  }
  const extra = [...have.keys()][0];
  if (extra !== undefined) throw new BatchInputError(`${folder}/${extra}: a file prep did not write: remove it, or prepare the batch again`);
}

/**
 * DIR/blobs.pack against the manifest: there with the size prep wrote when listed, absent when not.
 * Its bytes are checked blob by blob as they are read (blobs.ts): the SHA-256 of each is in the
 * sealed script lines that name it.
 */
function checkBlobs(dir: string, m: BatchManifest): void {
  const pack = join(dir, BLOBS_FILE);
  let st: Stats | undefined;
  try {
    st = lstatSync(pack);
  } catch {
    st = undefined;
  }
  const want = m.files.blobs;
  if (!want) {
    if (st) throw new BatchInputError(`${pack}: not written by the prep of this batch (manifest.json lists none): remove it, or prepare the batch again`);
    return;
  }
  if (!st) throw new BatchInputError(`${pack}: missing (prep wrote ${want.size} bytes there: the batch's photos and other big data)`);
  if (!st.isFile()) throw new BatchInputError(`${pack}: not a regular file (a link or device has no place in a batch folder)`);
  if (st.size !== want.size) throw new BatchInputError(`${pack}: ${st.size} bytes, prep wrote ${want.size}: the file was ${st.size < want.size ? 'cut short' : 'extended'} or replaced; restore it or prepare the batch again`);
}

/** Checks DIR/input-files/, DIR/fonts/, DIR/blobs.pack and DIR/rejects.csv against the manifest: names the first file that is missing, extra or changed. */
export function checkOtherFiles(dir: string, m: BatchManifest): void {
  checkFolder(join(dir, INPUT_FILES_DIR), m.files.inputFiles);
  checkFolder(join(dir, FONTS_DIR), m.files.fonts ?? []);
  checkBlobs(dir, m);
  const rejects = join(dir, REJECTS_FILE);
  if (m.files.rejects) {
    if (!existsSync(rejects)) throw new BatchInputError(`${rejects}: missing (prep wrote it)`);
    if (sha256(readFileSync(rejects)).toString('hex') !== m.files.rejects.sha256) throw new BatchInputError(`${rejects}: differs from the file prep wrote`);
  } else if (existsSync(rejects)) {
    throw new BatchInputError(`${rejects}: not written by the prep of this batch (manifest.json lists none)`);
  }
}

/**
 * The font specs of the batch's card faces: its copies under fonts/, in search order. A batch
 * prepared before prep copied the fonts lists none; its faces use CARDSMITH_FONTS and the
 * system fonts, with a warning (the profile file is not read at run time).
 */
export function batchFonts(dir: string, m: BatchManifest, warn: (text: string) => void): string[] {
  const fonts = m.files.fonts;
  if (fonts === undefined) {
    warn(`${join(dir, MANIFEST_FILE)}: prepared by an earlier cardsmith, which did not copy the profile's face fonts into the batch: faces use CARDSMITH_FONTS and the system fonts (prepare the batch again to print with the profile's fonts)`);
    return [];
  }
  return fonts.map((f) => join(dir, FONTS_DIR, f.name) + (f.member ? `#${f.member}` : ''));
}

/** Checks the manifest's MAC with the key store: the manifest (and so every digest in it) is prep's. */
export async function checkManifestMac(dir: string, m: BatchManifest, provider: KeyProvider): Promise<void> {
  const tk = m.transportKey;
  const path = join(dir, MANIFEST_FILE);
  let kcv: string;
  try {
    kcv = (await provider.info({ label: tk.label, version: tk.version })).kcv;
  } catch (e) {
    throw new BatchInputError(`${path}: the batch is sealed under ${tk.label} v${tk.version} (KCV ${tk.kcv}), which this key store cannot use (${e instanceof Error ? e.message.slice(0, 200) : String(e)})`);
  }
  if (kcv.toUpperCase() !== tk.kcv.toUpperCase()) throw new BatchInputError(`${path}: sealed under ${tk.label} v${tk.version} with KCV ${tk.kcv}, but this key store's key has KCV ${kcv}: another key store`);
  const want = Buffer.from(await manifestMac(provider, m), 'hex');
  const got = Buffer.from(m.mac, 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    throw new BatchInputError(`${path}: its MAC does not verify under ${tk.label} v${tk.version} (KCV ${tk.kcv}): the manifest was changed after prep; do not run this batch, prepare it again`);
  }
}

/** Splits `text` into lines for CardLinesCheck: the lines, and whether the text ended with a newline. */
export function splitLines(text: string): { lines: string[]; newline: boolean } {
  const lines = text.split('\n');
  const last = lines.pop()!;
  if (last !== '') lines.push(last);
  return { lines, newline: last === '' };
}

/** Reads DIR/cards.jsonl as a stream of lines (split on '\n' only, so a '\r' counts), for big batches. */
export async function* streamLines(path: string): AsyncGenerator<{ n: number; text: string }, { count: number; newline: boolean }> {
  let rest = '';
  let n = 0;
  for await (const chunk of createReadStream(path, { encoding: 'utf8' })) {
    rest += chunk as string;
    let start = 0;
    for (let i = rest.indexOf('\n'); i >= 0; i = rest.indexOf('\n', start)) {
      yield { n: ++n, text: rest.slice(start, i) };
      start = i + 1;
    }
    rest = rest.slice(start);
  }
  if (rest !== '') yield { n: ++n, text: rest };
  return { count: n, newline: rest === '' };
}
