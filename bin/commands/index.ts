// The top-level commands as light descriptors: what `cardsmith --help` lists, and where each
// command's module is. A command's module (and the library and native packages behind it) is
// imported only when that command is parsed, so --version and --help start in a fraction of the time.
// This file imports nothing but types: it is what every start of the CLI loads.
import type { Argv, CommandModule } from 'yargs';
import type { Ctx } from '../context.js';

interface About {
  command: string;
  describe: string;
}

/** Registration order is the order `cardsmith --help` lists them in. */
const ABOUT = {
  crypto: { command: 'crypto <command>', describe: 'stateless calculators: KCV, key derivation, ciphers, MACs, hashes, SM2' },
  gp: { command: 'gp <command>', describe: 'GlobalPlatform cards: info, list, load/install CAP files, delete, keys, lock, personalize (SCP02/SCP03)' },
  keys: { command: 'keys <command>', describe: 'the issuer key store: ceremonies, rotation, audit, derivation KCVs and the SM2 card CA (docs/keys.md)' },
  profile: { command: 'profile <command>', describe: 'card profiles: check one, show its file tree and keys, print the JSON Schema' },
  prep: { command: 'prep', describe: 'data preparation: turn a batch of records into one personalization script per card (secrets sealed)' },
  selftest: { command: 'selftest', describe: 'check this installation against every published known-answer vector in test-vectors/' },
  readers: { command: 'readers', describe: 'list the PC/SC readers and whether a card is in each (with its ATR)' },
  apdu: { command: 'apdu [apdus..]', describe: 'send command APDUs (arguments or a script file) to a card and show the responses' },
  sim: { command: 'sim <command>', describe: "the card simulator: serve it to PC/SC programs through vsmartcard's vpcd" },
  run: { command: 'run <dir>', describe: 'personalize a prepared batch on card stations (printers, readers or simulated), journaled' },
  report: { command: 'report <dir>', describe: 'summarize a batch from its journal: counts, reject reasons, stations, timings, duplicates' },
  demo: { command: 'demo', describe: 'the whole job on simulated cards: a demo key store, prep of the example batch, a run on 4 simulated stations, the report' },
  verify: { command: 'verify <dir>', describe: "check a batch's cards: the journal's verification summary, re-verify the card in a reader, or the cards simulated printers kept" },
  script: { command: 'script <command>', describe: "a batch folder's card scripts: show one readably, export a plain one for cardsmith apdu --script" },
  audit: { command: 'audit', describe: 'hash-chained audit logs: verify a batch audit log (DIR/audit.log) or any cardsmith audit log' },
  serials: { command: 'serials', describe: 'the serial registry: card numbers allocated across batches without gaps or repeats' },
  registry: { command: 'registry', describe: "the bureau's issuance registry: every card ever issued (keyed hashes of ID numbers, never the numbers)" },
  rework: { command: 'rework', describe: "an operator's decision on one record: requeue it, or resolve a record in review (journal, registry and audit log)" },
} satisfies Record<string, About>;

export type CommandName = keyof typeof ABOUT;

export const COMMAND_NAMES = Object.keys(ABOUT) as CommandName[];

/** The command string and description of a top-level command (its module spreads them in). */
export function about(name: CommandName): About {
  return ABOUT[name];
}

type Factory = (ctx: Ctx) => CommandModule;

const LOAD: Record<CommandName, () => Promise<Factory>> = {
  crypto: async () => (await import('./crypto/index.js')).cryptoCommand,
  gp: async () => (await import('./gp/index.js')).gpCommand,
  keys: async () => (await import('./keys/index.js')).keysCommand,
  profile: async () => (await import('./profile/index.js')).profileCommand,
  prep: async () => (await import('./prep.js')).prepCommand,
  selftest: async () => (await import('./selftest.js')).selftestCommand,
  readers: async () => (await import('./readers.js')).readersCommand,
  apdu: async () => (await import('./apdu.js')).apduCommand,
  sim: async () => (await import('./sim/index.js')).simCommand,
  run: async () => (await import('./run.js')).runCommand,
  report: async () => (await import('./report.js')).reportCommand,
  demo: async () => (await import('./demo.js')).demoCommand,
  verify: async () => (await import('./verify.js')).verifyCommand,
  script: async () => (await import('./script.js')).scriptCommand,
  audit: async () => (await import('./audit.js')).auditCommand,
  serials: async () => (await import('./serials.js')).serialsCommand,
  registry: async () => (await import('./rework.js')).registryCommand,
  rework: async () => (await import('./rework.js')).reworkCommand,
};

/**
 * A top-level command whose module loads when yargs runs its builder, i.e. only when that command
 * is on the command line (yargs awaits an async builder); its handler is the loaded one.
 */
export function lazyCommand(ctx: Ctx, name: CommandName): CommandModule {
  let loaded: CommandModule | undefined;
  return {
    ...ABOUT[name],
    builder: async (y: Argv) => {
      loaded = (await LOAD[name]())(ctx);
      const build = loaded.builder;
      return typeof build === 'function' ? build(y) : y.options(build ?? {});
    },
    handler: (argv) => loaded!.handler(argv),
  };
}
