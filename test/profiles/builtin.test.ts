// The built-in profiles validate, and say what LD/T 32 and the colleagues' simulators say:
// AIDs, FIDs, record tags, the access-condition bytes the simulated COS understands, the CPS
// applet's package and module AIDs, a CAP file that really holds that package.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { toHex } from '../../bytes/index.js';
import { CapFile } from '../../globalplatform/cap.js';
import { NAME_OIDS } from '../../keys/ca.js';
import { BUILTIN_PROFILES, loadProfile, SUBJECT_ATTRIBUTES, validateProfile, type AccessSpec, type DfNode, type EfNode, type FileNode, type Profile } from '../../profiles/index.js';
import { encodeAccess, type AccessCondition } from '../../simulator/fs/access.js';
import { CPS_MODULE_AID, CPS_PACKAGE_AID } from '../../simulator/gp/index.js';
import { PKI_ADF_AID, PKI_DDF_AID, PPSE_NAME, SS_APP_AIDS, SSSE_AID } from '../../simulator/sscard/layout.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

function byPath(p: Profile, path: string): FileNode {
  const walk = (n: FileNode): FileNode | undefined => (n.path === path ? n : n.kind === 'df' ? n.children.map(walk).find((x) => x) : undefined);
  const found = walk(p.mf!);
  if (!found) throw new Error(`no ${path}`);
  return found;
}

/** The simulator's AccessCondition for a profile access spec (same vocabulary, names dropped). */
function toSim(a: AccessSpec): AccessCondition {
  switch (a.kind) {
    case 'always':
    case 'never':
      return { kind: a.kind };
    case 'pin':
      return { kind: 'pin', id: a.id };
    case 'key':
      return { kind: 'key', id: a.id };
    case 'sm':
      return { kind: 'sm', keyId: a.id };
  }
}

t.test('every built-in profile validates without errors or warnings', async (t) => {
  for (const name of BUILTIN_PROFILES) {
    const r = validateProfile(here(`../../profiles/${name}.yaml`));
    t.same(r.diagnostics, [], `${name}: no diagnostics`);
    t.ok(r.ok && r.profile, `${name} valid`);
    t.equal(loadProfile(`builtin:${name}`).name, name, `builtin:${name} loads`);
  }
});

t.test('sscard-gen3 follows LD/T 32', async (t) => {
  const p = loadProfile('builtin:sscard-gen3');
  t.equal(p.cos, 'sscard');
  t.same(p.interfaces, ['contact', 'contactless']);
  const ssse = byPath(p, 'SSSE') as DfNode;
  t.equal(toHex(ssse.aid!), toHex(SSSE_AID), 'SSSE AID = "sx1.sh." + 社会保障 in GBK');
  t.equal(toHex(ssse.aid!), '7378312E73682EC9E7BBE1B1A3D5CF');
  ['DF01', 'DF02', 'DF03', 'DF04'].forEach((n, i) => t.equal(toHex((byPath(p, `SSSE/${n}`) as DfNode).aid!), toHex(SS_APP_AIDS[i]!), `${n} by AID`));
  t.equal(toHex((byPath(p, 'PKI') as DfNode).aid!), toHex(PKI_DDF_AID));
  const adf = byPath(p, 'PKI/ADF1') as DfNode;
  t.equal(toHex(adf.aid!), toHex(PKI_ADF_AID));
  t.equal(adf.fid, 0xdf01);
  t.same(adf.children.map((c) => (c as EfNode).fid), [0x12, 0x13, 0x14, 0x15, 0x18, 0x19], 'PKI EFs 0012-0015, 0018, 0019');
  const ppse = byPath(p, 'PPSE') as DfNode;
  t.equal(toHex(ppse.aid!), toHex(PPSE_NAME));
  t.equal(toHex(ppse.fciProprietary!), 'BF0C0F610D4F08A000000333010101870101', 'PPSE FCI lists the UnionPay application');

  const ef05 = byPath(p, 'SSSE/EF05') as EfNode;
  const ef06 = byPath(p, 'SSSE/EF06') as EfNode;
  t.equal(ef05.sfi, 5);
  t.equal(ef06.sfi, 6);
  t.same(ef05.elements.map((e) => [e.tag, e.length, e.encoding]), [
    [0x01, 16, 'binary'],
    [0x02, 1, 'an'],
    [0x03, 4, 'an'],
    [0x04, 12, 'binary'],
    [0x05, 4, 'date'],
    [0x06, 4, 'date'],
    [0x07, 9, 'an'],
  ]);
  t.same(ef06.elements.map((e) => [e.tag, e.length, e.encoding]), [
    [0x08, 18, 'an'],
    [0x09, 30, 'gbk'],
    [0x4e, 20, 'gbk'],
    [0x0a, 1, 'an'],
    [0x0b, 1, 'bcd'],
    [0x0c, 3, 'bcd'],
    [0x0d, 4, 'date'],
  ]);
  t.same(ef05.elements[0]!.parts!.map((x) => [x.name, x.length]), [['cityCode', 3], ['rid', 5], ['chipSerial', 4], ['mac', 4]], 'card identification code layout');
  t.equal(ef06.elements.find((e) => e.name === 'nameExtension')!.pad, 0xff, 'name extension padded with FF');
  t.ok(byPath(p, 'SSSE/EF08'), 'EF08 photo');

  // The access conditions are the bytes the simulated COS decodes (simulator/fs/access.ts), the
  // same the simulator's example personalization writes for EF05/EF06 (00, 2D, 2D / 10, 2D, 2D).
  const bytes = (ef: EfNode) => [ef.access.read, ef.access.update, ef.access.append].map((a) => encodeAccess(toSim(a)));
  t.same(bytes(ef05), [0x00, 0x2d, 0x2d]);
  t.same(bytes(ef06), [0x10, 0x2d, 0x2d]);
  t.same(bytes(byPath(p, 'SSSE/EF07') as EfNode), [0x24, 0x31, 0xff], 'EF07: read after key 04, update with a MAC under key 01');
  t.same(bytes(byPath(p, 'PKI/ADF1/SIGN_PRIV') as EfNode), [0x11, 0x20, 0xff], 'private key: used after PIN 01');
});

t.test('sscard-gen3 keys: PBOC diversification, 3DES; the SM4 variant differs only in keys', async (t) => {
  const des = loadProfile('builtin:sscard-gen3');
  const sm4 = loadProfile('builtin:sscard-gen3-sm4');
  t.ok(des.keys.length >= 10);
  for (const k of des.keys) {
    t.equal(k.alg, 'des3', `${k.name} is 3DES`);
    t.equal(k.derive.method, 'pboc');
    t.equal(k.derive.data.length, 2, 'two levels: city code ‖ "sx", then the ATR tail');
    t.equal(k.derive.phase, 'run', 'level 2 needs the ATR');
    t.equal(k.derive.master.alg, 'des3');
  }
  for (const k of sm4.keys) {
    t.equal(k.alg, 'sm4', `${k.name} is SM4`);
    t.equal(k.derive.master.alg, 'sm4');
    t.match(k.derive.master.label, /^ss3-sm4-/);
  }
  t.same(sm4.keys.map((k) => [k.owner, k.name, k.role, k.id]), des.keys.map((k) => [k.owner, k.name, k.role, k.id]), 'the same key slots');
  const tree = (p: Profile) => JSON.stringify(p.mf, (k, v) => (k === 'keys' || k === 'loc' || k === 'derive' ? undefined : v instanceof Uint8Array ? toHex(v) : v));
  t.equal(tree(sm4), tree(des), 'the same file tree');
  t.not(sm4.hash, des.hash);
  t.same(des.pins.map((p) => [p.name, p.owner, p.id, p.initial.kind]), [['PIN', 'SSSE', 0, 'random'], ['PKI_PIN', 'PKI/ADF1', 1, 'random']]);
  t.same(des.pki!.keyPairs.map((k) => [k.name, k.publicKey.fid, k.privateKey.fid, k.certificate.fid]), [['sign', 0x12, 0x13, 0x18], ['encrypt', 0x14, 0x15, 0x19]]);
  t.equal(des.pki!.ca.alg, 'sm2');
});

t.test('gp-cps: the simulator CPS applet, a CAP file that holds it, ISD keys from the KMC', async (t) => {
  const p = loadProfile('builtin:gp-cps');
  const gp = p.gp!;
  t.equal(p.cos, 'globalplatform');
  t.equal(gp.scp, 'scp03');
  t.equal(toHex(gp.loadFiles[0]!.aid), toHex(CPS_PACKAGE_AID));
  t.equal(toHex(gp.applets[0]!.module), toHex(CPS_MODULE_AID));
  const cap = CapFile.parse(new Uint8Array(readFileSync(gp.loadFiles[0]!.cap)));
  t.equal(toHex(cap.packageAid), toHex(CPS_PACKAGE_AID), 'the CAP is the CPS package');
  t.same(cap.applets.map((a) => toHex(a.aid)), [toHex(CPS_MODULE_AID)]);
  t.same(gp.isdKeys.map((k) => [k.role, k.id, k.version, k.alg, k.derive.method, k.derive.keyType]), [
    ['enc', 1, 1, 'aes', 'kdf3', 'enc'],
    ['mac', 2, 1, 'aes', 'kdf3', 'mac'],
    ['dek', 3, 1, 'aes', 'kdf3', 'dek'],
  ]);
  t.equal(p.transport.version, 0xff, 'from the factory key set FF');
  t.ok(gp.replaceTransportKeys);
  t.same(gp.applets[0]!.dgis.map((d) => [d.dgi, d.secret]), [[0x9102, false], [0x0101, false], [0x8000, true], [0x9000, false]]);
  t.same(gp.applets[0]!.dgis[2]!.keys, ['AC', 'SMI', 'SMC']);
});

t.test('PKI subject attributes are the ones keys/ca.ts accepts', async (t) => {
  t.same([...SUBJECT_ATTRIBUTES].sort(), Object.keys(NAME_OIDS).sort());
});
