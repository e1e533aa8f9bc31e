// Host ↔ the simulated GP card through the real PC/SC stack: the card sits behind vsmartcard's
// vpcd (transport/vpcd-bridge.ts) as reader "Virtual PCD 00 01", and the host talks to it with
// PcscTransport through pcscd — authentication at SCP03 level 33, load, install, personalize,
// read back, delete. Skipped, with the reason, where the stack or the simulated card is missing.
// Like every test of the virtual readers it holds their lock, so no other test's card is there.
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { GP_TEST_KEY } from '../../channels/index.js';
import { buildTlv, parseResponse } from '../../iso7816/index.js';
import { CapFile, GpSession, writeCap } from '../../globalplatform/index.js';
import { PcscTransport, VpcdBridge } from '../../transport/index.js';
import type { Transport } from '../../transport/transport.js';
import type { SimulatedCard } from '../../simulator/card.js';
import { lockStack, READER1, readerState, stackSkipReason } from '../helpers/pcsc.js';

interface GpSimModule {
  createGpCard(options?: { scp?: '02' | '03'; seed?: number }): SimulatedCard;
  CPS_PACKAGE_AID: Uint8Array;
  CPS_MODULE_AID: Uint8Array;
}

async function setup(): Promise<{ skip: string } | { m: GpSimModule; bridge: VpcdBridge; transport: Transport }> {
  const stack = await stackSkipReason();
  if (stack) return { skip: stack };
  let m: GpSimModule;
  try {
    m = (await import('../../simulator/gp/index.js' as string)) as GpSimModule;
  } catch (e) {
    return { skip: `the simulated GP card is not available: ${(e as Error).message}` };
  }
  await lockStack(t);
  await readerState(READER1, 'empty');
  const card = m.createGpCard({ scp: '03', seed: 21 });
  const atr = toHex(card.powerOn('contactless'));
  card.powerOff();
  const bridge = new VpcdBridge({ card, interface: 'contactless' });
  bridge.start();
  let transport: Transport;
  try {
    transport = await PcscTransport.open(READER1, { waitMs: 8000 });
  } catch (e) {
    await bridge.stop();
    throw e;
  }
  if (toHex(transport.atr()) !== atr) {
    await transport.close();
    await bridge.stop();
    throw new Error(`${READER1} answers with another card's ATR (${toHex(transport.atr())}, expected ${atr}) although this test holds the readers' lock`);
  }
  return { m, bridge, transport };
}

const env = await setup();

t.test('host ↔ simulated GP card through pcscd + vpcd', { skip: 'skip' in env ? env.skip : false, timeout: 60_000 }, async (t) => {
  if ('skip' in env) return;
  const { m, bridge, transport } = env;
  t.teardown(async () => {
    await transport.close().catch(() => undefined);
    await bridge.stop();
    await readerState(READER1, 'empty');
  });
  const session = new GpSession(transport);
  await session.selectSd();
  const channel = await session.authenticate({ keys: GP_TEST_KEY, securityLevel: 0x33 });
  t.equal(channel.protocol, 'scp03');
  const cap = CapFile.parse(writeCap({ packageAid: m.CPS_PACKAGE_AID, applets: [{ aid: m.CPS_MODULE_AID }], methodPadding: 1000 }));
  const load = await session.loadCap(cap);
  t.ok(load.blocks > 1, `LOAD in ${load.blocks} blocks through PC/SC`);
  const instance = fromHex('A0000000041010');
  await session.install({ loadFileAid: m.CPS_PACKAGE_AID, moduleAid: m.CPS_MODULE_AID, instanceAid: instance });
  const record = buildTlv(0x70, [buildTlv(0x5a, fromHex('4111111111111111'))]);
  await session.personalize(instance, [
    { dgi: 0x0101, data: record },
    { dgi: 0x8000, data: new Uint8Array(16).fill(9) },
  ]);
  t.equal(parseResponse(await transport.transmit(fromHex('00A4040007A000000004101000'))).sw, 0x9000, 'SELECT the instance');
  const read = parseResponse(await transport.transmit(fromHex('00B2010C00')));
  t.equal(toHex(read.data), toHex(record), 'READ RECORD through PC/SC returns the personalized record');
  await session.selectSd();
  await session.authenticate({ keys: GP_TEST_KEY, securityLevel: 0x03 });
  await session.delete(m.CPS_PACKAGE_AID, { related: true });
  t.notOk((await session.getStatus('applications')).some((a) => a.aid === toHex(instance)), 'deleted');
});
