// Worker threads of the project (card faces, prep's card builders): how one starts, and the
// errors that cross its message port — structured clone keeps neither the class nor the kind, so
// the worker sends what identifies the error and the other side rebuilds one that says the same
// and fails the same way (exit code, runner fault).
import { Worker } from 'node:worker_threads';
import { CardsmithError, type ErrorKind } from './index.js';

/**
 * Starts the worker module `name` (without extension) that sits next to `callerUrl`
 * (import.meta.url). Sources run through tsx (tests) start it from its .ts file with tsx's hooks
 * registered in the worker: tsx does not register itself in worker threads on Node 20.
 */
export function startWorker(callerUrl: string, name: string, workerData: unknown): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const url = new URL(`./${name}.ts`, callerUrl);
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData });
}

/** What a worker sends of an error it raised. */
export interface ThreadError {
  name: string;
  message: string;
  kind?: ErrorKind;
}

export function threadError(e: unknown): ThreadError {
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message, ...(err instanceof CardsmithError ? { kind: err.kind } : {}) };
}

/** An error of the project raised in a worker thread, with its name, message and kind. */
export class WorkerError extends CardsmithError {
  constructor(
    override readonly name: string,
    message: string,
    readonly kind: ErrorKind,
  ) {
    super(message);
  }
}

/** The error a worker raised, rebuilt on this side: the project's with its kind, TypeError and RangeError as such. */
export function rebuildError(e: ThreadError): Error {
  if (e.kind) return new WorkerError(e.name, e.message, e.kind);
  const err = e.name === 'TypeError' ? new TypeError(e.message) : e.name === 'RangeError' ? new RangeError(e.message) : new Error(e.message);
  err.name = e.name;
  return err;
}
