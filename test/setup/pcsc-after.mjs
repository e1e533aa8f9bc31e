// tap `after` script: stop the PC/SC stack if this tap run (our parent) started it, unless a
// PC/SC test of another run still holds the virtual readers' lock (a listening loopback port,
// test/helpers/pcsc.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const LOCK_PORT = 35960;
const script = fileURLToPath(new URL('../../scripts/pcsc-stack.sh', import.meta.url));
const marker = fileURLToPath(new URL(`../../.tap/pcsc-started-by-${process.ppid}`, import.meta.url));

/** true when something listens on the lock port, i.e. another run's PC/SC test is using the stack. */
function lockHeld() {
  return new Promise((resolve) => {
    const socket = connect({ port: LOCK_PORT, host: '127.0.0.1' });
    socket.setTimeout(2000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

if (existsSync(marker)) {
  if (!(await lockHeld())) spawnSync('bash', [script, 'stop'], { stdio: 'ignore', timeout: 60_000 });
  rmSync(marker, { force: true });
}
