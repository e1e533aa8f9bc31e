// Reads tap's output from stdin, passes it through, and ends with the plain line CI wants:
// "N passed, N failed[, N skipped]", taken from tap's own closing count
// (`# { total: 602, pass: 600, fail: 1, skip: 1 }`), which counts every assertion.
// No closing count at all (tap crashed) is reported as a failure, never as a pass.
import { createInterface } from 'node:readline';

let summary;
for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(line + '\n');
  const m = /^# \{ (total: \d+.*) \}$/.exec(line);
  if (m) summary = Object.fromEntries(m[1].split(', ').map((kv) => kv.split(': ')).map(([k, v]) => [k, Number(v)]));
}
if (!summary) {
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(1);
}
const { pass = 0, fail = 0, skip = 0, todo = 0 } = summary;
const extra = (skip ? `, ${skip} skipped` : '') + (todo ? `, ${todo} todo` : '');
process.stdout.write(`${pass} passed, ${fail} failed${extra}\n`);
