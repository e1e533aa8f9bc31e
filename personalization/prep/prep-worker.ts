// A worker thread of prep (./workers.ts): one CardMaker for the life of the worker, building the
// lines of the jobs it is sent with the keys the store lent, which it wipes when it ends.
import { parentPort, workerData } from 'node:worker_threads';
import { threadError } from '../../errors/threads.js';
import { LentKeys } from '../../keys/lent.js';
import { CardMaker, type CardJob, type CardLine } from './card.js';
import type { PrepWorkerData, PrepWorkerReply } from './workers.js';

const port = parentPort!;
const data = workerData as PrepWorkerData;
const keys = new LentKeys(data.keys);
const maker = new CardMaker(data.plan, keys);
const wipeAll = (): void => {
  keys.wipe();
  data.plan.pinKey.fill(0);
  data.plan.idKey.fill(0);
  if ('value' in data.plan.transport) data.plan.transport.value.fill(0);
};

port.on('message', async (m: { id: number; jobs: CardJob[] } | { end: true }) => {
  if ('end' in m) {
    wipeAll();
    port.close();
    return;
  }
  const { id, jobs } = m;
  let reply: PrepWorkerReply;
  try {
    const lines: CardLine[] = [];
    for (const j of jobs) lines.push(await maker.make(j));
    reply = { id, lines };
  } catch (e) {
    reply = { id, error: threadError(e) };
  }
  port.postMessage(reply);
});
