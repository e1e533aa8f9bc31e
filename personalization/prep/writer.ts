// Where prep's card lines go, in batch order: the files records name placed in the pack before
// their cards are built; a line that names other big data gets it placed (the offsets put into
// the line) and is hashed here, a finished one comes with its SHA-256; the digest goes to
// cards.sha256, the line to cards.jsonl. The text files
// are written synchronously in pieces of about a megabyte: one system call for dozens of cards,
// and prep cannot run ahead of the disk. Nothing per card stays in memory.
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BlobPackWriter, BLOBS_FILE, type BlobRef } from '../blobs.js';
import type { BatchManifest } from '../script.js';
import { CARD_DIGESTS_FILE, CardDigests } from '../sealed.js';
import { UNPLACED, type CardLine } from './card.js';
import { writeError } from './errors.js';

/** Bytes written to a new file in pieces of at least `FLUSH_BYTES`; a write error names the file. */
class TextFile {
  readonly #fd: number;
  #pending: Uint8Array[] = [];
  #bytes = 0;

  constructor(
    path: string,
    private readonly shown: string,
  ) {
    try {
      this.#fd = openSync(path, 'wx', 0o600);
    } catch (e) {
      throw writeError(e, shown);
    }
  }

  append(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    this.#pending.push(bytes);
    this.#bytes += bytes.length;
    if (this.#bytes >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.#pending.length === 0) return;
    const bytes = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#bytes = 0;
    try {
      // A full disk first shortens a write, then fails the next one: write until all is out.
      for (let done = 0; done < bytes.length; ) done += writeSync(this.#fd, bytes, done);
    } catch (e) {
      throw writeError(e, this.shown);
    }
  }

  /** Writes what is pending (unless `discard`) and closes the file. */
  close(discard = false): void {
    try {
      if (!discard) this.flush();
    } finally {
      closeSync(this.#fd);
    }
  }
}

const FLUSH_BYTES = 1 << 20;

export class CardsWriter {
  readonly digests = new CardDigests();
  readonly #cards: TextFile;
  readonly #digestsFile: TextFile;
  readonly #packPath: string;
  #pack: BlobPackWriter | undefined;

  /** `cardsPath`: where the lines go; `shownCards`: the name errors give it. */
  constructor(dir: string, cardsPath: string, shownCards: string) {
    this.#cards = new TextFile(cardsPath, shownCards);
    this.#digestsFile = new TextFile(join(dir, CARD_DIGESTS_FILE), join(dir, CARD_DIGESTS_FILE));
    this.#packPath = join(dir, BLOBS_FILE);
  }

  /** Puts bytes (a file a record names) into the pack now: builders then name them by this ref. */
  place(bytes: Uint8Array, sha256?: string): BlobRef {
    try {
      return (this.#pack ??= BlobPackWriter.create(this.#packPath)).add(bytes, sha256);
    } catch (e) {
      throw writeError(e, this.#packPath);
    }
  }

  write(card: CardLine): void {
    if ('bytes' in card) {
      this.#digestsFile.append(`${this.digests.addDigest(card.digest)}\n`);
      this.#cards.append(card.bytes);
      return;
    }
    let json = card.json;
    for (const b of card.blobs) {
      const ref = this.place(b.bytes, b.sha256); // hashed by the builder already
      // A blob's JSON opens with its hash, which no string in the line can hold unescaped.
      json = json.replaceAll(`{"blob":"${b.sha256}","at":${UNPLACED},`, `{"blob":"${b.sha256}","at":${ref.at},`);
    }
    this.#digestsFile.append(`${this.digests.add(json)}\n`);
    this.#cards.append(`${json}\n`);
  }

  /**
   * Closes the files (`discard`: without writing what is pending: prep failed and the staging
   * folder goes); the manifest's entry for the pack, when a card named a blob.
   */
  end(discard = false): BatchManifest['files']['blobs'] {
    // The first failure is the one reported; the files after it are closed without writing.
    let failure: unknown;
    for (const f of [this.#cards, this.#digestsFile]) {
      try {
        f.close(discard || failure !== undefined);
      } catch (e) {
        failure ??= e;
      }
    }
    let pack: { size: number; count: number } | undefined;
    try {
      pack = this.#pack?.close();
    } catch (e) {
      failure ??= writeError(e, this.#packPath);
    }
    this.#pack = undefined;
    if (failure !== undefined) throw failure;
    return pack ? { file: BLOBS_FILE, size: pack.size, count: pack.count } : undefined;
  }
}
