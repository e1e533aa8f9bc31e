// The published kaoh/globalplatform transcripts driven through the GP session, not just the
// channel: DELETE, INSTALL [for load], LOAD (block sizing after the SCP02 C-DECRYPTION overhead),
// INSTALL [for install and make selectable] and GET STATUS must encode exactly as published, and
// the recorded answers must decode to what the source asserts.
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { GpCommandError, GpSession } from '../../globalplatform/index.js';
import { helloWorldCap } from './fixtures/hello-world.js';
import { ScriptedTransport } from '../channels/fixtures/scripted-transport.js';
import { TRANSCRIPTS, type Transcript } from '../channels/fixtures/transcripts.js';

function find(name: string): Transcript {
  const tr = TRANSCRIPTS.find((x) => x.source.includes(name));
  if (!tr) throw new Error(`no transcript ${name}`);
  return tr;
}

function script(tr: Transcript): ScriptedTransport {
  return new ScriptedTransport([tr.initializeUpdate, tr.externalAuthenticate, ...tr.commands.map((c) => c.wire)]);
}

async function open(tr: Transcript, transport: ScriptedTransport): Promise<GpSession> {
  const session = new GpSession(transport);
  const keys = { enc: fromHex(tr.keys.enc), mac: fromHex(tr.keys.mac), dek: fromHex(tr.keys.dek) };
  await session.authenticate({ keys, scp: tr.scp, hostChallenge: fromHex(tr.hostChallenge), securityLevel: tr.securityLevel });
  return session;
}

t.test('SCP02 install_mac_enc: DELETE, INSTALL [for load], LOAD in 239-byte blocks, INSTALL [for install and make selectable]', async (t) => {
  const tr = find('install_mac_enc');
  const transport = script(tr);
  const session = await open(tr, transport);
  t.equal(session.maxBlockSize(), 239, 'SCP02 C-MAC + C-DECRYPTION leaves 239 plain bytes per short APDU');

  const err = await session.delete(fromHex('D0D1D2D3D4D50101'), { related: true }).catch((e: unknown) => e);
  t.ok(err instanceof GpCommandError, 'the recorded 6A88 is an error');
  t.match((err as Error).message, /DELETE: card answered 6A88 .*nothing was deleted/);
  await session.delete(fromHex('D0D1D2D3D4D501'), { related: true });

  const cap = helloWorldCap();
  t.equal(toHex(cap.packageAid), 'D0D1D2D3D4D501');
  t.same(cap.applets.map((a) => toHex(a.aid)), ['D0D1D2D3D4D50101']);
  const load = await session.loadCap(cap, {
    includeDescriptor: true, // kaoh/globalplatform sends the Descriptor component
    sdAid: fromHex('A000000003000000'),
    parameters: { nonVolatileCode: 0x0160, nonVolatileData: 2000 },
  });
  t.same(load, { loadFileAid: 'D0D1D2D3D4D501', blocks: 2, blockSize: 239, bytes: 347 });
  await session.install({
    loadFileAid: cap.packageAid,
    moduleAid: cap.applets[0]!.aid,
    privileges: Uint8Array.of(0x02),
    parameters: Uint8Array.of(0x00),
    systemParameters: { nonVolatileData: 2000 },
  });
  t.same(transport.mismatches, [], 'every command byte for byte as published');
  t.equal(transport.remaining, 0);
  t.equal(session.apduCount, 8, 'INITIALIZE UPDATE, EXTERNAL AUTHENTICATE and six commands');
});

t.test('SCP02 get_status_mac_only: load files decoded', async (t) => {
  const tr = find('get_status_mac_only');
  const transport = script(tr);
  const session = await open(tr, transport);
  const files = await session.getStatus('loadFiles');
  t.same(transport.mismatches, []);
  t.equal(files.length, 6);
  t.same(files[5], { kind: 'load-file', aid: 'D0D1D2D3D4D501', lifeCycle: 1, lifeCycleName: 'LOADED', privileges: '', privilegeNames: [] });
});

t.test('SCP03 get_status_enc_mac: load files, applications, ISD, load files and modules', async (t) => {
  const tr = find('get_status_enc_mac');
  const transport = script(tr);
  const session = await open(tr, transport);
  const files = await session.getStatus('loadFiles');
  t.equal(files.length, 8);
  t.match(files[7], { aid: 'A0000000090005FFFFFFFF8912000064', lifeCycle: 1, version: '1.0', associatedSd: 'A000000151' });
  const apps = await session.getStatus('applications');
  t.equal(apps.length, 4);
  t.match(apps[0], {
    aid: 'A0000005591010FFFFFFFF8900001000',
    lifeCycle: 0x3f,
    privilegeNames: ['SecurityDomain', 'TrustedPath', 'AuthorizedManagement'],
    associatedSd: 'A0000005591010FFFFFFFF8900000100',
  });
  t.equal(apps[3]!.lifeCycleName, 'SELECTABLE');
  const isd = await session.getStatus('isd');
  t.match(isd, [{ aid: 'A000000151000000', lifeCycle: 0x0f, lifeCycleName: 'SECURED', privileges: '82FC80' }]);
  t.same(isd[0]!.privilegeNames, ['SecurityDomain', 'CVMManagement', 'TrustedPath', 'AuthorizedManagement', 'TokenVerification', 'GlobalDelete', 'GlobalLock', 'GlobalRegistry', 'ReceiptGeneration']);
  const modules = await session.getStatus('loadFilesAndModules');
  t.match(modules[1], { aid: 'A0000000620101', lifeCycle: 1, version: '1.5' });
  t.same(transport.mismatches, [], 'four GET STATUS byte for byte');
});

t.test('SCP03 delete_application: DELETE with related objects', async (t) => {
  const tr = find('delete_application');
  const transport = script(tr);
  const session = await open(tr, transport);
  await session.delete(fromHex('A00100015141434C'), { related: true });
  t.same(transport.mismatches, []);
});

t.test('SCP03 get_status (applications) and get_status_aes_192 (load files, AES-192, i=10)', async (t) => {
  for (const name of ['scp03Test.c get_status', 'get_status_aes_192']) {
    const tr = TRANSCRIPTS.find((x) => x.source.endsWith(name))!;
    const transport = script(tr);
    const session = await open(tr, transport);
    const entries = await session.getStatus(name.endsWith('aes_192') ? 'loadFiles' : 'applications');
    t.same(transport.mismatches, [], name);
    if (name.endsWith('aes_192')) t.match(entries, [{ aid: 'A0000001515350' }]);
    else t.match(entries[3], { aid: 'A00000055910100002', lifeCycle: 7, privileges: '000000' });
  }
});
