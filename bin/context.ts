// What every command handler gets: where to write, and the exit code it wants to leave.
import type { Io } from './io.js';

export interface Ctx {
  io: Io;
  exitCode: number;
  /** Ends long-running commands (sim serve) like SIGINT does; tests use it to stop them in-process. */
  signal?: AbortSignal;
}
