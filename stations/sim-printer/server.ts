// The simulated printer behind a TCP port, speaking Evolis escape commands, so that the `evolis`
// driver is tested against it.
import { createServer, type Server, type Socket } from 'node:net';
import { CR, FrameParser } from '../evolis-protocol.js';
import type { SimulatedPrinter } from './machine.js';

export class SimulatedPrinterServer {
  /** While true, commands are read but not answered (to test the driver's timeout). */
  mute = false;
  #server: Server;
  #sockets = new Set<Socket>();

  private constructor(
    readonly printer: SimulatedPrinter,
    server: Server,
    readonly uri: string,
  ) {
    this.#server = server;
  }

  static listen(printer: SimulatedPrinter, options: { host?: string; port?: number } = {}): Promise<SimulatedPrinterServer> {
    const host = options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      let self: SimulatedPrinterServer | undefined;
      const server = createServer((socket) => {
        if (self) self.#serve(socket);
        else socket.destroy();
      });
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        const addr = server.address();
        if (addr === null || typeof addr === 'string') {
          reject(new Error('simulated printer: no TCP address'));
          return;
        }
        self = new SimulatedPrinterServer(printer, server, `tcp://${host}:${addr.port}`);
        resolve(self);
      });
    });
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const parser = new FrameParser();
    let chain: Promise<void> = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of parser.push(new Uint8Array(chunk))) {
        chain = chain.then(async () => {
          const reply = await this.printer.execute(frame);
          if (!this.mute && !socket.destroyed) socket.write(Buffer.concat([Buffer.from(reply, 'latin1'), Buffer.of(CR)]));
        });
      }
    });
  }

  /** Drops every connection (as a printer switched off would). */
  dropConnections(): void {
    for (const s of this.#sockets) s.destroy();
  }

  close(): Promise<void> {
    this.dropConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
