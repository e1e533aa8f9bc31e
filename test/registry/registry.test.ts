// The issuance registry on its own: one live card per record, per chip and per (product, holder),
// replacements, void reservations, the database's own constraints, a serial-only registry file
// migrated in place, and the holder key bound on first use.
import t from 'tap';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileKeyStore } from '../../keys/index.js';
import { holderHasher, IssuanceRegistry, RegistryConflictError, RegistryStateError, type CardReservation } from '../../personalization/registry/index.js';
import { SerialRegistry } from '../../personalization/serials/registry.js';

process.env.CARDSMITH_KEYSTORE_SCRYPT_LOG2N ??= '14';

type Teardown = { teardown(fn: () => void): void };

function tmp(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'cardsmith-registry-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(t: Teardown, path = join(tmp(t), 'registry.sqlite')): IssuanceRegistry {
  const r = IssuanceRegistry.open(path, { now: () => new Date('2026-12-01T08:00:00Z'), who: 'test' });
  t.teardown(() => r.close());
  return r;
}

const card = (over: Partial<CardReservation> = {}): CardReservation => ({
  product: 'sscard-gen3',
  revision: '1',
  batch: 'b1',
  record: 'r1',
  holder: 'aa01',
  cardNumber: 'A00000011',
  chip: '0102030405060708',
  keys: [{ label: 'ss3-transport', version: 1, kcv: 'ABCDEF' }],
  station: 'sim-1',
  ...over,
});

/** The kind of registry conflict `fn` throws (anything else fails the comparison). */
function conflict(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof RegistryConflictError ? e.conflict : `not a conflict: ${String(e)}`;
  }
  return 'no error';
}

t.test('reserve → issue; the record, the chip and the holder get no second card', async (t) => {
  const r = open(t);
  t.equal(statSync(r.path).mode & 0o777, 0o600, 'the registry file is created 0600');
  const c = r.reserve(card());
  t.match(c, { state: 'reserved', chip: '0102030405060708', station: 'sim-1', keys: [{ label: 'ss3-transport', version: 1 }] });
  t.same(r.reserve(card()).id, c.id, 'the same record on the same chip again: the same reservation (a resumed card)');
  t.equal(conflict(() => r.reserve(card({ chip: '1111111111111111' }))), 'record-in-progress');
  t.equal(conflict(() => r.reserve(card({ record: 'r2', holder: 'bb02' }))), 'chip-known', 'a chip with a card gets no other record');
  t.equal(conflict(() => r.reserve(card({ batch: 'b2', record: 'x', chip: '2222222222222222' }))), 'holder-in-progress');
  r.issue('b1', 'r1', '0102030405060708');
  t.equal(r.cardOfRecord('b1', 'r1')!.state, 'issued');
  t.equal(r.cardOfRecord('b1', 'r1')!.issuedAt, '2026-12-01T08:00:00.000Z');
  t.equal(conflict(() => r.check(card())), 'record-issued');
  t.equal(conflict(() => r.check(card({ batch: 'b2', record: 'x' }))), 'holder-live');
  t.throws(() => r.check(card({ batch: 'b2', record: 'x' })), /card number A00000011, batch b1/);
  t.doesNotThrow(() => r.check(card({ product: 'other', batch: 'b2', record: 'x', chip: '33' })), 'another product: the holder may have one of each');
  t.throws(() => r.issue('b1', 'r9', '0102030405060708'), RegistryStateError, 'nothing reserved: nothing to issue');
  t.same(r.counts(), { reserved: 0, issued: 1, void: 0, replaced: 0 });
});

t.test('void frees the record and the chip; a replacement marks the old card replaced when it is issued', async (t) => {
  const r = open(t);
  r.reserve(card());
  r.void('b1', 'r1', '0102030405060708', 'card rejected: 6A82');
  t.equal(r.cardOfRecord('b1', 'r1'), undefined, 'a void card does not count as the record’s');
  r.reserve(card({ chip: '0A0B0C0D' }));
  r.issue('b1', 'r1', '0A0B0C0D');
  r.reserve(card({ chip: '0102030405060708', record: 'r2', holder: 'cc03' }));
  t.pass('the voided chip took another record');

  const repl = card({ batch: 'b2', record: 'n1', chip: 'EE', cardNumber: 'A00000020', replacement: { kind: 'lost', reason: 'case 118' } });
  t.doesNotThrow(() => r.check(repl), 'a replacement passes the holder check');
  r.reserve(repl);
  t.equal(r.liveCardOf('sscard-gen3', 'aa01')!.chip, '0A0B0C0D', 'the old card stays live until the replacement is issued');
  r.issue('b2', 'n1', 'EE');
  const old = r.cardOfRecord('b1', 'r1')!;
  t.match(old, { state: 'replaced', reason: 'replaced by card A00000020 (lost: case 118)' });
  t.match(r.cardOfRecord('b2', 'n1'), { state: 'issued', replaces: old.id, replacement: { kind: 'lost' } });
  t.same(
    r.events('b1').map((e) => `${e.record} ${e.op}`),
    ['r1 reserved', 'r1 void', 'r1 reserved', 'r1 issued', 'r2 reserved', 'r1 replaced'],
  );
  t.throws(() => r.void('b2', 'n1', 'EE', 'too late'), RegistryStateError, 'an issued card is not voided');
});

t.test('the database refuses a second live card and any change to a finished one, whatever the code does', async (t) => {
  const r = open(t);
  r.reserve(card());
  r.issue('b1', 'r1', '0102030405060708');
  r.close();
  const db = new Database(r.path);
  t.teardown(() => db.close());
  const insert = db.prepare("INSERT INTO cards (product, revision, batch, record, holder, chip, state, keys, station, reserved_at, issued_at) VALUES ('sscard-gen3', '1', ?, ?, ?, ?, ?, '[]', 's', 'now', 'now')");
  t.throws(() => insert.run('b1', 'r1', 'zz', 'FF', 'reserved'), /UNIQUE/, 'record');
  t.throws(() => insert.run('b9', 'r9', 'zz', '0102030405060708', 'reserved'), /UNIQUE/, 'chip');
  t.throws(() => insert.run('b9', 'r9', 'aa01', 'FF', 'issued'), /UNIQUE/, 'holder');
  t.throws(() => db.prepare("UPDATE cards SET state = 'void', reason = 'x'").run(), /only to replaced/);
  t.throws(() => db.prepare('DELETE FROM cards').run(), /never deleted/);
  t.throws(() => db.prepare('DELETE FROM events').run(), /append-only/);
});

t.test('a serial registry file (schema 1) gains the cards and keeps its counters', async (t) => {
  const path = join(tmp(t), 'serials.sqlite');
  const db = new Database(path);
  db.exec(`CREATE TABLE counters (product TEXT NOT NULL, counter TEXT NOT NULL, next INTEGER NOT NULL CHECK (next >= 0), PRIMARY KEY (product, counter));
    CREATE TABLE allocations (id INTEGER PRIMARY KEY, product TEXT NOT NULL, counter TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, batch TEXT NOT NULL, at TEXT NOT NULL, CHECK (last >= first));
    INSERT INTO counters VALUES ('sscard-gen3', 'card', 41);
    PRAGMA user_version = 1;`);
  db.close();
  const r = open(t, path);
  t.same(r.serials.counters(), [{ product: 'sscard-gen3', counter: 'card', next: 41 }]);
  r.reserve(card());
  t.equal(r.counts().reserved, 1);
  const s = SerialRegistry.open(path);
  t.teardown(() => s.close());
  t.equal(s.allocate('sscard-gen3', { card: 1 }).first['card'], 41, 'cardsmith serials reads the same file');
});

t.test('the holder hash: keyed, stable, and bound to one key', async (t) => {
  const dir = tmp(t);
  const pass = new TextEncoder().encode('registry test');
  const a = await FileKeyStore.create(join(dir, 'a.keys'), pass);
  const b = await FileKeyStore.create(join(dir, 'b.keys'), pass);
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  for (const s of [a, b]) await s.generate({ label: 'issuance-registry', alg: 'aes', length: 32, usage: ['mac'] });
  const r = open(t);
  const hash = await holderHasher(a, r);
  const h1 = await hash('110105198503120215');
  t.match(h1, /^[0-9a-f]{32}$/);
  t.equal(await hash('110105198503120215'), h1, 'stable');
  t.not(await hash('310104199007040422'), h1);
  t.notMatch(h1, /110105/, 'not the ID');
  t.match(r.holderKey(), { label: 'issuance-registry', version: 1 });
  await t.rejects(holderHasher(b, r), { name: 'HolderKeyError', message: /KCV .*use the bureau's key store/ }, 'another key store’s key of the same label is refused');
  const empty = await FileKeyStore.create(join(dir, 'c.keys'), pass);
  t.teardown(() => empty.close());
  await t.rejects(holderHasher(empty, open(t)), { name: 'HolderKeyError', message: /cardsmith keys generate .*--label issuance-registry/ });
  t.ok(RegistryConflictError);
});
