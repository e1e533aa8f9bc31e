// Shared parts of `cardsmith gp …` (GlobalPlatform Card Specification 2.3.1 card management, the
// GlobalPlatformPro way): one option table for reader, keys, protocol and output; one connect()
// that opens the reader, selects the security domain and authenticates; error translation to the
// CLI's exit codes. The library (globalplatform/, channels/) never prints; only this layer does.
import { readFileSync } from 'node:fs';
import type { Options } from 'yargs';
import { fromHex, toHex } from '../../../bytes/index.js';
import {
  CardCryptogramError,
  DIVERSIFICATIONS,
  GP_TEST_KEY,
  masterKeySource,
  parseSecurityLevel,
  SECURITY_LEVEL_NAMES,
  staticKeySource,
  type Diversification,
  type KeySource,
} from '../../../channels/index.js';
import { CapFile, GpSession, parseAid } from '../../../globalplatform/index.js';
import { simCards } from '../../../simulator/index.js';
import { openTransport, READER_SPEC_HELP } from '../../../transport/index.js';
import type { Transport } from '../../../transport/transport.js';
import type { Ctx } from '../../context.js';
import { UsageError } from '../../errors.js';
import { outputOptions, secretOption } from '../../options.js';
import { readSecret } from '../../secrets.js';

export type TransportOpener = (spec: string) => Promise<Transport>;

let opener: TransportOpener = (spec) => openTransport(spec, { simCards });

/**
 * Replaces how `--reader` is opened, for in-process tests (a test card behind a SimulatorTransport);
 * call with no argument to restore transport/openTransport. Only code in the same process can do this.
 */
export function setTransportOpener(fn?: TransportOpener): void {
  opener = fn ?? ((spec) => openTransport(spec, { simCards }));
}

export const readerOptions = {
  reader: { type: 'string', demandOption: true, requiresArg: true, describe: `where the card is: ${READER_SPEC_HELP}; sim:gp for the simulated GP card` },
  sd: { type: 'string', requiresArg: true, describe: 'security domain AID (hex); default: the default-selected SD, else A000000151000000, A0000001510000, A000000003000000' },
} satisfies Record<string, Options>;

export const keyOptions = {
  key: secretOption('static key used as ENC, MAC and DEK; default: the GP test key 40..4F'),
  'key-enc': secretOption('static ENC key (with --key-mac and --key-dek)'),
  'key-mac': secretOption('static MAC key'),
  'key-dek': secretOption('static DEK key'),
  kmc: secretOption('master key from which the card keys are diversified with --div'),
  div: { choices: DIVERSIFICATIONS, default: 'none' as Diversification, describe: 'diversification template of --kmc: emv, visa2 (3DES, SCP02) or kdf3 (AES, SCP03)' },
  scp: { type: 'string', choices: ['02', '03'] as const, describe: 'require this secure channel protocol (default: what the card answers)' },
  'scp-i': { type: 'string', requiresArg: true, describe: 'SCP02 i parameter (hex, the card does not send it): 15 (default) or 55' },
  s16: { type: 'boolean', default: false, describe: 'SCP03 S16 mode (16-byte challenges, cryptograms and MACs)' },
  'key-version': { type: 'string', requiresArg: true, describe: 'key set version for INITIALIZE UPDATE (decimal or 0x hex); default 0: the card chooses' },
  'security-level': { type: 'string', default: 'mac', describe: `secure channel protection: ${SECURITY_LEVEL_NAMES.join(', ')} or a hex byte` },
} satisfies Record<string, Options>;

export const gpOptions = { ...readerOptions, ...keyOptions, ...outputOptions };

export interface GpArgs {
  reader: string;
  sd?: string;
  key?: string;
  'key-enc'?: string;
  'key-mac'?: string;
  'key-dek'?: string;
  kmc?: string;
  div: Diversification;
  scp?: '02' | '03';
  'scp-i'?: string;
  s16: boolean;
  'key-version'?: string;
  'security-level': string;
  json: boolean;
}

export function parseNumber(value: string | undefined, option: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const t = value.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${option}: expected a number ${min}..${max} (decimal or 0x hex), got '${value}'`);
  return n;
}

export function aidArg(value: string | undefined, option: string): Uint8Array | undefined {
  if (value === undefined) return undefined;
  try {
    return parseAid(value, `--${option}`);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The key source the options describe; the GP test key when none is given (as GlobalPlatformPro). */
export async function keySourceFrom(ctx: Ctx, a: GpArgs, prefix = ''): Promise<KeySource> {
  const opt = (name: string) => (a as unknown as Record<string, string | undefined>)[`${prefix}${name}`];
  const key = opt('key');
  const kmc = opt('kmc');
  const parts = [opt('key-enc'), opt('key-mac'), opt('key-dek')];
  const given = [key !== undefined, kmc !== undefined, parts.some((p) => p !== undefined)].filter(Boolean).length;
  if (given > 1) throw new UsageError(`give the keys as one of --${prefix}key, --${prefix}kmc (with --div) or --${prefix}key-enc/--${prefix}key-mac/--${prefix}key-dek`);
  if (kmc !== undefined) {
    const div = (prefix ? ((a as unknown as Record<string, Diversification | undefined>)[`${prefix}div`] ?? a.div) : a.div) as Diversification;
    return masterKeySource(await readSecret(ctx.io, `${prefix}kmc`, kmc), div);
  }
  if (key !== undefined) return staticKeySource(await readSecret(ctx.io, `${prefix}key`, key));
  if (parts.some((p) => p !== undefined)) {
    if (parts.some((p) => p === undefined)) throw new UsageError(`--${prefix}key-enc, --${prefix}key-mac and --${prefix}key-dek go together`);
    const [enc, mac, dek] = await Promise.all(['key-enc', 'key-mac', 'key-dek'].map((n, k) => readSecret(ctx.io, `${prefix}${n}`, parts[k]!)));
    return staticKeySource({ enc: enc!, mac: mac!, dek: dek! });
  }
  if (prefix) throw new UsageError(`give the new keys with --${prefix}key, --${prefix}kmc or --${prefix}key-enc/-mac/-dek`);
  if (a.div !== 'none') throw new UsageError('--div applies to --kmc; give the master key with --kmc');
  return staticKeySource(GP_TEST_KEY);
}

export function securityLevelFrom(a: GpArgs): number {
  try {
    return parseSecurityLevel(a['security-level']);
  } catch (e) {
    throw new UsageError(`--security-level: ${(e as Error).message}`);
  }
}

export interface Connected {
  session: GpSession;
  keys: KeySource;
  close(): Promise<void>;
}

export async function openReader(a: GpArgs): Promise<Transport> {
  return opener(a.reader);
}

/** Opens the reader, selects the SD and (unless `authenticate` is false) opens the secure channel. */
export async function connect(ctx: Ctx, a: GpArgs, options: { authenticate?: boolean } = {}): Promise<Connected> {
  const keys = await keySourceFrom(ctx, a);
  const level = securityLevelFrom(a);
  const keyVersion = parseNumber(a['key-version'], 'key-version', 0, 0x7f);
  const scp02i = a['scp-i'] !== undefined ? parseNumber(`0x${a['scp-i']}`, 'scp-i', 0, 0x7f) : undefined;
  const sd = aidArg(a.sd, 'sd');
  const transport = await openReader(a);
  const session = new GpSession(transport, progressFor(ctx));
  const close = async () => {
    await transport.close().catch(() => undefined);
  };
  try {
    await session.selectSd(sd);
    if (options.authenticate !== false) {
      await session.authenticate({
        keys,
        securityLevel: level,
        ...(a.scp ? { scp: a.scp === '02' ? 2 : 3 } : {}),
        ...(keyVersion !== undefined ? { keyVersion } : {}),
        ...(scp02i !== undefined ? { scp02i } : {}),
        ...(a.s16 ? { s16: true } : {}),
      });
    }
  } catch (e) {
    await close();
    throw explain(ctx, e);
  }
  return { session, keys, close };
}

function progressFor(ctx: Ctx): { onProgress?: (e: { op: string; block: number; blocks: number }) => void } {
  if (!ctx.io.interactive) return {};
  return {
    onProgress: (e) => {
      ctx.io.err(`${e.op === 'load' ? 'LOAD' : 'STORE DATA'} ${e.block}/${e.blocks}`);
    },
  };
}

/** Adds what a person needs next to an error (KCVs of the keys tried). */
export function explain(ctx: Ctx, e: unknown): unknown {
  if (e instanceof CardCryptogramError) {
    ctx.io.err(`keys tried: ENC KCV ${e.kcvs.enc}, MAC KCV ${e.kcvs.mac}, DEK KCV ${e.kcvs.dek}; cardsmith gp probe-keys checks the usual keys and templates without any authentication attempt`);
  }
  return e;
}

/** Runs `fn` with a connected session and always closes the reader. */
export async function withSession<T>(ctx: Ctx, a: GpArgs, fn: (c: Connected) => Promise<T>, options: { authenticate?: boolean } = {}): Promise<T> {
  const c = await connect(ctx, a, options);
  try {
    return await fn(c);
  } catch (e) {
    throw explain(ctx, e);
  } finally {
    await c.close();
  }
}

export function readCap(path: string): CapFile {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // A bad CAP file is bad input (CapFileError, exit 2), like bad hex.
  return CapFile.parse(bytes, path);
}

export function hexOrUsage(value: string, option: string): Uint8Array {
  try {
    return fromHex(value, `--${option}`);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export { toHex };
