// SM2 against an independent implementation: OpenSSL's (GB/T 32918 signatures with the
// distinguishing ID), through the openssl command line. Ours signs, OpenSSL verifies, and back.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { concat, fromHex } from '../../bytes/index.js';
import { sm2GenerateKeyPair, sm2Sign, sm2Verify } from '../../crypto/sm2.js';

const probe = spawnSync('openssl', ['list', '-public-key-algorithms'], { encoding: 'utf8' });
const haveSm2 = probe.status === 0 && /SM2/.test(probe.stdout);

// SubjectPublicKeyInfo { id-ecPublicKey, sm2 (1.2.156.10197.1.301) } ‖ BIT STRING 00 04 x y
const SPKI_PREFIX = fromHex('3059301306072A8648CE3D020106082A811CCF5501822D034200');

function derInteger(v: Uint8Array): Uint8Array {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  let body = v.subarray(i);
  if (body[0]! & 0x80) body = concat(new Uint8Array([0]), body);
  return concat(new Uint8Array([0x02, body.length]), body);
}

function signatureToDer(rs: Uint8Array): Uint8Array {
  const body = concat(derInteger(rs.subarray(0, 32)), derInteger(rs.subarray(32)));
  return concat(new Uint8Array([0x30, body.length]), body);
}

function signatureFromDer(der: Uint8Array): Uint8Array {
  const ints: Uint8Array[] = [];
  for (let o = 2; o < der.length; ) {
    const len = der[o + 1]!;
    const v = der.subarray(o + 2, o + 2 + len);
    const out = new Uint8Array(32);
    out.set(v.subarray(Math.max(0, v.length - 32)), 32 - Math.min(32, v.length));
    ints.push(out);
    o += 2 + len;
  }
  return concat(ints[0]!, ints[1]!);
}

const ID = '1234567812345678';

t.test('OpenSSL verifies signatures made by cardsmith', { skip: haveSm2 ? false : 'openssl with SM2 not found' }, async (t) => {
  const dir = t.testdir();
  const pair = sm2GenerateKeyPair();
  writeFileSync(join(dir, 'pub.der'), concat(SPKI_PREFIX, pair.publicKey));
  execFileSync('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', join(dir, 'pub.der'), '-out', join(dir, 'pub.pem')]);
  for (const text of ['message digest', '', 'x'.repeat(1000)]) {
    const msg = new TextEncoder().encode(text);
    writeFileSync(join(dir, 'msg'), msg);
    writeFileSync(join(dir, 'sig.der'), signatureToDer(sm2Sign(pair.privateKey, msg)));
    const r = spawnSync('openssl', ['dgst', '-sm3', '-verify', join(dir, 'pub.pem'), '-sigopt', `distid:${ID}`, '-signature', join(dir, 'sig.der'), join(dir, 'msg')], { encoding: 'utf8' });
    t.match(r.stdout, /Verified OK/, `message of ${msg.length} bytes`);
  }
});

t.test('cardsmith verifies signatures made by OpenSSL', { skip: haveSm2 ? false : 'openssl with SM2 not found' }, async (t) => {
  const dir = t.testdir();
  execFileSync('openssl', ['genpkey', '-algorithm', 'SM2', '-out', join(dir, 'key.pem')]);
  const spki = new Uint8Array(execFileSync('openssl', ['pkey', '-in', join(dir, 'key.pem'), '-pubout', '-outform', 'DER']));
  const publicKey = spki.subarray(spki.length - 65);
  const msg = new TextEncoder().encode('signed by OpenSSL');
  writeFileSync(join(dir, 'msg'), msg);
  execFileSync('openssl', ['dgst', '-sm3', '-sign', join(dir, 'key.pem'), '-sigopt', `distid:${ID}`, '-out', join(dir, 'sig.der'), join(dir, 'msg')]);
  const rs = signatureFromDer(new Uint8Array(readFileSync(join(dir, 'sig.der'))));
  t.ok(sm2Verify(publicKey, msg, rs), 'valid');
  t.notOk(sm2Verify(publicKey, new TextEncoder().encode('signed by OpenSSl'), rs), 'another message is not');
  t.notOk(sm2Verify(publicKey, msg, rs, { id: new TextEncoder().encode('ALICE123@YAHOO.COM') }), 'another ID is not');
});
