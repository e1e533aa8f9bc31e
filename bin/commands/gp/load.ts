// `cardsmith gp load CAP` and `cardsmith gp install CAP`: INSTALL [for load] + LOAD (GP Card
// Specification 2.3.1 §11.5–11.6; blocks sized to a short APDU after the secure channel's overhead)
// and INSTALL [for install and make selectable] of an applet from it.
import type { CommandModule, Options } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import { encodePrivileges, type CapFile, type GpSession, type LoadResult } from '../../../globalplatform/index.js';
import type { Ctx } from '../../context.js';
import { UsageError } from '../../errors.js';
import { emit } from '../../io.js';
import { aidArg, gpOptions, hexOrUsage, parseNumber, readCap, withSession, type GpArgs } from './common.js';

const loadOptions = {
  hash: { choices: ['none', 'sha1', 'sha256'] as const, default: 'none', describe: 'send the load file data block hash in INSTALL [for load] (needed for DAP)' },
  'include-descriptor': { type: 'boolean', default: false, describe: 'load the Descriptor component too (GPPro leaves it out; some cards want it)' },
  'block-size': { type: 'string', requiresArg: true, describe: 'LOAD block size (default: the most that fits a short APDU after the channel overhead)' },
} satisfies Record<string, Options>;

interface LoadArgs extends GpArgs {
  cap: string;
  hash: 'none' | 'sha1' | 'sha256';
  'include-descriptor': boolean;
  'block-size'?: string;
}

async function loadInto(session: GpSession, cap: CapFile, a: LoadArgs): Promise<LoadResult> {
  const blockSize = parseNumber(a['block-size'], 'block-size', 1, 255);
  return session.loadCap(cap, {
    includeDescriptor: a['include-descriptor'],
    ...(a.hash !== 'none' ? { hash: a.hash } : {}),
    ...(blockSize !== undefined ? { blockSize } : {}),
  });
}

function loadText(cap: CapFile, r: LoadResult): string {
  return `loaded ${r.loadFileAid}${cap.packageName ? ` (${cap.packageName})` : ''}: ${r.bytes} bytes in ${r.blocks} LOAD commands of up to ${r.blockSize} bytes`;
}

export function loadCommand(ctx: Ctx): CommandModule {
  return {
    command: 'load <cap>',
    describe: 'load a CAP file (INSTALL [for load] + LOAD)',
    builder: (y) =>
      y
        .positional('cap', { type: 'string', demandOption: true, describe: 'the .cap or .ijc file' })
        .options({ ...gpOptions, ...loadOptions })
        .example('$0 gp load applet.cap --reader sim:gp', 'with the default test keys, C-MAC')
        .example('$0 gp load applet.cap --reader sim:gp --scp 03 --security-level mac+enc --kmc env:KMC --div kdf3', 'SCP03, encrypted, diversified keys'),
    handler: async (argv) => {
      const a = argv as unknown as LoadArgs;
      const cap = readCap(a.cap);
      await withSession(ctx, a, async ({ session }) => {
        const r = await loadInto(session, cap, a);
        emit(ctx.io, a.json, { ...r, package: cap.packageName, applets: cap.applets.map((x) => toHex(x.aid)) }, loadText(cap, r));
      });
    },
  };
}

interface InstallArgs extends LoadArgs {
  applet?: string;
  create?: string;
  params?: string;
  privs?: string;
}

/** `--privs SecurityDomain,TrustedPath` or hex `80C000`/`02`. */
export function parsePrivileges(text: string | undefined): Uint8Array | undefined {
  if (text === undefined) return undefined;
  if (/^([0-9a-f]{2}|[0-9a-f]{6})$/i.test(text.trim())) return hexOrUsage(text.trim(), 'privs');
  try {
    const bytes = encodePrivileges(text.split(',').map((s) => s.trim()).filter(Boolean));
    return bytes[1] === 0 && bytes[2] === 0 ? bytes.subarray(0, 1) : bytes;
  } catch (e) {
    throw new UsageError(`--privs: ${(e as Error).message}`);
  }
}

export function installCommand(ctx: Ctx): CommandModule {
  return {
    command: 'install <cap>',
    describe: 'load a CAP file (unless its package is on the card) and install and make selectable an applet from it',
    builder: (y) =>
      y
        .positional('cap', { type: 'string', demandOption: true, describe: 'the .cap or .ijc file' })
        .options({
          ...gpOptions,
          ...loadOptions,
          applet: { type: 'string', requiresArg: true, describe: 'applet (module) AID; default: the only applet of the CAP' },
          create: { type: 'string', requiresArg: true, describe: 'instance AID; default: the applet AID' },
          params: { type: 'string', requiresArg: true, describe: 'install parameters for the applet (hex, sent as C9)' },
          privs: { type: 'string', requiresArg: true, describe: 'privileges: names (SecurityDomain,CardReset,…) or 1/3 hex bytes' },
        })
        .example('$0 gp install applet.cap --reader sim:gp', 'load and install the only applet')
        .example('$0 gp install cps.cap --reader sim:gp --applet A0000000041010AA --create A0000000041010 --params 00 --privs CardReset', 'a named instance, default selected'),
    handler: async (argv) => {
      const a = argv as unknown as InstallArgs;
      const cap = readCap(a.cap);
      const applet = aidArg(a.applet, 'applet') ?? (cap.applets.length === 1 ? cap.applets[0]!.aid : undefined);
      if (!applet) {
        throw new UsageError(
          cap.applets.length === 0 ? `${a.cap} has no applets (a library package): use gp load` : `${a.cap} has ${cap.applets.length} applets (${cap.applets.map((x) => toHex(x.aid)).join(', ')}): choose one with --applet`,
        );
      }
      if (a.applet && !cap.applets.some((x) => toHex(x.aid) === toHex(applet))) {
        throw new UsageError(`--applet ${toHex(applet)} is not an applet of ${a.cap} (it has ${cap.applets.map((x) => toHex(x.aid)).join(', ') || 'none'})`);
      }
      const instance = aidArg(a.create, 'create') ?? applet;
      const privileges = parsePrivileges(a.privs);
      const params = a.params !== undefined ? hexOrUsage(a.params, 'params') : undefined;
      await withSession(ctx, a, async ({ session }) => {
        const present = (await session.getStatus('loadFiles')).some((l) => l.aid === toHex(cap.packageAid));
        const load = present ? undefined : await loadInto(session, cap, a);
        await session.install({
          loadFileAid: cap.packageAid,
          moduleAid: applet,
          instanceAid: instance,
          ...(privileges ? { privileges } : {}),
          ...(params ? { parameters: params } : {}),
        });
        const result = { package: toHex(cap.packageAid), loaded: load ?? null, applet: toHex(applet), instance: toHex(instance), privileges: privileges ? toHex(privileges) : '00' };
        const text = [load ? loadText(cap, load) : `package ${toHex(cap.packageAid)} already on the card, not loaded again`, `installed ${toHex(instance)} from ${toHex(applet)} (selectable)`].join('\n');
        emit(ctx.io, a.json, result, text);
      });
    },
  };
}
