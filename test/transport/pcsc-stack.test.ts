// The real PC/SC stack (pcscd + vsmartcard's vpcd) with the test double card served in-process by
// the vpcd bridge: PcscTransport end to end (T=0 resolved by the transport, extended APDUs,
// removal as a typed error), both interfaces at once. Skipped, with the reason, without the stack.
import t, { type Test } from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { CardRemovedError, listReaders, MultiInterfaceCard, PcscTransport, VpcdBridge } from '../../transport/index.js';
import { lockStack, READER0, READER1, readerState, stackSkipReason } from '../helpers/pcsc.js';
import { ATR_CONTACTLESS, ATR_T0, ATR_T1, FAKE_AID, FakeCard } from '../helpers/fake-card.js';

const skip = await stackSkipReason();
if (!skip) await lockStack(t);

/** Starts a bridge for `card` once the reader is empty (stale-card rule), waits until it shows the card. */
async function insert(t: Test, card: FakeCard | MultiInterfaceCard, iface: 'contact' | 'contactless' = 'contact'): Promise<VpcdBridge> {
  const reader = iface === 'contact' ? READER0 : READER1;
  await readerState(reader, 'empty');
  const bridge = new VpcdBridge({ card, interface: iface });
  bridge.start();
  t.teardown(async () => {
    await bridge.stop();
    await readerState(reader, 'empty');
  });
  await readerState(reader, 'present');
  return bridge;
}

t.test('a personalization-like flow through pcscd + vpcd with a T=0 card', { skip, timeout: 60_000 }, async (t) => {
  const card = new FakeCard({ t0: true, seed: 9 });
  const bridge = await insert(t, card);
  const tr = await PcscTransport.open(READER0);
  t.teardown(() => tr.close());
  t.same(tr.atr(), ATR_T0);
  t.equal(tr.protocol, 't0');
  const select = await tr.transmit(fromHex(`00A4040007${toHex(FAKE_AID)}00`));
  t.equal(toHex(select.subarray(-2)), '9000', 'SELECT by AID (61xx resolved)');
  t.equal(toHex(select.subarray(0, 4)), '6F0B8407');
  t.equal(toHex(await tr.transmit(fromHex('00D6000004CAFEBABE'))), '9000', 'UPDATE BINARY');
  t.equal(toHex(await tr.transmit(fromHex('00B0000004'))), 'CAFEBABE9000', 'READ BINARY reads it back');
  t.equal(toHex(await tr.transmit(fromHex('00B2010400'))), '010203049000', 'READ RECORD with Le 00 (6C04 resolved)');
  const ch1 = await tr.transmit(fromHex('0084000008'));
  const ch2 = await tr.transmit(fromHex('0084000008'));
  t.equal(ch1.length, 10, 'GET CHALLENGE: 8 bytes + SW');
  t.not(toHex(ch1), toHex(ch2), 'fresh challenges');
  t.equal(toHex(await tr.transmit(fromHex('0020000103123456'))), '9000', 'VERIFY');
  t.equal(toHex(await tr.transmit(fromHex('00DC0304021122'))), '9000', 'UPDATE RECORD after VERIFY');
  t.equal(toHex(await tr.transmit(fromHex('00B2030400'))), '11229000');
  const big = await tr.transmit(fromHex('00B00000000400'));
  t.equal(big.length, 1026, 'an extended read of 1024 bytes fits the receive buffer');
  t.same(await tr.reset(true), ATR_T0, 'cold reset through PC/SC');
  t.equal(toHex(await tr.transmit(fromHex('00DC0304021122'))), '6982', 'security state gone after the reset');
  t.ok(bridge.stats.apdus >= 14);
});

t.test('card removal mid-session surfaces as CardRemovedError', { skip, timeout: 60_000 }, async (t) => {
  const bridge = await insert(t, new FakeCard());
  const tr = await PcscTransport.open(READER0);
  t.teardown(() => tr.close());
  t.equal(toHex(await tr.transmit(fromHex('00B2010404'))), '010203049000');
  await bridge.stop();
  await t.rejects(tr.transmit(fromHex('00B2010404')), CardRemovedError, 'right after removal (Transaction failed)');
  await readerState(READER0, 'empty');
  await t.rejects(tr.transmit(fromHex('00B2010404')), CardRemovedError, 'after pcscd saw it (Card was removed)');
  await t.rejects(PcscTransport.open(READER0), { name: 'CardRemovedError', message: /no card in the reader/ });
});

t.test('both interfaces of one card: contact in reader 0, contactless in reader 1', { skip, timeout: 60_000 }, async (t) => {
  const card = new FakeCard();
  const shared = new MultiInterfaceCard(card, ['contact', 'contactless']);
  await insert(t, shared, 'contact');
  await insert(t, shared, 'contactless');
  const listed = await listReaders();
  t.same(
    listed.filter((r) => r.name.startsWith('Virtual PCD')).map((r) => [r.name, r.cardPresent, r.atr && toHex(r.atr)]),
    [
      [READER0, true, toHex(ATR_T1)],
      [READER1, true, toHex(ATR_CONTACTLESS)],
    ],
  );
  const contact = await PcscTransport.open(READER0);
  const cl = await PcscTransport.open(READER1);
  t.teardown(async () => {
    await contact.close();
    await cl.close();
  });
  t.equal(toHex(await contact.transmit(fromHex('00B2010404'))), '010203049000');
  t.equal(toHex(await cl.transmit(fromHex('00B2020402'))), '05069000');
});
