// The faces of a batch run drawn on worker threads, ahead of the card that needs them, so the
// thread that talks to the stations never spends a face's ~100 ms. Each worker keeps one
// BatchFaces (face-worker.ts: fonts parsed once per worker); the pool keeps the run's warnings
// (BatchFaces.note here), so a face drawn in a worker warns exactly as one drawn inline: its
// photo warnings, then the once-per-run ones, when the face is taken. A face that fails in a
// worker fails where it is taken, with the worker's error name, message and kind. Idle workers do
// not keep the process alive; close() ends them.
import { Worker } from 'node:worker_threads';
import { BatchFaces, type BatchFacesOptions, type ScriptFace } from './batch-faces.js';
import { FaceError, type RenderedFace } from './faces.js';
import { rebuildError, startWorker, type ThreadError } from '../errors/threads.js';

/** A drawn face without its raster (the pool hands out PNGs). */
export type DrawnFace = Omit<RenderedFace, 'raster'>;

export interface FacePoolOptions extends BatchFacesOptions {
  /** Worker threads; 0 draws each face on the calling thread when it is taken. */
  workers: number;
  /** Faces drawn ahead and not taken yet, at most (the oldest is dropped first; default 64). */
  keep?: number;
}

/** @internal The messages between the pool and its workers. */
export interface FaceWorkerData {
  fonts: readonly string[];
  photoDirs: readonly string[];
}
/** @internal */
export interface DrawRequest {
  id: number;
  recordId: string;
  face: ScriptFace;
}
/** @internal */
export interface DrawReply {
  id: number;
  warnings: string[];
  face?: DrawnFace;
  error?: ThreadError & { field?: number };
}


/** A worker count is an integer ≥ 0 (0: faces drawn on the calling thread). */
export function checkFaceWorkers(workers: number): void {
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`face-pool: workers: expected an integer ≥ 0, got ${String(workers)}`);
}

/**
 * The default worker count: one per core, at most 4. The stations' thread needs little CPU once
 * the faces are elsewhere (a few ms per card), so it shares the cores with the workers.
 */
export function defaultFaceWorkers(cores: number): number {
  return Math.max(1, Math.min(4, cores));
}

interface Drawer {
  worker: Worker;
  /** Resolved with the worker's reply, or with null when the face is to be drawn on the calling thread. */
  pending: Map<number, (r: DrawReply | null) => void>;
  answered: boolean;
}

function startFaceWorker(data: FaceWorkerData): Worker {
  return startWorker(import.meta.url, 'face-worker', data);
}

export class FacePool {
  /** The run's warnings and placeholderRecords; draws the faces itself when there are no workers. */
  readonly faces: BatchFaces;
  private readonly drawers: Drawer[] = [];
  private readonly ahead = new Map<string, Promise<DrawReply | null>>();
  private nextId = 1;
  private closed = false;
  /** Set when a worker ended before its first answer (it cannot start here): faces are drawn inline. */
  private inline = false;

  constructor(private readonly o: FacePoolOptions) {
    checkFaceWorkers(o.workers);
    this.faces = new BatchFaces(o);
  }

  /** Starts drawing a record's face on a worker (nothing when there are none, or it is drawn already). */
  drawAhead(recordId: string, face: ScriptFace): void {
    if (this.o.workers === 0 || this.closed || this.inline || this.ahead.has(recordId)) return;
    this.ahead.set(recordId, this.send(recordId, face));
    const keep = this.o.keep ?? 64;
    for (const id of this.ahead.keys()) {
      if (this.ahead.size <= keep) break;
      this.ahead.delete(id);
    }
  }

  /** The record's face: the one drawn ahead, or drawn now. Its warnings go out now; a failed draw throws here. */
  async take(recordId: string, face: ScriptFace): Promise<DrawnFace> {
    if (this.o.workers === 0 || this.closed || this.inline) return this.faces.render(recordId, face);
    const r = await (this.ahead.get(recordId) ?? this.send(recordId, face));
    this.ahead.delete(recordId);
    if (r === null) return this.faces.render(recordId, face);
    for (const w of r.warnings) this.o.warn(w);
    if (r.error) throw rebuilt(r.error);
    return this.faces.note(recordId, r.face!);
  }

  /** Forgets a face drawn ahead that will not be taken (its card failed). */
  drop(recordId: string): void {
    this.ahead.delete(recordId);
  }

  /** Ends the workers; faces taken afterwards are drawn on the calling thread. */
  async close(): Promise<void> {
    this.closed = true;
    this.ahead.clear();
    const drawers = this.drawers.splice(0);
    // Referenced until they are gone: an unreferenced worker's end does not keep the process waiting for it.
    await Promise.all(
      drawers.map((d) => {
        d.worker.ref();
        return d.worker.terminate();
      }),
    );
  }

  private send(recordId: string, face: ScriptFace): Promise<DrawReply | null> {
    const d = this.drawer();
    const id = this.nextId++;
    return new Promise<DrawReply | null>((resolve) => {
      // Busy workers keep the process alive (a run may be waiting on nothing else); idle ones do not.
      if (d.pending.size === 0) d.worker.ref();
      d.pending.set(id, resolve);
      d.worker.postMessage({ id, recordId, face } satisfies DrawRequest);
    });
  }

  /** The least busy worker, started when there are fewer than asked for. */
  private drawer(): Drawer {
    if (this.drawers.length < this.o.workers) {
      const worker = startFaceWorker({ fonts: [...this.o.fonts], photoDirs: [...this.o.photoDirs] });
      const d: Drawer = { worker, pending: new Map(), answered: false };
      worker.unref();
      worker.on('message', (r: DrawReply) => {
        d.answered = true;
        const done = d.pending.get(r.id);
        d.pending.delete(r.id);
        if (d.pending.size === 0) worker.unref();
        done?.(r);
      });
      // A worker that dies fails the faces it was drawing; the next face starts another one. One
      // that ends before its first answer cannot start here (a broken install): every face is then
      // drawn on the calling thread, the ones it held too, and the run says so once.
      let why = 'it ended';
      worker.on('error', (e) => (why = e.message));
      worker.on('exit', () => {
        const i = this.drawers.indexOf(d);
        if (i >= 0) this.drawers.splice(i, 1);
        if (!d.answered && !this.closed && !this.inline) {
          this.inline = true;
          this.o.warn(`card faces: a face worker could not start (${why}): faces are drawn on the runner's thread`);
        }
        for (const [id, done] of d.pending) done(d.answered ? { id, warnings: [], error: { name: 'FaceError', message: `face: the face worker stopped (${why})` } } : null);
        d.pending.clear();
      });
      this.drawers.push(d);
      return d;
    }
    return this.drawers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }
}

function rebuilt(e: NonNullable<DrawReply['error']>): Error {
  if (e.name === 'FaceError') return new FaceError(e.message, e.field === undefined ? {} : { field: e.field });
  return rebuildError(e);
}
