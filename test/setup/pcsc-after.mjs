// tap `after` script: stop the PC/SC stack if (and only if) the `before` script started it.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/pcsc-stack.sh', import.meta.url));
const marker = fileURLToPath(new URL('../../.tap/pcsc-started-by-tests', import.meta.url));
if (existsSync(marker)) {
  spawnSync('bash', [script, 'stop'], { stdio: 'ignore', timeout: 60_000 });
  rmSync(marker, { force: true });
}
