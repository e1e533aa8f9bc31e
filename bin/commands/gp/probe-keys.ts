// `cardsmith gp probe-keys`: the answer to "card cryptogram invalid". It sends SELECT and ONE
// INITIALIZE UPDATE — which costs the card no authentication attempt — and computes, offline, the
// card cryptogram for every candidate: well-known keys and the keys given, each as is and through
// the templates of the protocol (none/emv/visa2 for SCP02, none/kdf3 for SCP03). EXTERNAL
// AUTHENTICATE, whose failures the card counts towards blocking the key set, is never sent.
import type { CommandModule } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import { initializeUpdate } from '../../../channels/index.js';
import { GpSession, probeKeys, templatesFor, wellKnownKeys, type ProbeKey } from '../../../globalplatform/index.js';
import type { Ctx } from '../../context.js';
import { EXIT_FAILED } from '../../errors.js';
import { emit } from '../../io.js';
import { outputOptions, secretOption } from '../../options.js';
import { readSecret } from '../../secrets.js';
import { aidArg, explain, openReader, parseNumber, readerOptions, type GpArgs } from './common.js';

export function probeKeysCommand(ctx: Ctx): CommandModule {
  return {
    command: 'probe-keys',
    describe: 'find which well-known key or template the card uses, without any authentication attempt',
    builder: (y) =>
      y
        .options({
          ...readerOptions,
          key: secretOption('an extra candidate key (tried as is and with every template); repeatable'),
          kmc: secretOption('an extra candidate master key (same as --key)'),
          'key-version': { type: 'string', requiresArg: true, describe: 'key set version for INITIALIZE UPDATE (default 0: the card chooses)' },
          s16: { type: 'boolean', default: false, describe: 'SCP03 S16 mode' },
          ...outputOptions,
        })
        .example('$0 gp probe-keys --reader sim:gp', 'the well-known keys, with and without diversification')
        .example('$0 gp probe-keys --reader "Virtual PCD 00 00" --kmc env:KMC --json', 'also a master key of yours'),
    handler: async (argv) => {
      const a = argv as unknown as GpArgs & { key?: string | string[]; kmc?: string | string[] };
      const candidates: ProbeKey[] = wellKnownKeys();
      const extra = [...[a.key ?? []].flat(), ...[a.kmc ?? []].flat()];
      for (const [k, v] of extra.entries()) candidates.push({ label: `given key ${k + 1}`, key: await readSecret(ctx.io, a.key && [a.key].flat().includes(v) ? 'key' : 'kmc', v) });
      const keyVersion = parseNumber(a['key-version'], 'key-version', 0, 0x7f);
      const transport = await openReader(a);
      try {
        const session = new GpSession(transport);
        const sd = await session.selectSd(aidArg(a.sd, 'sd'));
        const init = await initializeUpdate(transport, { ...(keyVersion !== undefined ? { keyVersion } : {}), ...(a.s16 ? { s16: true } : {}) });
        const r = init.response;
        const results = probeKeys(r, init.hostChallenge, candidates, { sdAid: sd.aid, templates: templatesFor(r.scp) });
        const matches = results.filter((x) => x.matches);
        const summary = {
          securityDomain: toHex(sd.aid),
          scp: r.scp,
          ...(r.i !== undefined ? { i: r.i.toString(16).padStart(2, '0') } : {}),
          keyVersion: r.keyVersion,
          kdd: toHex(r.kdd),
          candidates: results,
          matches: matches.map((m) => ({ label: m.label, diversification: m.diversification, kcv: m.kcv })),
          externalAuthenticateSent: false,
        };
        const lines = [
          `SCP0${r.scp}${r.i !== undefined ? ` i=${r.i.toString(16).padStart(2, '0')}` : ''}, key version ${r.keyVersion}, KDD ${toHex(r.kdd)}; ${results.filter((x) => !x.skipped).length} candidates checked offline, no authentication attempted`,
          ...(matches.length
            ? matches.map((m) => `MATCH  ${m.label} (KCV ${m.kcv}), diversification ${m.diversification}: use ${m.diversification === 'none' ? '--key' : `--kmc … --div ${m.diversification}`}`)
            : ['no candidate matches: the card uses keys that are not among the well-known ones (ask the card issuer; do not guess with EXTERNAL AUTHENTICATE)']),
        ];
        emit(ctx.io, a.json, summary, lines.join('\n'));
        if (!matches.length) ctx.exitCode = EXIT_FAILED;
      } catch (e) {
        throw explain(ctx, e);
      } finally {
        await transport.close().catch(() => undefined);
      }
    },
  };
}
