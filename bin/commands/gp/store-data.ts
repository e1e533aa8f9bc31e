// `cardsmith gp store-data AID`: INSTALL [for personalization] of AID, then its DGIs in STORE DATA
// commands (GP Card Specification 2.3.1 §11.11, EMV CPS v1.1 §4.3): DGIs 8000–8FFF encrypted under
// the session DEK unless --no-encrypt, block counter in P2, last block in P1 b8. The DGIs can hold
// secrets, so they come like keys: env:NAME, file:PATH or - (stdin), hex.
import type { CommandModule } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import { formatDgi, parseDgis } from '../../../iso7816/index.js';
import type { Ctx } from '../../context.js';
import { UsageError } from '../../errors.js';
import { emit } from '../../io.js';
import { secretOption } from '../../options.js';
import { readSecret } from '../../secrets.js';
import { aidArg, gpOptions, parseNumber, withSession, type GpArgs } from './common.js';

export function storeDataCommand(ctx: Ctx): CommandModule {
  return {
    command: 'store-data <aid>',
    describe: 'personalize an application: its DGIs in STORE DATA commands (sensitive DGIs encrypted)',
    builder: (y) =>
      y
        .positional('aid', { type: 'string', demandOption: true, describe: 'the application instance to personalize (hex AID)' })
        .options({
          ...gpOptions,
          dgis: { ...secretOption('the DGIs, concatenated (DGI ‖ length ‖ data …)'), demandOption: true },
          'no-encrypt': { type: 'boolean', default: false, describe: 'send DGIs 8000–8FFF in clear (they must already be encrypted)' },
          structure: { choices: ['none', 'dgi', 'ber-tlv'] as const, default: 'none', describe: 'P1 data structure bits (GP 2.2+); none for EMV CPS cards' },
          'block-size': { type: 'string', requiresArg: true, describe: 'largest data field per STORE DATA (default: what fits after the channel overhead)' },
        })
        .example('$0 gp store-data A0000000041010 --reader sim:gp --security-level mac+enc --dgis file:card.dgi', 'DGIs from a hex file, encrypted channel')
        .example('$0 gp store-data A0000000041010 --reader sim:gp --dgis env:DGIS --json', 'DGIs from an environment variable'),
    handler: async (argv) => {
      const a = argv as unknown as GpArgs & { aid: string; dgis: string; 'no-encrypt': boolean; structure: 'none' | 'dgi' | 'ber-tlv'; 'block-size'?: string };
      const aid = aidArg(a.aid, 'aid')!;
      const bytes = await readSecret(ctx.io, 'dgis', a.dgis);
      let dgis;
      try {
        dgis = parseDgis(bytes);
      } catch (e) {
        throw new UsageError(`--dgis: ${(e as Error).message}`);
      }
      if (dgis.length === 0) throw new UsageError('--dgis: no DGI in the data');
      const blockSize = parseNumber(a['block-size'], 'block-size', 1, 255);
      await withSession(ctx, a, async ({ session }) => {
        const r = await session.personalize(
          aid,
          dgis.map((d) => ({ dgi: d.dgi, data: d.data })),
          { encryptSensitive: !a['no-encrypt'], structure: a.structure, ...(blockSize !== undefined ? { blockSize } : {}) },
        );
        const names = dgis.map((d) => formatDgi(d.dgi));
        // Only DGI numbers and sizes are shown: the data may be secret.
        emit(ctx.io, a.json, { application: toHex(aid), dgis: names, commands: r.commands, bytes: r.bytes }, `stored ${dgis.length} DGIs (${names.join(', ')}) in ${r.commands} STORE DATA commands into ${toHex(aid)}`);
      });
    },
  };
}
