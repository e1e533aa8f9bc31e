// Where command output goes. Handlers write through an Io so tests can run them in-process.
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is an interactive terminal (for notes meant for a person, and progress bars). */
  readonly interactive: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: NodeJS.ReadableStream;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
  err: (text) => void process.stderr.write(text.endsWith('\n') ? text : text + '\n'),
  interactive: Boolean(process.stderr.isTTY),
  env: process.env,
  stdin: process.stdin,
};

/** Prints either the JSON form (for scripts) or the text form (for people) of one result. */
export function emit(io: Io, json: boolean, value: unknown, text: string): void {
  io.out(json ? JSON.stringify(value) : text);
}
