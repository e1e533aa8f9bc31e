// The card builders of a prep run: worker threads, each with its own CardMaker over the keys the
// store lent (keys/lent.ts), or — with no workers, or a store that lends nothing (PKCS#11) — one
// CardMaker on prep's thread over the store itself. Jobs go out in chunks, round robin, and come
// back in order; a line is the same whichever thread built it (./card.ts).
import type { Worker } from 'node:worker_threads';
import { rebuildError, startWorker, type ThreadError } from '../../errors/threads.js';
import type { LentKey } from '../../keys/lent.js';
import { CardMaker, type CardJob, type CardKeys, type CardLine, type PrepPlan } from './card.js';

/** @internal The messages between prep and its workers. */
export interface PrepWorkerData {
  plan: PrepPlan;
  keys: LentKey[];
}
/** @internal */
export type PrepWorkerReply = { id: number; lines: CardLine[] } | { id: number; error: ThreadError };

/** Builds the lines of chunks of jobs, in the order the chunks were given. */
export interface CardBuilders {
  readonly threads: number;
  build(jobs: CardJob[]): Promise<CardLine[]>;
  close(): Promise<void>;
}

/** Builds on the calling thread, with the store's own key operations. */
export function inlineBuilders(plan: PrepPlan, keys: CardKeys): CardBuilders {
  const maker = new CardMaker(plan, keys);
  return {
    threads: 0,
    async build(jobs) {
      const out: CardLine[] = [];
      for (const j of jobs) out.push(await maker.make(j));
      return out;
    },
    async close() {},
  };
}

/** `count` worker threads, each given a copy of the plan and of the lent keys. */
export function workerBuilders(plan: PrepPlan, keys: LentKey[], count: number): CardBuilders {
  const workers: { worker: Worker; pending: Map<number, (r: PrepWorkerReply) => void> }[] = [];
  let failed: Error | undefined;
  for (let i = 0; i < count; i++) {
    const worker = startWorker(import.meta.url, 'prep-worker', { plan, keys } satisfies PrepWorkerData);
    const pending = new Map<number, (r: PrepWorkerReply) => void>();
    worker.on('message', (r: PrepWorkerReply) => {
      pending.get(r.id)?.(r);
      pending.delete(r.id);
    });
    // A worker that dies fails what it held and everything after: prep cannot skip cards.
    const stop = (why: string): void => {
      failed ??= new Error(`prep: a card builder thread stopped (${why})`);
      for (const [id, done] of pending) done({ id, error: { name: 'Error', message: failed.message } });
      pending.clear();
    };
    worker.on('error', (e) => stop(e.message));
    worker.on('exit', (code) => stop(`exit code ${code}`));
    workers.push({ worker, pending });
  }
  let next = 0;
  return {
    threads: count,
    build(jobs) {
      if (failed) return Promise.reject(failed);
      const id = next++;
      const w = workers[id % workers.length]!;
      return new Promise<CardLine[]>((resolve, reject) => {
        w.pending.set(id, (r) => ('error' in r ? reject(rebuildError(r.error)) : resolve(r.lines)));
        w.worker.postMessage({ id, jobs });
      });
    },
    async close() {
      failed ??= new Error('prep: the card builders were closed');
      // Asked to end, each worker wipes its copy of the keys and closes its port.
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((done) => {
              w.worker.once('exit', () => done());
              w.worker.postMessage({ end: true });
            }),
        ),
      );
    },
  };
}
