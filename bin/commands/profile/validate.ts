import type { CommandModule } from 'yargs';
import { formatDiagnostic, validateProfile, type Diagnostic } from '../../../profiles/index.js';
import type { Ctx } from '../../context.js';
import { EXIT_USAGE } from '../../errors.js';
import { outputOptions } from '../../options.js';
import { profileArg, profilePath } from './common.js';

export function profileValidateCommand(ctx: Ctx): CommandModule {
  return {
    command: 'validate <file>',
    describe: 'check a profile and report every problem as file:line:column: message (hint: …); exit 2 when there is an error',
    builder: (y) =>
      y
        .positional('file', { ...profileArg, demandOption: true })
        .options(outputOptions)
        .example('$0 profile validate card.yaml', 'prints "valid", or each problem and exits 2')
        .example('$0 profile validate builtin:gp-cps --json', '{"valid":true,"errors":0,"warnings":0,"diagnostics":[]}'),
    handler: (argv) => {
      const a = argv as unknown as { file: string; json: boolean };
      const { path, display } = profilePath(a.file);
      const result = validateProfile(path, { display });
      const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
      const warnings = result.diagnostics.length - errors;
      if (a.json) {
        ctx.io.out(JSON.stringify({ file: display, valid: result.ok, errors, warnings, ...(result.profile ? { profile: result.profile.name, hash: result.profile.hash } : {}), diagnostics: result.diagnostics.map(flat) }));
      } else {
        const lines = result.diagnostics.map(formatDiagnostic);
        lines.push(result.ok ? (warnings ? `valid (${plural(warnings, 'warning')})` : 'valid') : `${display}: ${plural(errors, 'error')}${warnings ? `, ${plural(warnings, 'warning')}` : ''}`);
        ctx.io.out(lines.join('\n'));
      }
      if (!result.ok) ctx.exitCode = EXIT_USAGE;
    },
  };
}

function flat(d: Diagnostic): Record<string, string | number> {
  return { severity: d.severity, code: d.code, file: d.loc.file, line: d.loc.line, col: d.loc.col, message: d.message, ...(d.hint ? { hint: d.hint } : {}) };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
