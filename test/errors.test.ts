// The one error model: every error class of the project (found by scanning the sources, so a new
// one cannot be missed) is a CardsmithError with the kind listed here, keeps its name, and the
// kind alone gives the exit code (exitCodeOf) and what a station does (faultOf).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import { CardsmithError, ERROR_KINDS, exitCodeOf, faultOf, type ErrorKind } from '../errors/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Every error class's kind; 'varies' for the classes whose kind depends on their data (tested below). */
const KINDS: Record<string, ErrorKind | 'varies' | 'abstract'> = {
  UsageError: 'input',
  OperationFailed: 'operation',
  HexError: 'input',
  Iso7816Error: 'input',
  StatusWordError: 'operation',
  PaddingError: 'operation',
  SecureChannelError: 'operation',
  CardCryptogramError: 'key',
  AuthenticationError: 'operation',
  ResponseProtectionError: 'card',
  ZipError: 'input',
  GpError: 'operation',
  GpCommandError: 'operation',
  IsdNotFoundError: 'operation',
  KcvMismatchError: 'operation',
  CapFileError: 'input',
  GpDataError: 'card',
  CardRemovedError: 'card',
  ReaderError: 'station',
  TransportClosedError: 'card',
  CardProtocolError: 'card',
  PcscUnavailableError: 'station',
  ReaderSpecError: 'input',
  ScriptError: 'input',
  SimStateError: 'input',
  JpegError: 'input',
  FontError: 'operation',
  ImageError: 'input',
  FaceError: 'input',
  PngError: 'input',
  // An error raised in a worker thread (card faces, prep's card builders), rebuilt with the original's name and kind.
  WorkerError: 'varies',
  StationsFileError: 'input',
  PrinterError: 'varies',
  PrinterLinkError: 'station',
  StationPausedError: 'station',
  CardUnresponsiveError: 'card',
  EncoderTimeoutError: 'card',
  MoverError: 'station',
  GpImageError: 'input',
  AppletException: 'card',
  CardError: 'card',
  ExampleHostError: 'operation',
  PowerCut: 'card',
  SwError: 'card',
  CardMemoryError: 'card',
  CardImageError: 'varies',
  ExprSyntaxError: 'input',
  ExprEvalError: 'operation',
  ProfileError: 'input',
  KeyStoreError: 'abstract',
  KeyStoreAccessError: 'operation',
  KeyNotFoundError: 'input',
  KeyUsageError: 'input',
  CeremonyError: 'operation',
  UnsupportedAlgorithmError: 'operation',
  HsmError: 'operation',
  AuditError: 'operation',
  CertificateError: 'input',
  SealError: 'operation',
  BatchInputError: 'input',
  PrepError: 'varies',
  JournalError: 'input',
  JournalNotFoundError: 'input',
  JournalMismatchError: 'input',
  JournalInputError: 'input',
  StaleClaimError: 'operation',
  DoubleIssueError: 'card',
  JournalStateError: 'input',
  ResumeNeededError: 'input',
  RunLockedError: 'operation',
  StepError: 'varies',
  ScriptFormatError: 'input',
  RegistryConflictError: 'operation',
  RegistryStateError: 'operation',
  RegistryFileError: 'input',
  ReworkError: 'input',
  HolderKeyError: 'input',
  SerialRegistryError: 'operation',
  BatchError: 'input',
};

type Ctor = new (...args: unknown[]) => Error;

/** Constructors that need more than a message to build. */
const SAMPLES: Record<string, (C: Ctor) => Error> = {
  StatusWordError: (C) => new C(0x6a82, { ins: 0xa4 }),
  CardCryptogramError: (C) => new C('scp03', new Uint8Array(8), new Uint8Array(8), { enc: 'AAAAAA', mac: 'BBBBBB', dek: 'CCCCCC' }),
  GpCommandError: (C) => new C('INSTALL', 0x6985),
  StationsFileError: (C) => new C([{ file: 'stations.yaml', line: 1, col: 1, message: 'x' }]),
  ProfileError: (C) => new C([]),
  BatchError: (C) => new C('cards.csv', { line: 2, code: 'x', problem: 'x' }),
};

/** Project folders (tsconfig's include without the tests). */
function sourceFolders(): string[] {
  const config = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { include: string[] };
  return config.include.filter((d) => d !== 'test');
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

interface Found {
  name: string;
  base: string;
  file: string;
  exported: boolean;
}

/** Every `class X extends Y` of the sources, and those whose chain reaches a built-in error. */
function errorClasses(): Found[] {
  const all: Found[] = [];
  for (const dir of sourceFolders()) {
    for (const file of tsFiles(join(root, dir))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/^[ \t]*(export\s+)?(?:abstract\s+)?class\s+(\w+)(?:<[^>]*>)?\s+extends\s+(\w+)/gm)) {
        all.push({ name: m[2]!, base: m[3]!, file: relative(root, file), exported: m[1] !== undefined });
      }
    }
  }
  const byName = new Map(all.map((c) => [c.name, c]));
  const isError = (c: Found, seen = new Set<string>()): boolean => {
    if (/^(Error|TypeError|RangeError|SyntaxError|CardsmithError)$/.test(c.base)) return true;
    const parent = byName.get(c.base);
    return parent !== undefined && !seen.has(c.name) && isError(parent, seen.add(c.name));
  };
  // CardsmithError itself (errors/index.ts) is the base, not one of the classes.
  return all.filter((c) => c.name !== 'CardsmithError' && isError(c));
}

const found = errorClasses();

t.test('every error class of the project is a CardsmithError with its kind and its name', async (t) => {
  t.ok(found.length >= Object.keys(KINDS).length, `${found.length} error classes found in the sources`);
  for (const c of found) {
    t.ok(c.exported, `${c.name} (${c.file}) is exported, so that callers can tell it apart`);
    t.ok(c.name in KINDS, `${c.name} (${c.file}) has its kind listed in test/errors.test.ts`);
    const mod = (await import(pathToFileURL(join(root, c.file.replace(/\.ts$/, '.js'))).href)) as Record<string, unknown>;
    const C = mod[c.name] as Ctor | undefined;
    if (!t.type(C, 'function', `${c.name} is exported by ${c.file}`) || !C) continue;
    t.ok(C.prototype instanceof CardsmithError, `${c.name} (${c.file}) extends CardsmithError`);
    const expected = KINDS[c.name];
    if (expected === 'varies' || expected === 'abstract' || !(C.prototype instanceof CardsmithError)) continue;
    const e = (SAMPLES[c.name] ?? ((K: Ctor) => new K('message')))(C) as CardsmithError;
    t.equal(e.kind, expected, `${c.name} is of kind ${expected}`);
    t.equal(e.name, c.name, `${c.name} keeps its name`);
  }
  t.same(Object.keys(KINDS).filter((n) => !found.some((c) => c.name === n)), [], 'no class listed here is missing from the sources');
});

t.test('the classes whose kind depends on their data', async (t) => {
  const { PrinterError } = await import('../stations/errors.js');
  t.equal(new PrinterError('x', 'jam', 'CARD JAM', true).kind, 'station', 'a jam pauses the station');
  t.equal(new PrinterError('x', 'error', 'ERROR MAG', false).kind, 'card', 'any other refusal rejects the card');

  const { WorkerError } = await import('../errors/threads.js');
  const remote = new WorkerError('FaceError', 'face: photo.jpg: not a JPEG or PNG', 'input');
  t.ok(remote.name === 'FaceError' && remote.kind === 'input', 'a worker thread error keeps the name and kind of the error the worker raised');

  const { CardImageError } = await import('../simulator/errors.js');
  t.equal(new CardImageError('card image x: not valid JSON', 'x').kind, 'input', 'a bad card image');
  const { writeJsonAtomicSync } = await import('../simulator/core/json-file.js');
  const written = t.throws(() => writeJsonAtomicSync(join(root, 'no-such-folder', 'card.json'), {})) as unknown;
  t.ok(written instanceof CardImageError && written.kind === 'operation', 'a card image that cannot be written: an operation that failed (exit 1)');

  const { PrepError } = await import('../personalization/prep/errors.js');
  t.equal(new PrepError('x').kind, 'input');
  t.equal(new PrepError('x', 'operation').kind, 'operation');

  const { StepError } = await import('../personalization/runner/executor.js');
  const { ReaderError, CardRemovedError } = await import('../transport/transport.js');
  const step = (options?: ConstructorParameters<typeof StepError>[8]) => new StepError('record r1: steps[0] x', 'r1', 'steps', 0, 'apdu', undefined, undefined, true, options);
  t.equal(step().kind, 'card', 'a step that failed on its own is the card');
  t.equal(step({ cause: new ReaderError('pcscd down') }).kind, 'station', 'a reader gone in the middle of a step is the station');
  t.equal(step({ cause: new CardRemovedError('gone') }).kind, 'card');
  t.equal(step({ cause: step({ cause: new ReaderError('x') }) }).kind, 'card', 'a step error inside a step error is the card');
  t.equal(step({ keyFault: { side: 'card' } }).kind, 'key', 'a batch key the card refused');
  t.equal(step({ keyFault: { side: 'host' }, cause: new ReaderError('x') }).kind, 'key', 'the key fault wins');
});

t.test('exitCodeOf: the kind decides; TypeError and RangeError are bad input; anything else fails', async (t) => {
  class Of extends CardsmithError {
    constructor(readonly kind: ErrorKind) {
      super(kind);
    }
  }
  const codes = Object.fromEntries(ERROR_KINDS.map((k) => [k, exitCodeOf(new Of(k))]));
  t.same(codes, { input: 2, operation: 1, station: 1, card: 1, key: 1 });
  t.equal(exitCodeOf(new TypeError('data: expected a Uint8Array')), 2);
  t.equal(exitCodeOf(new RangeError('length out of range')), 2);
  t.equal(exitCodeOf(new Error('something else')), 1);
  t.equal(exitCodeOf('a string'), 1);
  t.equal(exitCodeOf(undefined), 1);
});

t.test('faultOf: a station fault pauses, a key fault stops, everything else rejects the card', async (t) => {
  class Of extends CardsmithError {
    constructor(readonly kind: ErrorKind) {
      super(kind);
    }
  }
  const faults = Object.fromEntries(ERROR_KINDS.map((k) => [k, faultOf(new Of(k))]));
  t.same(faults, { input: 'reject', operation: 'reject', station: 'pause', card: 'reject', key: 'stop' });
  t.equal(faultOf(new Error('6982')), 'reject');
  t.equal(faultOf('a string'), 'reject');
});
