// A worker thread of face-pool.ts: one BatchFaces for the life of the worker (its fonts are parsed
// once, at the first face that needs them), drawing the faces the pool sends. The run's warnings
// (fonts not used, placeholder glyphs) are the pool's: only the face's own photo warnings and the
// drawn face go back.
import { parentPort, workerData } from 'node:worker_threads';
import { BatchFaces } from './batch-faces.js';
import type { DrawReply, DrawRequest, FaceWorkerData } from './face-pool.js';
import { threadError } from '../errors/threads.js';
import { FaceError } from './faces.js';

const port = parentPort!;
const { fonts, photoDirs } = workerData as FaceWorkerData;
let warnings: string[] = [];
const faces = new BatchFaces({ fonts, photoDirs, warn: (w) => warnings.push(w) });

port.on('message', ({ id, recordId, face }: DrawRequest) => {
  warnings = [];
  let reply: DrawReply;
  try {
    const { raster: _, ...drawn } = faces.draw(recordId, face);
    reply = { id, warnings, face: drawn };
  } catch (e) {
    reply = { id, warnings, error: { ...threadError(e), ...(e instanceof FaceError && e.field !== undefined ? { field: e.field } : {}) } };
  }
  const png = reply.face?.png;
  // The PNG's own buffer moves to the pool instead of being copied.
  port.postMessage(reply, png && png.byteOffset === 0 && png.byteLength === png.buffer.byteLength ? [png.buffer as ArrayBuffer] : []);
});
