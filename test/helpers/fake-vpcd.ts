// A fake vpcd for the bridge tests: a TCP server on a random loopback port that plays pcscd's vpcd
// driver — sends control bytes and APDUs as length-prefixed frames and reads the card's answers.
// Every wait has a timeout, so a broken bridge fails a test instead of hanging it.
import net from 'node:net';

export const WAIT_MS = 3000;

export class VpcdConnection {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  #buffer: Buffer = Buffer.alloc(0);
  #frames: Uint8Array[] = [];
  #waiters: (() => void)[] = [];
  #isClosed = false;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 2 && this.#buffer.length >= 2 + this.#buffer.readUInt16BE(0)) {
        const n = this.#buffer.readUInt16BE(0);
        this.#frames.push(new Uint8Array(this.#buffer.subarray(2, 2 + n)));
        this.#buffer = this.#buffer.subarray(2 + n);
      }
      this.#wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.#isClosed = true;
        this.#wake();
        resolve();
      }),
    );
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Sends one frame: 2-byte length + payload. */
  send(payload: Uint8Array | number[]): void {
    const p = Uint8Array.from(payload);
    const out = Buffer.alloc(2 + p.length);
    out.writeUInt16BE(p.length, 0);
    out.set(p, 2);
    this.socket.write(out);
  }

  sendRaw(bytes: Uint8Array | number[]): void {
    this.socket.write(Uint8Array.from(bytes));
  }

  /** The next frame the card sent. */
  async next(timeoutMs = WAIT_MS): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.#frames.shift();
      if (f) return f;
      if (this.#isClosed) throw new Error('fake vpcd: connection closed while waiting for a frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake vpcd: no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a frame and returns the answer. */
  async exchange(payload: Uint8Array | number[], timeoutMs = WAIT_MS): Promise<Uint8Array> {
    this.send(payload);
    return this.next(timeoutMs);
  }

  /** Resolves when the bridge closed this connection; rejects after the timeout. */
  async waitClosed(timeoutMs = WAIT_MS): Promise<void> {
    await withTimeout(this.closed, timeoutMs, 'fake vpcd: connection still open');
  }

  /** True when nothing arrives within `ms` (for "control bytes are not answered"). */
  async silentFor(ms: number): Promise<boolean> {
    try {
      await this.next(ms);
      return false;
    } catch {
      return this.#frames.length === 0;
    }
  }
}

export class FakeVpcd {
  readonly server: net.Server;
  #pending: VpcdConnection[] = [];
  #waiters: (() => void)[] = [];
  readonly connections: VpcdConnection[] = [];

  private constructor(server: net.Server) {
    this.server = server;
    server.on('connection', (s) => {
      const c = new VpcdConnection(s);
      this.connections.push(c);
      this.#pending.push(c);
      const w = this.#waiters;
      this.#waiters = [];
      for (const f of w) f();
    });
  }

  static async listen(port = 0): Promise<FakeVpcd> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new FakeVpcd(server);
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The next card connection. */
  async accept(timeoutMs = WAIT_MS): Promise<VpcdConnection> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = this.#pending.shift();
      if (c) return c;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake vpcd: no card connected within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await withTimeout(new Promise<void>((resolve) => this.server.close(() => resolve())), WAIT_MS, 'fake vpcd: server did not close');
  }
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const f = await FakeVpcd.listen();
  const port = f.port;
  await f.close();
  return port;
}

export async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${message} (after ${ms} ms)`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
