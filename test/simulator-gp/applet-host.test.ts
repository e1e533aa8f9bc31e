// The applet host API: a TypeScript applet model registered by module (and package) AID,
// install parameters, persistent fields through the card's storage (surviving power cycles and
// the image), transient state, select refusal (6999), AppletException status words, and a
// model's own bug answered with 6F00 and counted.
import t from 'tap';
import { toHex } from '../../bytes/index.js';
import { AppletException, createGpCard, gpCardImageJson, type AppletModel, type AppletModelEntry, type GpCard } from '../../simulator/gp/index.js';
import { capDataBlock, h, installForInstall, installForLoad, KEY40, loadCommands, loadFileOf, openSession, Scp03Host, sameKeys, send, swHex } from './fixtures/host.js';

const PKG = h('A0000000FF0501');
const MOD = h('A0000000FF050101');
const APP = h('A0000000FF05010101');

/** A counter with a persistent value and a transient "touched" flag, written against the applet API. */
const COUNTER: AppletModel = {
  name: 'counter',
  install(params, ctx) {
    if (params.length !== 1) throw new AppletException(0x6a80);
    ctx.storage.set('value', params);
  },
  create(ctx) {
    let touched = false; // transient: gone after a power cycle
    return {
      select: () => ctx.storage.get('blocked') === undefined,
      process(c) {
        if (c.ins === 0xa4) return { data: Uint8Array.of(0x6f, 0x00) };
        const value = ctx.storage.get('value')![0]!;
        switch (c.ins) {
          case 0x10:
            ctx.storage.set('value', Uint8Array.of((value + 1) & 0xff));
            touched = true;
            return { data: Uint8Array.of((value + 1) & 0xff) };
          case 0x20:
            return { data: Uint8Array.of(value, touched ? 1 : 0) };
          case 0x30:
            throw new AppletException(0x6985);
          case 0x40:
            throw new Error('a bug in the model');
          case 0x50:
            ctx.storage.set('blocked', Uint8Array.of(1));
            return {};
          case 0x58:
            return { sw: 0x1234 };
          default:
            return { sw: 0x6d00 };
        }
      },
    };
  },
};

function cardWith(models: AppletModelEntry[], pkg = PKG): GpCard {
  const card = createGpCard({ appletModels: models, seed: 'host' });
  card.powerOn('contact');
  const s = openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), 0x03);
  s.send(installForLoad(pkg));
  for (const c of loadCommands(loadFileOf(capDataBlock({ packageAid: pkg, applets: [MOD] })))) s.send(c);
  t.equal(swHex(s.send(installForInstall(pkg, MOD, APP, { params: h('07') })).sw), '9000', 'INSTALL with one parameter byte');
  return card;
}

t.test('a TypeScript applet model behind its module AID', async (t) => {
  const card = cardWith([{ moduleAid: MOD, packageAid: PKG, model: COUNTER }]);
  const s = openSession(card, new Scp03Host(sameKeys(KEY40), 0x70), 0x03);
  t.equal(swHex(s.send(installForInstall(PKG, MOD, h('A0000000FF05010102'), { params: h('0102') })).sw), '6A80', 'install() refuses two parameter bytes');
  t.notOk(card.state.storage.has('A0000000FF05010102'), 'and leaves no fields behind');
  const sel = send(card, '00A4040009' + toHex(APP));
  t.equal(toHex(sel.data) + swHex(sel.sw), '6F009000', 'SELECT routed to the applet');
  t.equal(toHex(send(card, '8010000000').data), '08', 'process() sees the persistent value from install()');
  t.equal(toHex(send(card, '8020000000').data), '0801', 'and its transient state');
  t.equal(swHex(send(card, '8030000000').sw), '6985', 'AppletException → its status word');
  t.equal(swHex(send(card, '8040000000').sw), '6F00', 'an exception of the model → 6F00');
  t.equal(card.internalErrors, 1, '... and counted');
  t.equal(swHex(send(card, '8058000000').sw), '6F00', 'an invalid status word from the model → 6F00');
  t.equal(card.internalErrors, 2, '... and counted');
  card.powerOff();
  card.powerOn('contactless');
  send(card, '00A4040009' + toHex(APP));
  t.equal(toHex(send(card, '8020000000').data), '0800', 'after a power cycle: value kept, transient state gone');
  const restored = createGpCard({ image: gpCardImageJson(card), appletModels: [{ moduleAid: MOD, packageAid: PKG, model: COUNTER }] });
  restored.powerOn('contact');
  send(restored, '00A4040009' + toHex(APP));
  t.equal(toHex(send(restored, '8010000000').data), '09', 'and after an image round trip');
  t.equal(swHex(send(restored, '8050000000').sw), '9000');
  t.equal(swHex(send(restored, '00A4040000').sw), '9000', 'back to the ISD');
  t.equal(swHex(send(restored, '00A4040009' + toHex(APP)).sw), '6999', 'select() returning false → 6999');
  t.equal(swHex(send(restored, '80CA00CF00').sw), '9000', 'and the ISD stays selected');
});

t.test('the package AID restricts a model', async (t) => {
  const card = cardWith([{ moduleAid: MOD, packageAid: h('A0000000FF0599'), model: COUNTER }]);
  send(card, '00A4040009' + toHex(APP));
  t.equal(swHex(send(card, '8010000000').sw), '6D00', 'same module AID in another package: the inert model');
});
