// bench/simulator: what an APDU costs, measured in one run —
//   per command: SELECT MF and READ BINARY on the card object itself (process()), in rounds
//     interleaved with the same commands on vsmartcard's ISO 7816 card (Debian's
//     python3-virtualsmartcard, its execute() in its own Python process, bench/vicc.py), medians,
//     the ratio and pass/fail against the goal; vicc's part is skipped, with the reason, when it
//     is not installed;
//   in-process: SimulatorTransport over the social-security card (a mix of SELECT / READ RECORD /
//     GET CHALLENGE), as APDUs per second, for the plain card and for its T=0 mode;
//   through PC/SC: `cardsmith sim serve` as a child process behind pcscd + vpcd, per-APDU median
//     and p99 through PcscTransport, next to a raw `smartcard` transmit loop against the same
//     served card (the stack's floor), as ratios.
// The PC/SC part is skipped, with the reason, when the stack is not up (scripts/pcsc-stack.sh start).
// Run: npx tsc -p tsconfig.json && node dist/bench/simulator.js [--json]
// Don't run it while the PC/SC tests run: both use reader "Virtual PCD 00 00" (it checks the
// reader is empty first and skips the PC/SC part otherwise).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concat, fromHex, toHex } from '../bytes/index.js';
import { des3EncryptEcb } from '../crypto/des3.js';
import { loadPcsc, PcscTransport, SimulatorTransport, waitForReader, type Transport } from '../transport/index.js';
import { createSsCard, DEFAULT_TRANSPORT_KEY, saveCardImage, simCards, type SsCard } from '../simulator/index.js';
import { takeStackLock } from '../test/helpers/pcsc.js';
import { fmtNs, median, verdictLine } from './measure.js';

const READER = 'Virtual PCD 00 00';
const ROOT = new URL('../../', import.meta.url); // dist/bench/ → repository root
const BIN = fileURLToPath(new URL('dist/bin/cardsmith.js', ROOT));
const STACK = fileURLToPath(new URL('scripts/pcsc-stack.sh', ROOT));
const VICC_SCRIPT = fileURLToPath(new URL('bench/vicc.py', ROOT));
// Debian's interpreter, whose dist-packages hold the pycryptodome vicc needs; a pyenv python3 first on PATH would not.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const VICC_PACKAGE = '/usr/lib/python3/site-packages/virtualsmartcard/virtualsmartcard';
/** The goal: cardsmith's card answers each command at least this many times as fast as vicc. */
const GOAL_VS_VICC = 20;
const json = process.argv.includes('--json');

// A reading session's typical traffic against a card with data on it: select, read a
// transparent EF and a record EF by SFI, ask for challenges. The card is a blank sscard that
// `prepare` gives an EF with 12 bytes (SFI 1) and a record EF (SFI 2) first.
const MIX = [
  '00A40000023F00', // SELECT MF (FCP back)
  '00B081000C', // READ BINARY, SFI 1
  '00B2011408', // READ RECORD 1, SFI 2
  '0084000008', // GET CHALLENGE
  '00B0810004', // READ BINARY, SFI 1, 4 bytes
  '0084000004', // GET CHALLENGE (4 bytes)
].map((h) => fromHex(h));

/** Authenticates with the blank card's transport key and creates the two EFs the mix reads. */
async function prepare(tr: Transport): Promise<void> {
  const send = async (hex: string | Uint8Array): Promise<Uint8Array> => {
    const r = await tr.transmit(typeof hex === 'string' ? fromHex(hex) : hex);
    if (r[r.length - 2] !== 0x90) throw new Error(`bench: card preparation failed at ${typeof hex === 'string' ? hex : toHex(hex)}: ${toHex(r)}`);
    return r;
  };
  await send('00A4000C023F00');
  const challenge = (await send('0084000008')).subarray(0, 8);
  await send(concat(fromHex('0082000008'), des3EncryptEcb(DEFAULT_TRANSPORT_KEY, challenge)));
  await send('80E000001562138201018302EF01800200208603000000880108'); // transparent EF01, 32 bytes, SFI 1
  await send('00D600000CCAFEBABE0102030405060708');
  await send('80E00000156213820502210008048302EF028603000000880110'); // linear fixed EF02, 4 × 8, SFI 2
  await send('00E20010081122334455667788');
}

/** The EF01 content `prepare` writes, which vicc's card gets too. */
const EF01 = 'CAFEBABE0102030405060708';

// The commands compared with vicc, the same bytes on both cards. SELECT asks for no data (P2 0C):
// vicc 3.3 fails with a Python TypeError when SELECT asks it for an FCI or FCP.
const PER_COMMAND = [
  { name: 'SELECT MF', hex: '00A4000C023F00' },
  { name: 'READ BINARY', hex: '00B081000C' }, // SFI 1, 12 bytes
] as const;

interface PerCommand {
  name: string;
  command: string;
  /** APDUs per second, the median of the rounds. */
  ours: number;
  vicc?: number;
  /** ours / vicc, the medians' ratio. */
  ratio?: number;
  pass?: boolean;
}

/** vicc's card behind bench/vicc.py: one timing round per request. */
class Vicc {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    this.#lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  /** Starts vicc, or says why it cannot. */
  static async start(): Promise<Vicc | string> {
    if (!existsSync(VICC_PACKAGE)) return `vicc not installed (${VICC_PACKAGE} missing: apt-get install python3-virtualsmartcard python3-pycryptodome)`;
    const child = spawn(PYTHON, [VICC_SCRIPT, EF01], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const spawned = await new Promise<string | undefined>((resolve) => {
      child.once('error', (e) => resolve(e.message));
      child.once('spawn', () => resolve(undefined));
    });
    if (spawned) return `vicc: cannot run ${PYTHON}: ${spawned}`;
    const vicc = new Vicc(child);
    const first = await vicc.#lines.next();
    if (first.done || first.value !== 'ready') {
      child.kill();
      const why = stderr.trim().split('\n').pop() ?? '';
      return `vicc did not start (${why || 'no output'}; does ${PYTHON} have python3-pycryptodome?)`;
    }
    return vicc;
  }

  /** Runs `count` execute() calls of `hex`; ns per call and the last response. */
  async round(hex: string, count: number): Promise<{ ns: number; response: string }> {
    this.#child.stdin.write(`${hex} ${count}\n`);
    const line = await this.#lines.next();
    if (line.done) throw new Error('bench: vicc stopped answering');
    const [ns, response] = line.value.split(' ');
    return { ns: Number(ns), response: (response ?? '').toUpperCase() };
  }

  stop(): void {
    this.#child.stdin.end();
  }
}

/** ns per process() call over `count` calls. */
function ourRound(card: SsCard, command: Uint8Array, count: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) card.process(command);
  return Number(process.hrtime.bigint() - t0) / count;
}

/** Calls per round so that one round lasts about `ms` at the rate `nsPerCall` shows. */
const callsFor = (nsPerCall: number, ms: number): number => Math.max(100, Math.round((ms * 1e6) / nsPerCall));

/**
 * Each command on our card and on vicc's: a warm-up, then `rounds` rounds of about 100 ms each,
 * the order of the two swapped every round, APDUs per second from the medians.
 */
async function perCommand(card: SsCard, vicc: Vicc | undefined, rounds = 9): Promise<PerCommand[]> {
  const out: PerCommand[] = [];
  for (const { name, hex } of PER_COMMAND) {
    const command = fromHex(hex);
    const answer = toHex(card.process(command));
    if (!answer.endsWith('9000')) throw new Error(`bench: ${name} failed on cardsmith's card: ${answer}`);
    ourRound(card, command, 20_000); // warm-up (lets the JIT compile the path)
    const ourCalls = callsFor(ourRound(card, command, 20_000), 100);
    let viccCalls = 0;
    if (vicc) {
      const warm = await vicc.round(hex, 2000);
      if (warm.response !== answer) throw new Error(`bench: ${name}: vicc answers ${warm.response}, cardsmith ${answer}`);
      viccCalls = callsFor((await vicc.round(hex, 2000)).ns, 100);
    }
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (!vicc) {
        ours.push(ourRound(card, command, ourCalls));
        continue;
      }
      if (r % 2 === 0) {
        ours.push(ourRound(card, command, ourCalls));
        theirs.push((await vicc.round(hex, viccCalls)).ns);
      } else {
        theirs.push((await vicc.round(hex, viccCalls)).ns);
        ours.push(ourRound(card, command, ourCalls));
      }
    }
    const result: PerCommand = { name, command: hex, ours: 1e9 / median(ours) };
    if (vicc) {
      result.vicc = 1e9 / median(theirs);
      result.ratio = result.ours / result.vicc;
      result.pass = result.ratio >= GOAL_VS_VICC;
    }
    out.push(result);
  }
  return out;
}

function log(line = ''): void {
  if (!json) console.log(line);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** APDUs per second: median of `rounds` rounds that each last at least `minMs`. */
async function apdusPerSecond(tr: Transport, rounds = 7, minMs = 250): Promise<number> {
  for (let i = 0; i < 200; i++) await tr.transmit(MIX[i % MIX.length]!); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    let ms = 0;
    while (ms < minMs) {
      for (const c of MIX) await tr.transmit(c);
      n += MIX.length;
      ms = Number(process.hrtime.bigint() - t0) / 1e6;
    }
    rates.push((n / ms) * 1000);
  }
  return median(rates);
}

interface Result {
  perCommand: { commands: PerCommand[]; vicc: string; goal: number };
  inProcess: { apdusPerSecond: number; t0ApdusPerSecond: number; nsPerApdu: number };
  pcsc: { skipped: string } | { apdus: number; shim: string; transport: Stats; raw: Stats; ratioMedian: number; ratioP99: number; vsInProcess: number };
}

interface Stats {
  medianNs: number;
  p99Ns: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  return { medianNs: percentile(s, 0.5), p99Ns: percentile(s, 0.99) };
}

async function inProcess(state: string): Promise<Result['inProcess']> {
  const card = createSsCard({ seed: 1 });
  await prepare(new SimulatorTransport(card));
  saveCardImage(card, state); // the same card for `sim serve --state` below and for perCommand
  const plain = new SimulatorTransport(await simCards.create({ kind: 'sscard', interface: 'contact', state }));
  const t0 = new SimulatorTransport(await simCards.create({ kind: 'sscard', interface: 'contact', state, t0: true }));
  const rate = await apdusPerSecond(plain);
  const rateT0 = await apdusPerSecond(t0);
  await plain.close();
  await t0.close();
  return { apdusPerSecond: rate, t0ApdusPerSecond: rateT0, nsPerApdu: 1e9 / rate };
}

const fmtRate = (perSecond: number): string => Math.round(perSecond).toLocaleString('en').padStart(10);

/** SELECT MF and READ BINARY on the prepared card, next to vicc when it runs here. */
async function comparedWithVicc(state: string): Promise<Result['perCommand']> {
  const card = (await simCards.create({ kind: 'sscard', interface: 'contact', state })) as SsCard;
  card.powerOn('contact');
  const vicc = await Vicc.start();
  try {
    const commands = await perCommand(card, typeof vicc === 'string' ? undefined : vicc);
    return { commands, vicc: typeof vicc === 'string' ? `skipped: ${vicc}` : `vsmartcard ${PYTHON} ${VICC_SCRIPT}`, goal: GOAL_VS_VICC };
  } finally {
    if (typeof vicc !== 'string') vicc.stop();
  }
}

async function stackReason(): Promise<{ reason?: string; shim: string }> {
  const st = spawnSync('bash', [STACK, 'status'], { encoding: 'utf8', timeout: 30_000 });
  if (st.status !== 0) return { reason: `PC/SC stack not running (${(st.stdout || st.stderr).split('\n')[0]}); start it with scripts/pcsc-stack.sh start`, shim: '?' };
  const shim = /TCP_NODELAY shim: (\w+)/.exec(st.stdout)?.[1] ?? '?';
  try {
    await loadPcsc();
  } catch (e) {
    return { reason: (e as Error).message, shim };
  }
  if (!existsSync(BIN)) return { reason: `${BIN} is not built (npx tsc -p tsconfig.json)`, shim };
  try {
    await waitForReader(READER, 'empty', { timeoutMs: 3000 });
  } catch (e) {
    return { reason: `reader "${READER}" is busy with another card (${(e as Error).message})`, shim };
  }
  return { shim };
}

async function throughPcsc(state: string, perApduInProcessNs: number): Promise<Result['pcsc']> {
  const { reason, shim } = await stackReason();
  if (reason) return { skipped: reason };
  const release = await takeStackLock(60_000);
  if (!release) return { skipped: 'the PC/SC tests hold the virtual readers; run the bench when they are done' };
  const child = spawn(process.execPath, [BIN, 'sim', 'serve', '--state', state], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const orphanGuard = (): void => void child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  try {
    await waitForReader(READER, 'present', { timeoutMs: 10_000 });
    const api = await loadPcsc();
    const transport = await PcscTransport.open(READER);
    const ctx = new api.Context();
    const reader = ctx.listReaders().find((r) => r.name === READER)!;
    const raw = await reader.connect(api.SCARD_SHARE_SHARED, api.SCARD_PROTOCOL_T0 | api.SCARD_PROTOCOL_T1);
    const rawCommands = MIX.map((c) => Buffer.from(c));
    const tSamples: number[] = [];
    const rSamples: number[] = [];
    const block = 100;
    const blocks = 10;
    for (let i = 0; i < 30; i++) {
      await transport.transmit(MIX[i % MIX.length]!);
      await raw.transmit(rawCommands[i % MIX.length]!, { maxRecvLength: 65538 });
    }
    // Alternate blocks so that drift (CPU frequency, a busy neighbour) hits both loops alike.
    for (let b = 0; b < blocks; b++) {
      for (let i = 0; i < block; i++) {
        const t0 = process.hrtime.bigint();
        await transport.transmit(MIX[i % MIX.length]!);
        tSamples.push(Number(process.hrtime.bigint() - t0));
      }
      for (let i = 0; i < block; i++) {
        const t0 = process.hrtime.bigint();
        await raw.transmit(rawCommands[i % MIX.length]!, { maxRecvLength: 65538 });
        rSamples.push(Number(process.hrtime.bigint() - t0));
      }
    }
    raw.disconnect(api.SCARD_LEAVE_CARD);
    ctx.close();
    await transport.close();
    const t = stats(tSamples);
    const r = stats(rSamples);
    return {
      apdus: tSamples.length,
      shim,
      transport: t,
      raw: r,
      ratioMedian: t.medianNs / r.medianNs,
      ratioP99: t.p99Ns / r.p99Ns,
      vsInProcess: t.medianNs / perApduInProcessNs,
    };
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    await waitForReader(READER, 'empty', { timeoutMs: 5000 }).catch(() => undefined);
    process.off('exit', orphanGuard);
    await release();
  }
}

const work = mkdtempSync(join(tmpdir(), 'cardsmith-bench-'));
const state = join(work, 'card.json');
try {
  log('bench/simulator: cost per APDU, one run on this machine');
  log(`mix: ${MIX.length} commands (SELECT MF, READ BINARY ×2, READ RECORD, GET CHALLENGE ×2), repeated, on a prepared sscard`);
  const inp = await inProcess(state);
  const pc0 = await comparedWithVicc(state);
  log();
  log(`per command: the card's process(), in rounds interleaved with vicc's execute(), medians (vicc: ${pc0.vicc})`);
  for (const c of pc0.commands) {
    const theirs = c.vicc === undefined ? '' : `   vicc ${fmtRate(c.vicc)} APDUs/s   ${c.ratio!.toFixed(1)}×  ${c.pass ? 'PASS' : 'FAIL'} (goal ≥ ${GOAL_VS_VICC}×)`;
    log(`  ${c.name.padEnd(12)} ${c.command.padEnd(15)} cardsmith ${fmtRate(c.ours)} APDUs/s${theirs}`);
  }
  log();
  log(`in-process  SimulatorTransport over sscard   ${Math.round(inp.apdusPerSecond).toLocaleString('en')} APDUs/s  (${fmtNs(inp.nsPerApdu)} per APDU)`);
  log(`in-process  same card in T=0 mode             ${Math.round(inp.t0ApdusPerSecond).toLocaleString('en')} APDUs/s  (61xx/6Cxx resolved by the transport)`);
  const pc = await throughPcsc(state, inp.nsPerApdu);
  log();
  if ('skipped' in pc) {
    log(`PC/SC: skipped: ${pc.skipped}`);
  } else {
    log(`PC/SC  pcscd + vpcd (TCP_NODELAY shim: ${pc.shim}), sim serve as a child process, ${pc.apdus} APDUs per loop`);
    log(`  PcscTransport         median ${fmtNs(pc.transport.medianNs).padStart(9)}   p99 ${fmtNs(pc.transport.p99Ns).padStart(9)}`);
    log(`  raw smartcard loop    median ${fmtNs(pc.raw.medianNs).padStart(9)}   p99 ${fmtNs(pc.raw.p99Ns).padStart(9)}   (the stack's floor)`);
    log(`  ratio PcscTransport / raw: median ${pc.ratioMedian.toFixed(2)}, p99 ${pc.ratioP99.toFixed(2)}`);
    log(`  ratio PC/SC median / in-process per APDU: ${pc.vsInProcess.toFixed(0)}×`);
  }
  if (json) console.log(JSON.stringify({ perCommand: pc0, inProcess: inp, pcsc: pc } satisfies Result));
  else {
    const goal = `≥ ${GOAL_VS_VICC}× vicc for each`;
    const judged = pc0.commands.every((c) => c.ratio !== undefined);
    const measured = pc0.commands.map((c) => `${c.name} ${c.ratio === undefined ? '?' : `${c.ratio.toFixed(1)}×`}`).join(', ');
    log();
    log(verdictLine('simulator per command against vicc', measured, judged ? { goal, pass: pc0.commands.every((c) => c.pass) } : { goal, cannotJudge: pc0.vicc }));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
