// tap `after` script: stop the PC/SC stack if this tap run (our parent) started it, unless a
// PC/SC test of another run still holds the end-to-end lock (test/helpers/pcsc.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/pcsc-stack.sh', import.meta.url));
const marker = fileURLToPath(new URL(`../../.tap/pcsc-started-by-${process.ppid}`, import.meta.url));
if (existsSync(marker)) {
  if (!existsSync('/tmp/cardsmith-pcsc-e2e.lock')) spawnSync('bash', [script, 'stop'], { stdio: 'ignore', timeout: 60_000 });
  rmSync(marker, { force: true });
}
