// Where prep's card lines go, in batch order: each line's blobs placed in the pack (their offsets
// put into the line), its SHA-256 appended to cards.sha256, the line to cards.jsonl. Both text
// files are written with back-pressure; nothing per card stays in memory.
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { BlobPackWriter, BLOBS_FILE } from '../blobs.js';
import type { BatchManifest } from '../script.js';
import { CARD_DIGESTS_FILE, CardDigests } from '../sealed.js';
import { UNPLACED, type CardLine } from './card.js';
import { writeError } from './errors.js';

/**
 * A file written line by line with back-pressure. A write error (a full disk) becomes the PrepError
 * naming `shown`, and ends `done` instead of leaving a `drain` wait that never returns.
 */
export class LineFile {
  readonly done: Promise<void>;
  readonly #stream: WriteStream;

  constructor(path: string, shown: string) {
    this.#stream = createWriteStream(path, { mode: 0o600 });
    this.done = new Promise<void>((ok, fail) => {
      this.#stream.on('finish', ok);
      this.#stream.on('error', (e) => fail(writeError(e, shown)));
    });
    void this.done.catch(() => undefined); // awaited by the caller; an early error must not end the process as "unhandled"
  }

  async write(line: string): Promise<void> {
    if (!this.#stream.write(line)) await Promise.race([new Promise<void>((ok) => this.#stream.once('drain', ok)), this.done]);
  }

  /** Ends the file; resolves when it is written (rejects with the write error). */
  end(): Promise<void> {
    if (!this.#stream.writableEnded) this.#stream.end();
    return this.done;
  }
}

export class CardsWriter {
  readonly digests = new CardDigests();
  readonly #cards: LineFile;
  readonly #digestsFile: LineFile;
  readonly #packPath: string;
  #pack: BlobPackWriter | undefined;

  /** `cardsPath`: where the lines go; `shownCards`: the name errors give it. */
  constructor(
    readonly dir: string,
    cardsPath: string,
    shownCards: string,
  ) {
    this.#cards = new LineFile(cardsPath, shownCards);
    this.#digestsFile = new LineFile(join(dir, CARD_DIGESTS_FILE), join(dir, CARD_DIGESTS_FILE));
    this.#packPath = join(dir, BLOBS_FILE);
  }

  async write(card: CardLine): Promise<void> {
    let json = card.json;
    for (const b of card.blobs) {
      let ref;
      try {
        ref = (this.#pack ??= BlobPackWriter.create(this.#packPath)).add(b.bytes, b.sha256);
      } catch (e) {
        throw writeError(e, this.#packPath);
      }
      // A blob's JSON opens with its hash, which no string in the line can hold unescaped.
      json = json.replaceAll(`{"blob":"${b.sha256}","at":${UNPLACED},`, `{"blob":"${b.sha256}","at":${ref.at},`);
    }
    await this.#digestsFile.write(`${this.digests.add(json)}\n`);
    await this.#cards.write(`${json}\n`);
  }

  /** Closes the files; the manifest's entry for the pack, when a card named a blob. */
  async end(): Promise<BatchManifest['files']['blobs']> {
    let pack: { size: number; count: number } | undefined;
    try {
      await this.#cards.end();
      await this.#digestsFile.end();
    } finally {
      pack = this.#pack?.close();
      this.#pack = undefined;
    }
    return pack ? { file: BLOBS_FILE, size: pack.size, count: pack.count } : undefined;
  }
}
