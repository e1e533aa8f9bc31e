// `cardsmith gp …` in-process against the small test card (fixtures/fake-gp-card.ts) behind the
// real SimulatorTransport: every command, the --force guards, key rotation in one command,
// probe-keys without authentication attempts, exit codes 0/1/2 and --help with examples.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../../bytes/index.js';
import { diversifyEmv, diversifyKdf3 } from '../../crypto/index.js';
import { encodeDgi } from '../../iso7816/index.js';
import { setTransportOpener } from '../../bin/commands/gp/common.js';
import { writeCap } from '../../globalplatform/index.js';
import { SimulatorTransport } from '../../transport/simulator.js';
import { cli } from '../helpers/cli.js';
import { FakeGpCard } from './fixtures/fake-gp-card.js';

const dir = mkdtempSync(join(tmpdir(), 'cardsmith-gp-'));
const capPath = join(dir, 'demo.cap');
writeFileSync(capPath, writeCap({ packageAid: fromHex('A0000001515350AA'), packageName: 'com.example.demo', applets: [{ aid: fromHex('A0000001515350AA01') }], methodPadding: 700 }));
const badCap = join(dir, 'bad.cap');
writeFileSync(badCap, writeCap({ packageAid: fromHex('A0000001515350AA') }).subarray(0, 100));

let card: FakeGpCard;
function use(c: FakeGpCard): void {
  card = c;
  setTransportOpener(async () => new SimulatorTransport(card, { name: 'test-card' }));
}
t.teardown(() => setTransportOpener());

const R = ['--reader', 'sim:gp'];

t.test('cap, load, install, list, store-data, lock/unlock, delete on an SCP03 card', async (t) => {
  use(new FakeGpCard({ scp: 3 }));
  const info = await cli(['gp', 'cap', capPath, '--json']);
  t.equal(info.code, 0, info.err);
  t.match(JSON.parse(info.out), { package: { aid: 'A0000001515350AA', version: '1.0', name: 'com.example.demo' }, applets: ['A0000001515350AA01'], imports: [{ name: 'javacard.framework' }] });

  const load = await cli(['gp', 'load', capPath, ...R, '--security-level', 'mac+enc', '--hash', 'sha256', '--json']);
  t.equal(load.code, 0, load.err);
  t.match(JSON.parse(load.out), { loadFileAid: 'A0000001515350AA', blockSize: 239 });

  const install = await cli(['gp', 'install', capPath, ...R, '--create', 'A0000001515350AA0101', '--privs', 'CardReset', '--params', 'C0FFEE']);
  t.equal(install.code, 0, install.err);
  t.match(install.out, /package A0000001515350AA already on the card, not loaded again\ninstalled A0000001515350AA0101 from A0000001515350AA01/);

  const list = await cli(['gp', 'list', ...R]);
  t.equal(list.code, 0, list.err);
  t.match(list.out, /^ISD  A000000151000000 +SECURED/m);
  t.match(list.out, /^APP  A0000001515350AA0101 +SELECTABLE  from A0000001515350AA  privileges CardReset/m);
  t.match(list.out, /^PKG  A0000001515350AA +LOADED  modules A0000001515350AA01/m);

  const dgis = toHex(encodeDgi(0x0101, fromHex('5A0841111111111111115F2403251231'))) + toHex(encodeDgi(0x8000, new Uint8Array(16).fill(7)));
  const store = await cli(['gp', 'store-data', 'A0000001515350AA0101', ...R, '--security-level', 'mac+enc', '--dgis', 'env:DGIS'], { env: { DGIS: dgis } });
  t.equal(store.code, 0, store.err);
  t.equal(store.out, 'stored 2 DGIs (0101, 8000) in 2 STORE DATA commands into A0000001515350AA0101\n');
  t.same(card.storeData.map((s) => s.p1), [0x00, 0xe0]);
  t.notMatch(store.out + store.err, /07070707/, 'no secret data in the output');

  t.match((await cli(['gp', 'lock', 'A0000001515350AA0101', ...R])).err, /add --force/);
  t.equal((await cli(['gp', 'lock', 'A0000001515350AA0101', ...R, '--force'])).code, 0);
  t.match((await cli(['gp', 'list', ...R, '--json'])).out, /"lifeCycleName":"LOCKED \(SELECTABLE\)"/);
  t.equal((await cli(['gp', 'unlock', 'A0000001515350AA0101', ...R])).code, 0);

  const refuse = await cli(['gp', 'delete', 'A0000001515350AA', ...R]);
  t.equal(refuse.code, 2);
  t.match(refuse.err, /gp delete would delete load file A0000001515350AA and its applications A0000001515350AA0101, which cannot be undone; add --force/);
  const del = await cli(['gp', 'delete', 'A0000001515350AA', ...R, '--force', '--json']);
  t.equal(del.code, 0, del.err);
  t.same(JSON.parse(del.out), { deleted: 'A0000001515350AA', related: ['A0000001515350AA0101'] });
  t.equal((await cli(['gp', 'list', ...R])).out, 'ISD  A000000151000000                 SECURED  privileges SecurityDomain, CardLock, CardTerminate, CardReset, CVMManagement, TrustedPath, AuthorizedManagement, TokenVerification, GlobalDelete, GlobalLock, GlobalRegistry, FinalApplication, ReceiptGeneration\n');
  t.equal(card.failedAuthentications, 0);
});

t.test('info without authentication', async (t) => {
  use(new FakeGpCard({ scp: 2 }));
  const r = await cli(['gp', 'info', ...R]);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /Security domain  A000000151000000 \(default-selected\), accepts 255-byte data fields/);
  t.match(r.out, /Card data        GP 2\.3\.1, SCP02 i=15/);
  t.match(r.out, /version 32 \(0x20\) key 1: DES 16 bytes/);
  t.match(r.out, /IC fabricator 4790/);
  t.equal(card.authentications, 0, 'no secure channel for info');
  const auth = await cli(['gp', 'info', ...R, '--auth', '--json']);
  t.match(JSON.parse(auth.out), { cardLifeCycle: 'SECURED', secureChannel: { protocol: 'scp02', i: '15', keyVersion: 32 } });
});

t.test('put-key: rotation in one command (SCP02 emv, SCP03 kdf3), old keys refused, new keys work', async (t) => {
  for (const [scp, div] of [
    [2, 'emv'],
    [3, 'kdf3'],
  ] as const) {
    use(new FakeGpCard({ scp }));
    const env = { NEW_KMC: '00112233445566778899AABBCCDDEEFF' };
    const noForce = await cli(['gp', 'put-key', ...R, '--new-kmc', 'env:NEW_KMC', '--div', div, '--replace'], { env });
    t.equal(noForce.code, 2);
    t.match(noForce.err, /--replace overwrites the key set you authenticate with.*add --force/);
    const r = await cli(['gp', 'put-key', ...R, '--new-kmc', 'env:NEW_KMC', '--new-div', div, '--replace', '--force', '--json'], { env });
    t.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out);
    const oldVersion = scp === 2 ? 0x20 : 0x30;
    t.match(out, { replaced: oldVersion, version: oldVersion + 1, reauthenticated: { keyVersion: oldVersion + 1 }, oldKeys: 'key version gone' });
    const master = fromHex(env.NEW_KMC);
    const enc = scp === 2 ? diversifyEmv(master, card.kdd, 'enc') : diversifyKdf3(master, card.kdd, 'enc');
    t.equal(toHex(card.keys.get(oldVersion + 1)!.enc), toHex(enc), 'the card holds the diversified keys');
    t.notMatch(r.out, /00112233445566778899AABBCCDDEEFF/);

    const old = await cli(['gp', 'list', ...R]);
    t.equal(old.code, 1, 'the old keys no longer authenticate');
    t.match(old.err, new RegExp(`cardsmith: scp0${scp}: card cryptogram mismatch \\(card sent [0-9A-F]{16}, expected [0-9A-F]{16}\\) — check the keys; do not retry`));
    t.match(old.err, /keys tried: ENC KCV [0-9A-F]{6}, MAC KCV [0-9A-F]{6}, DEK KCV [0-9A-F]{6}; cardsmith gp probe-keys/);
    const fresh = await cli(['gp', 'list', ...R, '--kmc', 'env:NEW_KMC', '--div', div], { env });
    t.equal(fresh.code, 0, fresh.err);
    t.equal(card.failedAuthentications, 0, 'no authentication attempt was burnt');
  }
});

t.test('probe-keys: finds the template offline, never sends EXTERNAL AUTHENTICATE', async (t) => {
  const GP = fromHex('404142434445464748494A4B4C4D4E4F');
  const kdd = fromHex('00010203040506070809');
  const keys = { enc: diversifyEmv(GP, kdd, 'enc'), mac: diversifyEmv(GP, kdd, 'mac'), dek: diversifyEmv(GP, kdd, 'dek') };
  use(new FakeGpCard({ scp: 2, keys: new Map([[1, keys]]) }));
  const r = await cli(['gp', 'probe-keys', ...R]);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /MATCH  GlobalPlatform test key 40\.\.4F \(KCV 8BAF47\), diversification emv: use --kmc … --div emv/);
  t.notOk(card.log.some((c) => c.startsWith('8482') || c.startsWith('0482')), 'no EXTERNAL AUTHENTICATE');
  t.equal(card.log.filter((c) => c.startsWith('8050')).length, 1, 'one INITIALIZE UPDATE');

  use(new FakeGpCard({ scp: 3, keys: new Map([[1, { enc: fromHex('A1'.repeat(16)), mac: fromHex('A2'.repeat(16)), dek: fromHex('A3'.repeat(16)) }]]) }));
  const none = await cli(['gp', 'probe-keys', ...R, '--json']);
  t.equal(none.code, 1);
  t.match(JSON.parse(none.out), { scp: 3, i: '70', matches: [], externalAuthenticateSent: false });
  const mine = await cli(['gp', 'probe-keys', ...R, '--key', 'env:K'], { env: { K: 'A2'.repeat(16) } });
  t.match(mine.out, /MATCH  given key 1 .* diversification none/, 'SCP03: a match pins the MAC key');
});

t.test('bad input and failures: exit codes 2 and 1, one clear line', async (t) => {
  use(new FakeGpCard({ scp: 3 }));
  const corrupt = await cli(['gp', 'load', badCap, ...R]);
  t.equal(corrupt.code, 2);
  t.match(corrupt.err, /bad\.cap: not a complete zip archive/);
  const missing = await cli(['gp', 'load', join(dir, 'nope.cap'), ...R]);
  t.equal(missing.code, 2);
  t.match(missing.err, /cannot read .*nope\.cap \(ENOENT\)/);
  const level = await cli(['gp', 'list', ...R, '--security-level', 'max']);
  t.equal(level.code, 2);
  t.match(level.err, /--security-level: security level: 'max' is not one of/);
  const wrongScp = await cli(['gp', 'list', ...R, '--scp', '02']);
  t.equal(wrongScp.code, 1);
  t.match(wrongScp.err, /the card answered with SCP03 but SCP02 was asked for/);
  const kv = await cli(['gp', 'list', ...R, '--key-version', '0x05']);
  t.equal(kv.code, 1);
  t.match(kv.err, /no key set version 5/);
  const aid = await cli(['gp', 'delete', 'A0', ...R, '--force']);
  t.equal(aid.code, 2);
  t.match(aid.err, /--aid: an AID has 5 to 16 bytes/);
  const both = await cli(['gp', 'lock', ...R]);
  t.equal(both.code, 2);
  const noDiv = await cli(['gp', 'list', ...R, '--div', 'emv']);
  t.equal(noDiv.code, 2);
  t.match(noDiv.err, /--div applies to --kmc/);
});

t.test('--help of every gp command has examples and --json', async (t) => {
  for (const cmd of ['info', 'list', 'load', 'install', 'delete', 'put-key', 'lock', 'unlock', 'terminate', 'store-data', 'probe-keys', 'cap']) {
    const r = await cli(['gp', cmd, '--help']);
    t.equal(r.code, 0, `${cmd} --help`);
    const text = r.out;
    t.match(text, /Examples:/, `${cmd} has examples`);
    t.match(text, /--json/, `${cmd} has --json`);
  }
});
