// The faces of one batch run: a card script's face (script.ts `face`: printer pixels, photo as the
// file name prep took from the record, or its bytes) rendered with the run's fonts. Photo files are read from
// the batch's input folder (relative names only, as prep checked them). Problems that should not
// stop the printing of an already issued card become warnings: a photo that is missing or cannot
// be decoded (the face gets the empty photo box, the warning names the record and the field), a
// named font that cannot be loaded, and, once per run, characters no font has (placeholder glyphs,
// naming the font package to install).
import { readFileSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { FaceError, placeholderWarning, renderFace, type CardLayout, type RenderedFace } from './faces.js';

/**
 * A card script's face (personalization/script.ts). A photo's value is its file name, or its bytes
 * (the runner reads a photo kept in the batch's blob pack before the face gets here).
 */
export interface ScriptFace {
  width: number;
  height: number;
  fields: { kind: 'text' | 'photo'; x: number; y: number; size?: number; value: string | Uint8Array }[];
}

export interface BatchFacesOptions {
  /** Font files in search order (see RenderOptions.fonts). */
  fonts: readonly string[];
  /** Folders a photo file name is looked up in, in order (the batch input's folder first). */
  photoDirs: readonly string[];
  warn: (text: string) => void;
}

/** What `note` needs of a drawn face. */
export type FaceNotes = Pick<RenderedFace, 'placeholderGlyphs' | 'missingGlyphs' | 'fontProblems'>;

export class BatchFaces {
  private warnedPlaceholders = false;
  private readonly warnedFonts = new Set<string>();
  /** Records whose faces have placeholder glyphs. */
  readonly placeholderRecords: string[] = [];

  constructor(private readonly o: BatchFacesOptions) {}

  private photo(recordId: string, index: number, value: string | Uint8Array): string | Uint8Array {
    if (typeof value !== 'string' || value === '' || value.startsWith('data:')) return value;
    const rel = normalize(value);
    if (isAbsolute(value) || rel.split(/[\\/]/).includes('..')) {
      this.o.warn(`face of ${recordId}: fields[${index}] (photo): ${value} is not a file name inside the batch input folder; printed with an empty photo box`);
      return '';
    }
    for (const dir of this.o.photoDirs) {
      try {
        return new Uint8Array(readFileSync(join(dir, rel)));
      } catch {
        // next folder
      }
    }
    this.o.warn(`face of ${recordId}: fields[${index}] (photo): ${value} not found in ${this.o.photoDirs.join(' or ')}; printed with an empty photo box`);
    return '';
  }

  render(recordId: string, face: ScriptFace): RenderedFace {
    return this.note(recordId, this.draw(recordId, face));
  }

  /**
   * Draws a face; only its own warnings (the photos) go to warn. A face drawn elsewhere (a worker
   * of face-pool.ts) has `note` called with it where the run's warnings are kept.
   */
  draw(recordId: string, face: ScriptFace): RenderedFace {
    const layout: CardLayout = {
      width: face.width,
      height: face.height,
      fields: face.fields.map((f, i) => ({ ...f, size: f.size ?? 24, value: f.kind === 'photo' ? this.photo(recordId, i, f.value) : f.value })),
    };
    // A photo that cannot be decoded is left off (each at most once), the rest still prints.
    for (;;) {
      try {
        return renderFace(layout, { fonts: this.o.fonts });
      } catch (e) {
        const field = e instanceof FaceError ? e.field : undefined;
        const f = field === undefined ? undefined : layout.fields[field];
        if (f?.kind !== 'photo' || f.value === '') throw e;
        this.o.warn(`face of ${recordId}: ${(e as Error).message}; printed with an empty photo box`);
        layout.fields[field!] = { ...f, value: '' };
      }
    }
  }

  /** The once-per-run warnings of a drawn face (fonts not used, placeholder glyphs). */
  note<F extends FaceNotes>(recordId: string, out: F): F {
    for (const p of out.fontProblems) {
      if (this.warnedFonts.has(p)) continue;
      this.warnedFonts.add(p);
      this.o.warn(`card faces: font not used: ${p}`);
    }
    if (out.placeholderGlyphs) {
      this.placeholderRecords.push(recordId);
      if (!this.warnedPlaceholders) {
        this.warnedPlaceholders = true;
        this.o.warn(placeholderWarning(out.missingGlyphs));
      }
    }
    return out;
  }
}
