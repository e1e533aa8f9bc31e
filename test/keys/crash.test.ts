// A writer killed with SIGKILL in the middle of a write leaves the old store intact. The CLI runs
// as a child process with CARDSMITH_TEST_PAUSE_BEFORE_RENAME set: it writes and fsyncs the complete
// new store to a temp file, announces itself in the marker file, and pauses before the rename; the
// test kills it right there (the worst moment: the new store is complete on disk but not in place).
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyAuditLog } from '../../keys/audit.js';
import { FileKeyStore } from '../../keys/file-store.js';
import { keysCli, PASS, tempDir } from './fixtures/helpers.js';
import { TS_LOADER_ARGS } from '../helpers/ts-child.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function killDuringWrite(args: string[], marker: string): Promise<NodeJS.Signals | null> {
  const child = spawn(process.execPath, [...TS_LOADER_ARGS, join(ROOT, 'bin/cardsmith.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, CARDSMITH_KEYSTORE_PASS: PASS, CARDSMITH_TEST_PAUSE_BEFORE_RENAME: marker },
    stdio: 'ignore',
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const deadline = Date.now() + 60_000;
  while (!existsSync(marker)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error('the child never reached the pause before rename');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  return exited;
}

t.test('SIGKILL between the complete temp file and the rename: the old store stays, the next writer recovers', async (t) => {
  const dir = tempDir();
  const store = join(dir, 'issuer.keys');
  const s = await FileKeyStore.create(store, new TextEncoder().encode(PASS));
  await s.generate({ label: 'kmc', alg: 'des3' });
  await s.generate({ label: 'other', alg: 'aes' });
  const before = await s.list();
  await s.close();
  const bytesBefore = readFileSync(store);

  for (const [i, args] of [
    ['keys', 'rotate', '--keystore', store, '--label', 'kmc'],
    ['keys', 'retire', '--keystore', store, '--label', 'other', '--key-version', '1'],
    ['keys', 'generate', '--keystore', store, '--label', 'new', '--alg', 'sm4'],
  ].entries()) {
    const signal = await killDuringWrite(args, join(dir, `paused-${i}`));
    t.equal(signal, 'SIGKILL', `${args[1]}: killed`);
    t.same(readFileSync(store), bytesBefore, `${args[1]}: the store file is byte-for-byte the old one`);
    t.ok(readdirSync(dir).some((f) => f.startsWith('.issuer.keys.tmp-')), 'the complete new store is left in a temp file, never in place');
    const r = await FileKeyStore.open(store, new TextEncoder().encode(PASS));
    t.same(await r.list(), before, 'it opens with the old keys');
    await r.close();
  }
  t.ok(existsSync(`${store}.lock`), "the killed writer's lock is still there");
  const run = keysCli({ CARDSMITH_KEYSTORE_PASS: PASS });
  const verify = await run(['audit', '--keystore', store, '--verify']);
  t.equal(verify.code, 0, verify.err);
  t.match(verify.out, /3 entries after the anchor belong to an operation that did not complete/);
  const rot = await run(['rotate', '--keystore', store, '--label', 'kmc', '--json']);
  t.equal(rot.code, 0, rot.err);
  t.equal(JSON.parse(rot.out).key.version, 2, 'the next writer takes over the dead lock and succeeds');
  t.notOk(readdirSync(dir).some((f) => f.startsWith('.issuer.keys.tmp-')), 'and removes the stale temp files');
  const v = verifyAuditLog(`${store}.audit`, (await FileKeyStore.open(store, new TextEncoder().encode(PASS)).then(async (x) => { const a = x.auditAnchor(); await x.close(); return a; })));
  t.equal(v.unconfirmed, 0, 'the chain runs through the interrupted entries and the store anchors its end');
});
