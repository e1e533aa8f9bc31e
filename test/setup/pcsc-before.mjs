// tap `before` script: bring up the real PC/SC stack (pcscd + vsmartcard's vpcd) where this
// machine allows it, so the PC/SC tests run instead of skipping. Where it cannot (not root and
// the packages missing), the tests that need it skip and name the reason; nothing fails here.
// The marker is named after the tap process (our parent), so only the run that started pcscd
// stops it again.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/pcsc-stack.sh', import.meta.url));
const tapDir = fileURLToPath(new URL('../../.tap/', import.meta.url));
const marker = `${tapDir}pcsc-started-by-${process.ppid}`;
const sh = (cmd) => spawnSync('bash', [script, cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
const indent = (r) => (r.stdout + r.stderr).trim().replace(/^/gm, '#   ');

if (process.env.CARDSMITH_NO_PCSC === '1') {
  console.error('# PC/SC stack: not started (CARDSMITH_NO_PCSC=1); PC/SC tests will skip');
} else if (sh('status').status === 0) {
  console.error('# PC/SC stack: already running, reusing it');
} else {
  const check = sh('check');
  if (check.status !== 0) {
    console.error(`# PC/SC stack: cannot start here; PC/SC tests will skip:\n${indent(check)}`);
  } else {
    const start = sh('start');
    if (start.status === 0) {
      mkdirSync(tapDir, { recursive: true });
      writeFileSync(marker, String(Date.now()));
      console.error('# PC/SC stack: started for this test run');
    } else {
      console.error(`# PC/SC stack: start failed; PC/SC tests will skip:\n${indent(start)}`);
    }
  }
}
