import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { about } from './index.js';
import { toHex } from '../../bytes/index.js';
import { formatSw, swMeaning } from '../../iso7816/index.js';
import {
  formatCommandBytes,
  formatResponseBytes,
  openTransport,
  parseApduLine,
  parseApduScript,
  redactionFor,
  runApduScript,
  type ScriptStep,
  type StepResult,
} from '../../transport/index.js';
import { simCards } from '../../simulator/index.js';
import type { Ctx } from '../context.js';
import { OperationFailed, UsageError } from '../errors.js';
import { outputOptions, readerOptions } from '../options.js';

interface ApduArgs {
  reader: string;
  apdus?: string[];
  script?: string;
  wait: number;
  json: boolean;
}

async function stepsFrom(a: ApduArgs, stdin: () => Promise<string>): Promise<{ steps: ScriptStep[]; where: string }> {
  const args = (a.apdus ?? []).map(String);
  if (a.script !== undefined && args.length > 0) throw new UsageError('give APDUs as arguments or --script FILE, not both');
  if (a.script === undefined) {
    if (args.length === 0) throw new UsageError('give at least one APDU in hex, or --script FILE (cardsmith apdu --help)');
    const steps: ScriptStep[] = [];
    args.forEach((text, i) => {
      const s = parseApduLine(text, 'argument', i + 1);
      if (s) steps.push(s);
    });
    if (steps.length === 0) throw new UsageError('the arguments hold no APDU (only comments?)');
    return { steps, where: 'argument' };
  }
  if (a.script === '-') return { steps: parseApduScript(await stdin(), 'stdin'), where: 'stdin' };
  let text: string;
  try {
    text = readFileSync(a.script, 'utf8');
  } catch (e) {
    throw new UsageError(`--script: cannot read ${a.script} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return { steps: parseApduScript(text, a.script), where: a.script };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

function jsonEntry(r: StepResult, script: boolean): Record<string, unknown> {
  const cmd = r.step.command;
  const hidden = cmd.length >= 2 && redactionFor(cmd[0]!, cmd[1]!).response;
  const data = r.response.subarray(0, r.response.length - 2);
  return {
    ...(script ? { line: r.step.line } : { arg: r.step.line }),
    command: formatCommandBytes(cmd),
    response: formatResponseBytes(cmd, r.response),
    sw: formatSw(r.sw),
    data: hidden ? null : toHex(data),
    ...(r.step.expect ? { expect: r.step.expect.map((p) => p.text) } : {}),
    ok: r.ok,
    ms: Math.round(r.ms * 1000) / 1000,
  };
}

export function apduCommand(ctx: Ctx): CommandModule {
  return {
    ...about('apdu'),
    builder: (y) =>
      y
        .positional('apdus', {
          type: 'string',
          array: true,
          describe: 'command APDUs in hex, each optionally followed by an expected SW: "00B2010C00 [9000]" or 00B2010C00=9000',
        })
        .options({
          ...readerOptions,
          script: {
            type: 'string',
            requiresArg: true,
            describe: 'file with one APDU per line (# comments, optional [SW] or =SW expectations; - reads stdin); stops at the first SW mismatch',
          },
          wait: { type: 'number', default: 0, describe: 'seconds to wait for a card in a PC/SC reader' },
          json: { ...outputOptions.json, describe: 'machine-readable output: one JSON array, an object per exchange' },
        })
        .example("$0 apdu --reader sim 00A40000023F00 '0084000008 [9000]'", 'SELECT the MF and GET CHALLENGE (expecting 9000) on the in-process simulator')
        .example("$0 apdu --reader 'Virtual PCD 00 00' --script personalize.apdu", 'run a script on a PC/SC reader; exit 1 and the line number at the first unexpected SW')
        .example("$0 apdu --reader 'sim:sscard?seed=7&t0' 00A40000023F00 --json", 'a T=0 simulated card (61xx resolved), output as a JSON array')
        .epilogue('Script format: docs/readers.md. Data of PIN/key commands (VERIFY, CHANGE PIN, WRITE KEY, EXTERNAL AUTHENTICATE …) is shown as [n bytes].'),
    handler: async (argv) => {
      const a = argv as unknown as ApduArgs;
      if (!Number.isFinite(a.wait) || a.wait < 0) throw new UsageError(`--wait: expected seconds >= 0, got ${String(a.wait)}`);
      const { steps, where } = await stepsFrom(a, () => readAll(ctx.io.stdin));
      const script = a.script !== undefined;
      const transport = await openTransport(a.reader, { waitMs: Math.round(a.wait * 1000), simCards });
      let outcome: Awaited<ReturnType<typeof runApduScript>>;
      try {
        outcome = await runApduScript(transport, steps, (r) => {
          if (a.json) return;
          ctx.io.out(`> ${formatCommandBytes(r.step.command)}`);
          ctx.io.out(`< ${formatResponseBytes(r.step.command, r.response)}${r.sw === 0x9000 ? '' : `  (${swMeaning(r.sw)})`}`);
        });
      } finally {
        await transport.close();
      }
      if (a.json) ctx.io.out(JSON.stringify(outcome.results.map((r) => jsonEntry(r, script))));
      const f = outcome.failed;
      if (f) {
        const at = script ? `${where}:${f.step.line}` : `argument ${f.step.line}`;
        throw new OperationFailed(
          `${at}: expected SW ${f.step.expect!.map((p) => p.text).join(' or ')}, card answered ${formatSw(f.sw)} (${swMeaning(f.sw)}); stopped there`,
        );
      }
    },
  };
}
