// Byte links to an Evolis printer: TCP (tcp://host:port — network printers and the simulated
// printer's server) or a device file (a USB printer class device such as /dev/usb/lp0, or a serial
// port already configured with stty), written and read through a file descriptor. Only the TCP link
// is tested (against the simulated printer); the device link is the same few calls on a file handle
// and has not met a real printer here.
import { open, type FileHandle } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { PrinterLinkError } from './errors.js';

export interface EvolisLink {
  readonly name: string;
  write(bytes: Uint8Array): Promise<void>;
  /** The receiver of incoming bytes (set once by the driver). */
  onData(receiver: (bytes: Uint8Array) => void): void;
  /** Called once when the link ends (err set if it broke). */
  onClose(receiver: (err?: Error) => void): void;
  close(): Promise<void>;
}

export interface LinkOptions {
  /** Bound on connecting (TCP) or opening (device), default 10 000 ms. */
  connectTimeoutMs?: number;
}

/** `tcp://host:port`, `file:///dev/usb/lp0`, or an absolute device path. */
export async function openEvolisLink(uri: string, options: LinkOptions = {}): Promise<EvolisLink> {
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(uri);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port < 1 || port > 65535) throw new PrinterLinkError(`evolis: ${uri}: port must be 1..65535`);
    return TcpLink.connect(tcp[1]!.replace(/^\[|\]$/g, ''), port, options.connectTimeoutMs ?? 10_000);
  }
  const path = uri.startsWith('file://') ? uri.slice('file://'.length) : uri;
  if (path.startsWith('/')) return DeviceLink.open(path);
  throw new PrinterLinkError(`evolis: "${uri}" is neither tcp://HOST:PORT nor a device path such as /dev/usb/lp0`);
}

class TcpLink implements EvolisLink {
  #receiver: (bytes: Uint8Array) => void = () => {};
  #closeReceiver: (err?: Error) => void = () => {};
  #closed = false;

  private constructor(
    readonly name: string,
    private readonly socket: Socket,
  ) {
    socket.on('data', (d: Buffer) => this.#receiver(new Uint8Array(d)));
    let error: Error | undefined;
    socket.on('error', (e) => (error = e));
    socket.on('close', () => {
      this.#closed = true;
      this.#closeReceiver(error ? new PrinterLinkError(`evolis: ${name}: connection lost (${error.message})`) : undefined);
    });
  }

  static connect(host: string, port: number, timeoutMs: number): Promise<TcpLink> {
    const name = `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new PrinterLinkError(`evolis: ${name}: no connection within ${timeoutMs} ms; is the printer on and reachable?`));
      }, timeoutMs);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new PrinterLinkError(`evolis: ${name}: cannot connect (${e.message}); check the address and that the printer is on`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(new TcpLink(name, socket));
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new PrinterLinkError(`evolis: ${this.name}: the connection is closed`));
    return new Promise((resolve, reject) => this.socket.write(bytes, (e) => (e ? reject(new PrinterLinkError(`evolis: ${this.name}: write failed (${e.message})`)) : resolve())));
  }

  onData(receiver: (bytes: Uint8Array) => void): void {
    this.#receiver = receiver;
  }

  onClose(receiver: (err?: Error) => void): void {
    this.#closeReceiver = receiver;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}

class DeviceLink implements EvolisLink {
  #receiver: (bytes: Uint8Array) => void = () => {};
  #closeReceiver: (err?: Error) => void = () => {};
  #closed = false;

  private constructor(
    readonly name: string,
    private readonly handle: FileHandle,
  ) {
    void this.#readLoop();
  }

  static async open(path: string): Promise<DeviceLink> {
    try {
      return new DeviceLink(path, await open(path, 'r+'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      throw new PrinterLinkError(`evolis: cannot open ${path} (${code}); is the printer plugged in, and may this user write to the device (group lp)?`);
    }
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(4096);
    let error: Error | undefined;
    try {
      while (!this.#closed) {
        const { bytesRead } = await this.handle.read(buf, 0, buf.length, null);
        if (bytesRead === 0) {
          // USB printer class devices report end-of-data between answers: poll again shortly.
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        this.#receiver(buf.slice(0, bytesRead));
      }
    } catch (e) {
      if (!this.#closed) error = new PrinterLinkError(`evolis: ${this.name}: read failed (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    this.#closed = true;
    this.#closeReceiver(error);
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) throw new PrinterLinkError(`evolis: ${this.name}: the device is closed`);
    let off = 0;
    while (off < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, off, bytes.length - off, null);
      off += bytesWritten;
    }
  }

  onData(receiver: (bytes: Uint8Array) => void): void {
    this.#receiver = receiver;
  }

  onClose(receiver: (err?: Error) => void): void {
    this.#closeReceiver = receiver;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.handle.close();
  }
}
