// `cardsmith gp info`: what the card says about itself without authentication (GP Card
// Specification 2.3.1 §11.3 GET DATA: CPLC 9F7F, card recognition data 66, key information 00E0,
// IIN 42, CIN 45; the SD's FCI), and with --auth also the card life cycle from GET STATUS.
import type { CommandModule } from 'yargs';
import type { Cplc, CplcDate } from '../../../globalplatform/index.js';
import type { Ctx } from '../../context.js';
import { emit } from '../../io.js';
import { gpOptions, toHex, withSession, type GpArgs } from './common.js';

function date(d: CplcDate): string {
  return d.date ? `${d.date} (${d.raw})` : d.raw;
}

function cplcText(c: Cplc): string[] {
  return [
    `  IC fabricator ${c.icFabricator}, IC type ${c.icType}, IC serial ${c.icSerialNumber}, batch ${c.icBatchIdentifier}, fabricated ${date(c.icFabricationDate)}`,
    `  OS ${c.operatingSystemId} level ${c.operatingSystemReleaseLevel} released ${date(c.operatingSystemReleaseDate)}`,
    `  module fabricator ${c.icModuleFabricator} packaged ${date(c.icModulePackagingDate)}, ICC manufacturer ${c.iccManufacturer} embedded ${date(c.icEmbeddingDate)}`,
    `  pre-personalizer ${c.icPrePersonalizer} on ${date(c.icPrePersonalizationDate)} (equipment ${c.icPrePersonalizationEquipmentId})`,
    `  personalizer ${c.icPersonalizer} on ${date(c.icPersonalizationDate)} (equipment ${c.icPersonalizationEquipmentId})`,
  ];
}

export function infoCommand(ctx: Ctx): CommandModule {
  return {
    command: 'info',
    describe: 'security domain, CPLC, card recognition data, key sets, IIN/CIN (no authentication unless --auth)',
    builder: (y) =>
      y
        .options({ ...gpOptions, auth: { type: 'boolean', default: false, describe: 'also authenticate and show the card life cycle (GET STATUS)' } })
        .example('$0 gp info --reader sim:gp', 'the simulated GP card')
        .example('$0 gp info --reader "Virtual PCD 00 00" --auth --kmc env:KMC --div emv --json', 'a card behind vpcd, as JSON'),
    handler: async (argv) => {
      const a = argv as unknown as GpArgs & { auth: boolean };
      await withSession(
        ctx,
        a,
        async ({ session }) => {
          const sd = session.sd!;
          const cplc = await session.cplc();
          const cardData = await session.cardRecognitionData();
          const keys = await session.keyInformation();
          const iin = await session.identifier(0x42);
          const cin = await session.identifier(0x45);
          const isd = a.auth ? (await session.getStatus('isd'))[0] : undefined;
          const channel = session.channel;
          const result = {
            reader: session.transport.name,
            securityDomain: { aid: toHex(sd.aid), found: sd.how, locked: sd.locked, ...sd.fci },
            ...(channel ? { secureChannel: { protocol: channel.protocol, i: channel.session.i.toString(16).padStart(2, '0'), keyVersion: channel.session.keyVersion, securityLevel: channel.securityLevel } } : {}),
            ...(isd ? { cardLifeCycle: isd.lifeCycleName, isdPrivileges: isd.privilegeNames } : {}),
            ...(cplc ? { cplc } : {}),
            ...(cardData ? { cardRecognitionData: cardData } : {}),
            ...(keys ? { keyInformation: keys } : {}),
            ...(iin ? { iin } : {}),
            ...(cin ? { cin } : {}),
          };
          const lines = [`Security domain  ${toHex(sd.aid)} (${sd.how}${sd.locked ? ', card locked' : ''})${sd.fci.maxCommandDataLength ? `, accepts ${sd.fci.maxCommandDataLength}-byte data fields` : ''}`];
          if (channel) lines.push(`Secure channel   SCP0${channel.protocol.slice(-1)} i=${channel.session.i.toString(16).padStart(2, '0')}, key version ${channel.session.keyVersion}`);
          if (isd) lines.push(`Card life cycle  ${isd.lifeCycleName}`);
          if (cardData) lines.push(`Card data        GP ${cardData.gpVersion ?? '?'}, ${cardData.scps.map((s) => `SCP0${s.scp} i=${s.i.toString(16).padStart(2, '0')}`).join(', ') || 'no SCP listed'}`);
          if (keys) {
            lines.push('Key sets');
            for (const k of keys) lines.push(`  version ${k.version} (0x${k.version.toString(16).padStart(2, '0')}) key ${k.id}: ${k.components.map((c) => `${c.typeName} ${c.length} bytes`).join(', ')}`);
          }
          if (cplc) lines.push('CPLC', ...cplcText(cplc));
          if (iin) lines.push(`IIN              ${iin}`);
          if (cin) lines.push(`CIN              ${cin}`);
          emit(ctx.io, a.json, result, lines.join('\n'));
        },
        { authenticate: a.auth },
      );
    },
  };
}
