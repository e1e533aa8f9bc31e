import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import {
  type BridgeEvent,
  formatCommandBytes,
  formatResponseBytes,
  MultiInterfaceCard,
  parseSeed,
  VPCD_CONTACT_PORT,
  VPCD_CONTACTLESS_PORT,
  VPCD_DEFAULT_HOST,
  VpcdBridge,
} from '../../../transport/index.js';
import type { CardInterface } from '../../../transport/index.js';
import { simCards } from '../../../simulator/index.js';
import type { Ctx } from '../../context.js';
import { UsageError } from '../../errors.js';
import { outputOptions } from '../../options.js';

interface ServeArgs {
  card: 'sscard' | 'gp';
  state?: string;
  seed?: string;
  vpcd?: string;
  interface: 'contact' | 'contactless' | 'both';
  t0?: boolean;
  verbose: boolean;
  json: boolean;
}

interface HostPort {
  host: string;
  port: number;
}

/** `HOST:PORT`, `:PORT`, `PORT` or `[v6]:PORT`. */
export function parseHostPort(text: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--vpcd: expected HOST:PORT (e.g. 127.0.0.1:35963), got "${text}"`);
  }
  return { host: m[1] || m[2] || VPCD_DEFAULT_HOST, port };
}

/** Which interface goes to which vpcd port: one port per interface; `both` uses PORT and PORT+1. */
export function servedInterfaces(iface: ServeArgs['interface'], vpcd: string | undefined): (HostPort & { interface: CardInterface })[] {
  const given = vpcd === undefined ? undefined : parseHostPort(vpcd);
  const host = given?.host ?? VPCD_DEFAULT_HOST;
  if (iface === 'both') {
    const port = given?.port ?? VPCD_CONTACT_PORT;
    if (port === 65535) throw new UsageError('--vpcd: with --interface both the contactless card uses PORT+1, so PORT must be below 65535');
    return [
      { interface: 'contact', host, port },
      { interface: 'contactless', host, port: port + 1 },
    ];
  }
  return [{ interface: iface, host, port: given?.port ?? (iface === 'contact' ? VPCD_CONTACT_PORT : VPCD_CONTACTLESS_PORT) }];
}

export function simServeCommand(ctx: Ctx): CommandModule {
  return {
    command: 'serve',
    describe: 'put a simulated card into vsmartcard\'s vpcd reader ("Virtual PCD 00 00") until Ctrl-C',
    builder: (y) =>
      y
        .options({
          card: { choices: ['sscard', 'gp'] as const, default: 'sscard', describe: 'which card: the social-security card or a GlobalPlatform card (ISD with test keys 40..4F)' },
          state: { type: 'string', requiresArg: true, describe: 'card image file: loaded at start when it exists, saved on exit' },
          seed: { type: 'string', requiresArg: true, describe: 'random seed of a new card (decimal or 0x hex, default 0); same seed ⇒ same challenges' },
          vpcd: {
            type: 'string',
            requiresArg: true,
            describe: `vpcd HOST:PORT (default ${VPCD_DEFAULT_HOST}:${VPCD_CONTACT_PORT} for contact, :${VPCD_CONTACTLESS_PORT} for contactless; both: PORT and PORT+1)`,
          },
          interface: { choices: ['contact', 'contactless', 'both'] as const, default: 'contact', describe: 'interface(s) to serve' },
          t0: { type: 'boolean', describe: 'T=0 behaviour: the card answers 61xx / 6Cxx (default: off, or as saved in --state)' },
          verbose: { type: 'boolean', alias: 'v', default: false, describe: 'one line per APDU (PIN and key data shown as [n bytes])' },
          json: { ...outputOptions.json, describe: 'machine-readable output: JSON lines, an object per event' },
        })
        .example('$0 sim serve', 'the social-security card in reader "Virtual PCD 00 00" (needs pcscd with vsmartcard-vpcd)')
        .example('$0 sim serve --state card.json --seed 7 --verbose', 'keep the card between runs, log every APDU')
        .example('$0 sim serve --interface both --json', 'contact on 35963 and contactless on 35964; events as JSON lines')
        .epilogue('Stops on SIGINT/SIGTERM and prints the APDU count; reconnects by itself when pcscd restarts. See docs/readers.md.'),
    handler: async (argv) => {
      const a = argv as unknown as ServeArgs;
      const { io } = ctx;
      const seed = a.seed === undefined ? undefined : parseSeed(a.seed, '--seed');
      const targets = servedInterfaces(a.interface, a.vpcd);
      const factory = simCards;
      const loading = a.state !== undefined && existsSync(a.state);
      const card = await factory.create({
        kind: a.card,
        interface: targets[0]!.interface,
        ...(seed !== undefined ? { seed } : {}),
        ...(a.t0 !== undefined ? { t0: a.t0 } : {}),
        ...(a.state !== undefined ? { state: a.state } : {}),
      });
      const shared = new MultiInterfaceCard(card, targets.map((x) => x.interface));

      const print = (text: string, json: Record<string, unknown>): void => io.out(a.json ? JSON.stringify(json) : text);
      const onEvent = (e: BridgeEvent): void => {
        const p = `${e.interface}: `;
        const base = { event: e.type, interface: e.interface };
        switch (e.type) {
          case 'connected':
            return print(`${p}connected to vpcd ${e.host}:${e.port}`, { ...base, host: e.host, port: e.port });
          case 'unreachable':
            // The first failure of a series, then only with --verbose (vpcd may be down for long).
            if (e.attempt === 1 || a.verbose) {
              return print(`${p}vpcd ${e.host}:${e.port} not reachable (${e.error}); retrying (is pcscd with vsmartcard-vpcd running?)`, {
                ...base,
                host: e.host,
                port: e.port,
                error: e.error,
                attempt: e.attempt,
                retryMs: e.retryMs,
              });
            }
            return;
          case 'disconnected':
            return print(`${p}disconnected: ${e.reason}; reconnecting`, { ...base, reason: e.reason });
          case 'power-on':
            return print(`${p}power on, ATR ${toHex(e.atr)}`, { ...base, atr: toHex(e.atr) });
          case 'reset':
            return print(`${p}reset, ATR ${toHex(e.atr)}`, { ...base, atr: toHex(e.atr) });
          case 'power-off':
            return print(`${p}power off`, base);
          case 'malformed':
            return print(`${p}malformed frame from vpcd: ${e.reason}; connection closed`, { ...base, reason: e.reason });
          case 'warning':
            return print(`${p}warning: ${e.message}`, { ...base, message: e.message });
          case 'apdu': {
            if (!a.verbose) return;
            const cmd = formatCommandBytes(e.command);
            const rsp = formatResponseBytes(e.command, e.response);
            const note = e.switched ? ' (card switched to this interface)' : '';
            return print(`${p}${cmd} -> ${rsp} (${(e.micros / 1000).toFixed(2)} ms)${note}`, {
              ...base,
              command: cmd,
              response: rsp,
              ms: Math.round(e.micros) / 1000,
              switched: e.switched,
            });
          }
        }
      };

      const bridges = targets.map((x) => new VpcdBridge({ card: shared, interface: x.interface, host: x.host, port: x.port, onEvent }));
      if (loading && seed !== undefined) {
        print(`note: --seed ${a.seed} ignored: the card loaded from ${a.state} keeps its own seed`, { event: 'note', message: 'seed ignored: loaded card keeps its own seed' });
      }
      const origin = loading ? `loaded from ${a.state}` : `new, seed ${seed ?? 0}${a.state ? `, saved to ${a.state} on exit` : ''}`;
      print(
        `serving ${a.card} (${origin}${a.t0 ? ', T=0' : ''}) on ${targets.map((x) => `${x.interface} → vpcd ${x.host}:${x.port}`).join(', ')}; Ctrl-C stops`,
        { event: 'serving', card: a.card, loaded: loading, seed: loading ? null : (seed ?? 0), t0: a.t0 ?? null, state: a.state ?? null, targets },
      );
      for (const b of bridges) b.start();

      const reason = await new Promise<string>((resolve) => {
        const onSignal = (sig: NodeJS.Signals): void => finish(sig);
        const onAbort = (): void => finish('abort');
        const finish = (why: string): void => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          ctx.signal?.removeEventListener('abort', onAbort);
          resolve(why);
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        if (ctx.signal?.aborted) finish('abort');
        else ctx.signal?.addEventListener('abort', onAbort, { once: true });
      });

      await Promise.all(bridges.map((b) => b.stop()));
      const perInterface = Object.fromEntries(bridges.map((b) => [b.interface, b.stats.apdus]));
      const total = bridges.reduce((n, b) => n + b.stats.apdus, 0);
      let saved: string | null = null;
      if (a.state !== undefined) {
        await factory.save(card, a.state);
        saved = a.state;
      }
      const split = bridges.length > 1 ? ` (${bridges.map((b) => `${b.interface} ${b.stats.apdus}`).join(', ')})` : '';
      print(`stopped (${reason}): ${total} APDU${total === 1 ? '' : 's'}${split}${saved ? `; card state saved to ${saved}` : ''}`, {
        event: 'stopped',
        reason,
        apdus: total,
        perInterface,
        state: saved,
      });
    },
  };
}
