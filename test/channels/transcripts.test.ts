// The published SCP02/SCP03 transcripts (test/channels/fixtures/transcripts.ts), host side: with
// the given host challenge, the channel must send exactly the published commands and accept the
// recorded card answers — cryptograms, C-MAC chaining, ICV encryption, C-DECRYPTION counters,
// R-MAC and R-ENCRYPTION included.
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { openSecureChannel } from '../../channels/index.js';
import { ScriptedTransport } from './fixtures/scripted-transport.js';
import { TRANSCRIPTS } from './fixtures/transcripts.js';

for (const tr of TRANSCRIPTS) {
  t.test(`${tr.name} (${tr.source})`, async (t) => {
    const transport = new ScriptedTransport([tr.initializeUpdate, tr.externalAuthenticate, ...tr.commands.map((c) => c.wire)]);
    const channel = await openSecureChannel(transport, {
      keys: { enc: fromHex(tr.keys.enc), mac: fromHex(tr.keys.mac), dek: fromHex(tr.keys.dek) },
      scp: tr.scp,
      hostChallenge: fromHex(tr.hostChallenge),
      securityLevel: tr.securityLevel,
      ...(tr.scp02i !== undefined ? { scp02i: tr.scp02i } : {}),
      ...(tr.sdAid !== undefined ? { sdAid: fromHex(tr.sdAid) } : {}),
    });
    t.equal(channel.protocol, tr.scp === 2 ? 'scp02' : 'scp03');
    t.equal(channel.securityLevel, tr.securityLevel, 'security level in force after EXTERNAL AUTHENTICATE');
    if (tr.sdAid !== undefined) t.equal(channel.session.cardChallengeVerified, true, 'pseudo-random card challenge derives from the ENC key and the ISD AID');
    for (const [k, c] of tr.commands.entries()) {
      const response = await channel.transmit(fromHex(c.plain));
      const want = c.plainResponse ?? c.wire.response;
      t.equal(toHex(response), want.toUpperCase(), `response ${k + 1} as the caller sees it`);
    }
    t.same(transport.mismatches, [], 'every command byte for byte as published');
    t.equal(transport.remaining, 0, 'no command left out');
    t.equal(transport.sent.length, 2 + tr.commands.length, 'nothing sent twice');
  });
}
