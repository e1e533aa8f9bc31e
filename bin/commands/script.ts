// `cardsmith script show|export DIR --card N`: one card's script from a batch folder (docs/prep.md,
// "Script tools").
//   - show: one line per step (op, APDU formatted with iso7816's formatCommand, expected SWs, note);
//     secrets appear as `<sealed kcv=…>` or `<sealed>`: nothing is ever unsealed (no key store);
//   - export: the card's plain steps (apdu and check) in the `cardsmith apdu --script` format with
//     their expected status words; a script with sealed or run-time steps is refused (exit 2, the
//     step named), since only the runner can complete those;
//   - schema: the JSON Schema of a card script or of the manifest.
// The batch folder is checked against its sealed manifest first (digests; the MAC needs a key
// store, which these commands do not open: a note says so).
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { about } from './index.js';
import { fromHex } from '../../bytes/index.js';
import { writePrivateFileSync } from '../../files/private.js';
import { formatCommand, parseCommand } from '../../iso7816/index.js';
import type { BlobSlice } from '../../personalization/blobs.js';
import { parseCardScript, ScriptFormatError, type CardScript, type KeyRefSpec, type RunKey, type RunPart, type Sealed, type Step } from '../../personalization/script.js';
import { BATCH_MANIFEST_SCHEMA, CARD_SCRIPT_SCHEMA } from '../../personalization/schemas.js';
import { BatchInputError, CARDS_FILE, CardLinesCheck, checkOtherFiles, readManifest, streamLines } from '../../personalization/sealed.js';
import { macNotChecked } from '../batch.js';
import type { Ctx } from '../context.js';
import { prefixed, UsageError } from '../errors.js';
import { outputOptions } from '../options.js';

interface ScriptArgs {
  dir: string;
  card: string;
  json?: boolean;
  out?: string;
}

/**
 * Finds card N (1-based index, or a record id) in DIR/cards.jsonl, reading line by line, after
 * checking the whole folder against its manifest (digests only: no key store here, said on stderr).
 */
export async function findCard(ctx: Ctx, dir: string, card: string): Promise<{ index: number; script: CardScript }> {
  const path = join(dir, CARDS_FILE);
  const byIndex = /^[1-9]\d{0,8}$/.test(card) ? Number(card) : undefined;
  let found: { index: number; script: CardScript } | undefined;
  let n = 0;
  try {
    const { manifest } = readManifest(dir);
    const check = new CardLinesCheck(dir, manifest);
    const lines = streamLines(path);
    let next = await lines.next();
    for (; !next.done; next = await lines.next()) {
      const { n: i, text } = next.value;
      n = i;
      check.line(i, text);
      if (found || (byIndex !== undefined && i !== byIndex)) continue;
      const script = parseCardScript(text, `${path}:${i}`);
      if (byIndex !== undefined || script.recordId === card) found = { index: i, script };
    }
    check.end(next.value.count, next.value.newline);
    checkOtherFiles(dir, manifest);
  } catch (e) {
    if (e instanceof BatchInputError || e instanceof ScriptFormatError) throw prefixed(e, 'script');
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`script: ${path}: missing: ${dir} is not a batch folder`);
    throw e;
  }
  macNotChecked(ctx, 'script', dir);
  if (found) return found;
  throw new UsageError(byIndex !== undefined ? `script: ${dir} has ${n} card${n === 1 ? '' : 's'}, no card ${card}` : `script: no card with record id ${card} in ${dir}`);
}

const sealedText = (s: Sealed): string => (s.kcv ? `<sealed kcv=${s.kcv}>` : '<sealed>');
const refText = (r: KeyRefSpec): string => `${r.label}${r.version !== undefined ? ` v${r.version}` : ''}`;

function apduText(hex: string): string {
  try {
    return formatCommand(parseCommand(fromHex(hex, 'APDU')));
  } catch {
    return hex;
  }
}

function headerText(hex: string): string {
  try {
    return apduText(hex).split(' ').slice(0, 4).join(' ');
  } catch {
    return hex;
  }
}

/** A slice of blobs.pack: `<blob 1a2b3c4d… @4096 [1024:+1024]>` (bytes of the batch's big data, not in the script). */
function blobText(b: BlobSlice): string {
  const range = b.from !== undefined || b.length !== undefined ? ` [${b.from ?? 0}${b.length !== undefined ? `:+${b.length}` : ''}]` : '';
  return `<blob ${b.blob.slice(0, 8)}… @${b.at} ${b.size} bytes${range}>`;
}

const blobLength = (b: BlobSlice): number => b.length ?? b.size - (b.from ?? 0);

function partText(p: RunPart): string {
  if ('hex' in p) return p.hex;
  if ('fact' in p) return `card.${p.fact}${p.from !== undefined || p.length !== undefined ? `[${p.from ?? 0}${p.length !== undefined ? `:+${p.length}` : ''}]` : ''}`;
  if ('key' in p) return `<key ${keyText(p.key)}>`;
  if ('blob' in p) return blobText(p);
  return `<mac ${keyText(p.mac.key)} over ${p.mac.data.map(partText).join(' ‖ ')}>`;
}

function keyText(k: RunKey): string {
  return `${k.name ? `${k.name}=` : ''}${k.alg} ${k.method}(${refText(k.master)}${k.keyType ? ` ${k.keyType}` : ''}, ${k.levels.map((l) => l.map(partText).join(' ‖ ')).join(' / ')})`;
}

const swText = (sw: string[] | undefined): string => `[${(sw ?? ['9000']).join('|')}]`;

/** One readable line per step; never a secret (sealed values show only their KCV). */
export function stepText(s: Step): string {
  switch (s.op) {
    case 'apdu':
      return `apdu ${apduText(s.apdu)} ${swText(s.sw)}`;
    case 'check':
      return `check ${apduText(s.apdu)} ${swText(s.sw)}${s.expect !== undefined ? ` expect ${s.expect.length / 2} bytes ${s.expect}` : ''}${s.expectBlob !== undefined ? ` expect ${blobLength(s.expectBlob)} bytes ${blobText(s.expectBlob)}` : ''}`;
    case 'sealed-apdu':
      return `sealed-apdu ${headerText(s.header)} ${sealedText(s.data)}${s.le !== undefined ? ` le=${s.le}` : ''} ${swText(s.sw)}`;
    case 'mac-apdu':
      return `mac-apdu ${headerText(s.header)} ${s.data === undefined ? '' : typeof s.data === 'string' ? s.data : sealedText(s.data)} mac=${sealedText(s.macKey)}${s.encryptKey ? ` enc=${sealedText(s.encryptKey)}` : ''} ${swText(s.sw)}`.replace(/  +/g, ' ');
    case 'open':
      if (s.protocol === 'ssc-ext-auth') {
        const key = 'stored' in s.key ? `<in the key store: ${refText(s.key.stored)} kcv=${s.key.kcv}>` : sealedText(s.key);
        return `open ssc-ext-auth key ${s.keyId.toString(16).padStart(2, '0').toUpperCase()} ${key}`;
      }
      return `open ${s.protocol} level ${s.securityLevel.toString(16).padStart(2, '0')}${s.keyVersion !== undefined ? ` kvn ${s.keyVersion}` : ''}${s.sdAid ? ` sd ${s.sdAid}` : ''} ${'master' in s.keys ? `master ${refText(s.keys.master)} ${s.keys.div}` : `enc=${sealedText(s.keys.enc)} mac=${sealedText(s.keys.mac)} dek=${sealedText(s.keys.dek)}`}`;
    case 'close':
      return 'close';
    case 'put-key':
      return `put-key kvn ${s.keyVersion}${s.replaceVersion !== undefined ? ` replacing ${s.replaceVersion}` : ''} enc=${sealedText(s.keys.enc)} mac=${sealedText(s.keys.mac)} dek=${sealedText(s.keys.dek)}`;
    case 'put-derived-key':
      return `put-derived-key kvn ${s.keyVersion}${s.replaceVersion !== undefined ? ` replacing ${s.replaceVersion}` : ''} master ${refText(s.master)} ${s.div}`;
    case 'store-data':
      return `store-data ${s.dgis.map((d) => `${d.dgi.toString(16).padStart(4, '0').toUpperCase()}=${d.sealed ? sealedText(d.sealed) : (d.data ?? '')}`).join(' ')}`;
    case 'keygen-cert':
      return `keygen-cert ${apduText(s.generate)} cert EF ${s.certificateFile} CA ${refText(s.ca)}${s.chunk !== undefined ? ` chunk ${s.chunk}` : ''}${s.readChunk !== undefined ? ` read ${s.readChunk}` : ''}`;
    case 'run-apdu':
      return `run-apdu ${headerText(s.header)} ${s.data.map(partText).join(' ‖ ')}${s.le !== undefined ? ` le=${s.le}` : ''} ${swText(s.sw)}`;
  }
}

/** A copy of a step with every sealed blob replaced by "<sealed>" (for --json). */
function redacted(s: Step): unknown {
  return JSON.parse(JSON.stringify(s, (k, v: unknown) => (k === 'sealed' && typeof v === 'string' ? '<sealed>' : v)));
}

function noteOf(s: Step): string | undefined {
  return s.op === 'check' ? s.what : s.op === 'close' ? undefined : s.note;
}

function showCommand(ctx: Ctx): CommandModule {
  return {
    command: 'show <dir>',
    describe: "print one card's script, one line per step (secrets as <sealed kcv=…>, never unsealed)",
    builder: (y) =>
      y
        .positional('dir', { type: 'string', demandOption: true, describe: 'the batch folder (cardsmith prep --out)' })
        .option('card', { type: 'string', demandOption: true, requiresArg: true, describe: '1-based card index in cards.jsonl, or a record id' })
        .options(outputOptions)
        .example('$0 script show batch-001 --card 1', 'the first card'),
    handler: async (argv) => {
      const a = argv as unknown as ScriptArgs;
      const { index, script } = await findCard(ctx, a.dir, String(a.card));
      const rows = (list: 'steps' | 'verify') =>
        script[list].map((s, i) => {
          const note = noteOf(s);
          return { n: i + 1, op: s.op, text: stepText(s), ...(note !== undefined ? { note } : {}), step: redacted(s) };
        });
      if (a.json) {
        ctx.io.out(JSON.stringify({ card: index, recordId: script.recordId, line: script.line, interface: script.interface, steps: rows('steps'), verify: rows('verify') }));
        return;
      }
      const out: string[] = [`card ${index}: record ${script.recordId} (batch line ${script.line}), ${script.interface}`];
      for (const list of ['steps', 'verify'] as const) {
        out.push(`${list}:`);
        for (const r of rows(list)) out.push(`  ${String(r.n).padStart(3)}  ${r.text}${r.note !== undefined ? `  # ${r.note}` : ''}`);
      }
      ctx.io.out(out.join('\n'));
    },
  };
}

/** The card's plain steps as an `apdu --script` file; throws UsageError naming the first step that needs the runner. */
export function exportPlain(script: CardScript, card: number): string {
  const lines = [`# cardsmith script export: card ${card}, record ${script.recordId} (batch line ${script.line})`];
  for (const list of ['steps', 'verify'] as const) {
    lines.push(`# ${list}`);
    script[list].forEach((s, i) => {
      if (s.op !== 'apdu' && s.op !== 'check') {
        const where = `${list === 'steps' ? 'step' : 'verify step'} ${i + 1}`;
        throw new UsageError(`script export: card ${card} ${where} (${s.op}) has sealed or run-time data that only the runner can complete (cardsmith run); only scripts of apdu and check steps export`);
      }
      const note = noteOf(s);
      const expectNote = s.op === 'check' && s.expect !== undefined ? ` (response data ${s.expect} not checked here)` : s.op === 'check' && s.expectBlob !== undefined ? ` (response data: ${blobLength(s.expectBlob)} bytes of blobs.pack, not checked here)` : '';
      const comment = note !== undefined || expectNote ? `  # ${list === 'steps' ? '' : 'verify '}${i + 1}: ${(note ?? '').replace(/[\r\n]/g, ' ')}${expectNote}` : '';
      lines.push(`${apduText(s.apdu)} ${swText(s.sw)}${comment}`);
    });
  }
  return lines.join('\n') + '\n';
}

function exportCommand(ctx: Ctx): CommandModule {
  return {
    command: 'export <dir>',
    describe: "write one card's plain script (apdu and check steps) in the cardsmith apdu --script format",
    builder: (y) =>
      y
        .positional('dir', { type: 'string', demandOption: true, describe: 'the batch folder' })
        .option('card', { type: 'string', demandOption: true, requiresArg: true, describe: '1-based card index, or a record id' })
        .option('out', { type: 'string', demandOption: true, requiresArg: true, describe: 'the script file to write' })
        .example('$0 script export batch-001 --card 1 --out card1.apdu && $0 apdu --reader sim --script card1.apdu', 'run a plain card script without the runner'),
    handler: async (argv) => {
      const a = argv as unknown as ScriptArgs;
      const { index, script } = await findCard(ctx, a.dir, String(a.card));
      const text = exportPlain(script, index);
      writePrivateFileSync(a.out!, text);
      ctx.io.out(`${a.out}: card ${index}, ${script.steps.length + script.verify.length} APDUs`);
    },
  };
}

function schemaCommand(ctx: Ctx): CommandModule {
  return {
    command: 'schema [which]',
    describe: 'print the JSON Schema (draft-07) of a card script (a line of cards.jsonl) or of a batch manifest (manifest.json)',
    builder: (y) =>
      y
        .positional('which', { choices: ['card', 'manifest'] as const, default: 'card', describe: 'card: cards.jsonl lines; manifest: manifest.json' })
        .example('$0 script schema manifest > batch-manifest.schema.json', 'save the manifest schema'),
    handler: (argv) => {
      ctx.io.out(JSON.stringify((argv as unknown as { which: string }).which === 'manifest' ? BATCH_MANIFEST_SCHEMA : CARD_SCRIPT_SCHEMA, null, 2));
    },
  };
}

export function scriptCommand(ctx: Ctx): CommandModule {
  return {
    ...about('script'),
    builder: (y) => y.command(showCommand(ctx)).command(exportCommand(ctx)).command(schemaCommand(ctx)).demandCommand(1, 'name a script command (cardsmith script --help lists them)'),
    handler: () => undefined,
  };
}
