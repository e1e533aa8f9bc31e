// Host ↔ the project's simulated GP card (simulator/gp/, written independently from the same
// specifications), in-process: authenticate at each security level over SCP02 and SCP03, list,
// load and install a generated CAP of the built-in CPS data store applet, personalize it with
// STORE DATA (a sensitive DGI encrypted under the DEK), read the data back through the applet,
// rotate the ISD keys with PUT KEY and authenticate with the new ones (the old ones refused), delete.
// Skipped, with the reason, when simulator/gp/ is not in this build.
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { AuthenticationError, CardCryptogramError, GP_TEST_KEY, masterKeySource } from '../../channels/index.js';
import { encodeCommand, parseResponse, apdu, buildTlv } from '../../iso7816/index.js';
import { CapFile, GpSession, writeCap } from '../../globalplatform/index.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import type { SimulatedCard } from '../../simulator/card.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeDgi } from '../../iso7816/index.js';
import { setTransportOpener } from '../../bin/commands/gp/common.js';
import { cli } from '../helpers/cli.js';

interface GpSimModule {
  createGpCard(options?: { scp?: '02' | '03'; seed?: number; i?: number; keys?: Uint8Array; diversification?: { method: 'emv' | 'visa2' | 'kdf3'; master: Uint8Array } }): SimulatedCard;
  CPS_PACKAGE_AID: Uint8Array;
  CPS_MODULE_AID: Uint8Array;
}

const SIM = '../../simulator/gp/index.js';
let sim: GpSimModule | undefined;
let why = '';
try {
  sim = (await import(SIM)) as GpSimModule;
  if (typeof sim.createGpCard !== 'function') throw new Error('simulator/gp/index.ts exports no createGpCard');
} catch (e) {
  sim = undefined;
  why = `the simulated GP card is not available: ${(e as Error).message}`;
}

const INSTANCE = fromHex('A0000000041010');
const LEVELS: Record<'02' | '03', number[]> = { '02': [0x00, 0x01, 0x03, 0x11, 0x13], '03': [0x00, 0x01, 0x03, 0x11, 0x13, 0x33] };

async function send(session: GpSession, hex: string): Promise<{ data: string; sw: string }> {
  const r = parseResponse(await session.transport.transmit(fromHex(hex)));
  return { data: toHex(r.data), sw: r.sw.toString(16).toUpperCase().padStart(4, '0') };
}

t.test('host ↔ simulated GP card', { skip: sim ? false : why }, async (t) => {
  const m = sim!;
  for (const scp of ['02', '03'] as const) {
    const scp02i = scp === '02' ? 0x55 : undefined;
    await t.test(`SCP${scp}: every security level`, async (t) => {
      for (const level of LEVELS[scp]) {
        const session = new GpSession(new SimulatorTransport(m.createGpCard({ scp, seed: 7 })));
        await session.selectSd();
        const channel = await session.authenticate({ keys: GP_TEST_KEY, securityLevel: level, ...(scp02i ? { scp02i } : {}) });
        t.equal(channel.securityLevel, level);
        const isd = await session.getStatus('isd');
        t.equal(isd[0]?.aid, 'A000000151000000', `SCP${scp} level ${level.toString(16).padStart(2, '0')}: GET STATUS of the ISD`);
      }
    });

    if (scp === '03') {
      await t.test('SCP03 S16 (i=71) and AES-256 keys', async (t) => {
        for (const [i, keys, levels] of [
          [0x71, GP_TEST_KEY, [0x01, 0x03, 0x33]],
          [0x70, fromHex('404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F'), [0x03, 0x33]],
        ] as const) {
          for (const level of levels) {
            const session = new GpSession(new SimulatorTransport(m.createGpCard({ scp, seed: 9, i, keys })));
            await session.selectSd();
            const channel = await session.authenticate({ keys, securityLevel: level, s16: (i & 1) === 1 });
            t.equal(channel.session.mode, (i & 1) === 1 ? 'S16' : 'S8');
            t.equal((await session.getStatus('isd'))[0]?.aid, 'A000000151000000', `i=${i.toString(16)} ${keys.length * 8}-bit keys level ${level.toString(16)}`);
          }
        }
      });
    }

    await t.test(`SCP${scp}: list, load, install, personalize, read back, rotate keys, delete`, async (t) => {
      const transport = new SimulatorTransport(m.createGpCard({ scp, seed: 11 }));
      const session = new GpSession(transport);
      await session.selectSd();
      const level = 0x03;
      const first = await session.authenticate({ keys: GP_TEST_KEY, securityLevel: level, ...(scp02i ? { scp02i } : {}) });
      const before = await session.registry();
      t.ok(before.isd.length === 1, 'ISD listed');

      const cap = CapFile.parse(writeCap({ packageAid: m.CPS_PACKAGE_AID, packageName: 'cardsmith.cps', applets: [{ aid: m.CPS_MODULE_AID }], methodPadding: 1500 }));
      const load = await session.loadCap(cap, { hash: 'sha1' });
      t.ok(load.blocks > 1, `loaded in ${load.blocks} blocks of ${load.blockSize}`);
      await session.install({ loadFileAid: cap.packageAid, moduleAid: m.CPS_MODULE_AID, instanceAid: INSTANCE });
      const reg = await session.registry();
      t.ok(reg.loadFiles.some((l) => l.aid === toHex(m.CPS_PACKAGE_AID)), 'package listed');
      t.match(reg.applications.find((a) => a.aid === toHex(INSTANCE)), { lifeCycleName: 'SELECTABLE' });

      const record = buildTlv(0x70, [buildTlv(0x5a, fromHex('4111111111111111')), buildTlv(0x5f24, fromHex('291231'))]);
      const fci = buildTlv(0xa5, [buildTlv(0x50, new TextEncoder().encode('CARDSMITH'))]);
      const r = await session.personalize(INSTANCE, [
        { dgi: 0x0101, data: record },
        { dgi: 0x9102, data: fci },
        { dgi: 0x9f36, data: fromHex('0001') },
        { dgi: 0x8000, data: new Uint8Array(16).fill(0x5a) },
      ]);
      t.ok(r.commands >= 2, `${r.commands} STORE DATA commands`);

      const selected = parseResponse(await session.transport.transmit(encodeCommand(apdu(0x00, 0xa4, 0x04, 0x00, INSTANCE, 256))));
      t.equal(selected.sw, 0x9000, 'SELECT the personalized instance');
      t.match(toHex(selected.data), /^6F/);
      t.ok(toHex(selected.data).includes(toHex(fci).slice(4)), 'the FCI carries the personalized A5 template');
      t.same(await send(session, '00B2010C00'), { data: toHex(record), sw: '9000' }, 'READ RECORD SFI 1 record 1 returns DGI 0101');
      t.same(await send(session, '80CA9F3600'), { data: '9F36020001', sw: '9000' }, 'GET DATA 9F36 returns DGI 9F36');

      // Key rotation: replace the factory key set with keys diversified from a new master.
      await session.selectSd();
      const again = await session.authenticate({ keys: GP_TEST_KEY, securityLevel: level, ...(scp02i ? { scp02i } : {}) });
      const oldVersion = again.session.keyVersion;
      const master = fromHex('00112233445566778899AABBCCDDEEFF');
      const source = masterKeySource(master, scp === '02' ? 'emv' : 'kdf3');
      const next = source.keysFor(again.session.kdd, scp === '02' ? 2 : 3);
      const newVersion = 0x01;
      await session.putKeys({ keys: next, newVersion, replaceVersion: oldVersion });
      await session.selectSd();
      const fresh = await session.authenticate({ keys: source, keyVersion: newVersion, securityLevel: level, ...(scp02i ? { scp02i } : {}) });
      t.equal(fresh.session.keyVersion, newVersion, 'authenticated with the new keys');
      await session.selectSd();
      const old = await session.authenticate({ keys: GP_TEST_KEY, ...(scp02i ? { scp02i } : {}) }).catch((e: unknown) => e);
      t.ok(old instanceof CardCryptogramError || old instanceof AuthenticationError, 'the old keys are refused');

      await session.selectSd();
      await session.authenticate({ keys: source, securityLevel: level, ...(scp02i ? { scp02i } : {}) });
      await session.delete(m.CPS_PACKAGE_AID, { related: true });
      const after = await session.registry();
      t.notOk(after.loadFiles.some((l) => l.aid === toHex(m.CPS_PACKAGE_AID)), 'package deleted');
      t.notOk(after.applications.some((a) => a.aid === toHex(INSTANCE)), 'instance deleted with it');
      t.ok(first.session.keySource.length > 0);
    });
  }
});

t.test('the CLI against the simulated GP card (in-process reader)', { skip: sim ? false : why }, async (t) => {
  const m = sim!;
  t.teardown(() => setTransportOpener());
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-gp-sim-'));
  const capPath = join(dir, 'cps.cap');
  writeFileSync(capPath, writeCap({ packageAid: m.CPS_PACKAGE_AID, packageName: 'cardsmith.cps', applets: [{ aid: m.CPS_MODULE_AID }] }));
  const card = m.createGpCard({ scp: '03', seed: 3 });
  setTransportOpener(async () => new SimulatorTransport(card, { name: 'sim:gp' }));
  const R = ['--reader', 'sim:gp'];
  const install = await cli(['gp', 'install', capPath, ...R, '--create', 'A0000000041010', '--security-level', 'mac+enc']);
  t.equal(install.code, 0, install.err);
  const dgis = toHex(encodeDgi(0x0101, fromHex('70045A021234'))) + toHex(encodeDgi(0x8000, new Uint8Array(16).fill(1)));
  const store = await cli(['gp', 'store-data', 'A0000000041010', ...R, '--security-level', 'mac+enc+rmac+renc', '--dgis', 'env:DGIS'], { env: { DGIS: dgis } });
  t.equal(store.code, 0, store.err);
  const list = await cli(['gp', 'list', ...R, '--json']);
  t.equal(list.code, 0, list.err);
  t.ok((JSON.parse(list.out) as { applications: { aid: string }[] }).applications.some((a) => a.aid === 'A0000000041010'));
  const env = { NEW: '0F0E0D0C0B0A09080706050403020100' };
  const rotate = await cli(['gp', 'put-key', ...R, '--new-kmc', 'env:NEW', '--new-div', 'kdf3', '--replace', '--force', '--json'], { env });
  t.equal(rotate.code, 0, rotate.err);
  t.match(JSON.parse(rotate.out), { replaced: 0xff, version: 1, reauthenticated: { keyVersion: 1 } });
  const old = await cli(['gp', 'list', ...R]);
  t.equal(old.code, 1, 'the factory keys are refused');
  t.match(old.err, /card cryptogram mismatch|no key set version/);
  t.equal((await cli(['gp', 'list', ...R, '--kmc', 'env:NEW', '--div', 'kdf3'], { env })).code, 0, 'the new keys work');
  const del = await cli(['gp', 'delete', toHex(m.CPS_PACKAGE_AID), ...R, '--kmc', 'env:NEW', '--div', 'kdf3', '--force'], { env });
  t.equal(del.code, 0, del.err);

  const diversified = m.createGpCard({ scp: '02', seed: 5, diversification: { method: 'visa2', master: GP_TEST_KEY } });
  setTransportOpener(async () => new SimulatorTransport(diversified, { name: 'sim:gp' }));
  const probe = await cli(['gp', 'probe-keys', ...R, '--json']);
  t.equal(probe.code, 0, probe.err);
  t.match(JSON.parse(probe.out), { scp: 2, matches: [{ diversification: 'visa2' }], externalAuthenticateSent: false });
});
