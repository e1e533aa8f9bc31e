// The profile's face fonts, copied into the batch folder (DIR/fonts/, schemas/batch-manifest.schema.json
// files.fonts): the runner prints the faces with the fonts prep saw, without the profile file or
// the fonts beside it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { splitFontSpec } from '../../faces/index.js';
import type { BatchManifest } from '../script.js';
import { PrepError, writeError } from './errors.js';

export type BatchFont = NonNullable<BatchManifest['files']['fonts']>[number];

/**
 * Copies the font files of `specs` (face.fonts, absolute, `file.ttc#PostScriptName` for a
 * collection member) into `dir`, numbered so that name order is search order. A file missing here
 * is left out, as the renderer skips it (profile validation warned about it).
 */
export function copyFonts(specs: readonly string[], dir: string): BatchFont[] {
  const out: BatchFont[] = [];
  const width = Math.max(2, String(specs.length).length);
  for (const [i, spec] of specs.entries()) {
    const { file, name: member } = splitFontSpec(spec);
    if (!existsSync(file)) continue;
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new PrepError(`face.fonts[${i}]: ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const name = `${String(i + 1).padStart(width, '0')}-${basename(file)}`;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(join(dir, name), bytes, { mode: 0o600 });
    } catch (e) {
      throw writeError(e, join(dir, name));
    }
    out.push({ name, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), ...(member ? { member } : {}) });
  }
  return out;
}
