// `cardsmith gp cap FILE`: what is in a CAP or IJC file (JCVM chapter 6), offline: package AID,
// version and name, applets, imports, components, load file size and hashes (GP 2.3.1 §C.2).
import type { CommandModule } from 'yargs';
import { toHex } from '../../../bytes/index.js';
import type { Ctx } from '../../context.js';
import { emit } from '../../io.js';
import { outputOptions } from '../../options.js';
import { readCap } from './common.js';

export function capCommand(ctx: Ctx): CommandModule {
  return {
    command: 'cap <file>',
    describe: 'show a CAP/IJC file: package, applets, imports, components, load file size and hashes',
    builder: (y) =>
      y
        .positional('file', { type: 'string', demandOption: true, describe: 'the .cap or .ijc file' })
        .options({ 'include-descriptor': { type: 'boolean', default: false, describe: 'count the Descriptor component in the load file (GPPro leaves it out)' }, ...outputOptions })
        .example('$0 gp cap applet.cap', 'package, applets and hashes')
        .example('$0 gp cap applet.cap --include-descriptor --json', 'as JSON, load file with the Descriptor component'),
    handler: (argv) => {
      const a = argv as unknown as { file: string; 'include-descriptor': boolean; json: boolean };
      const cap = readCap(a.file);
      const opts = { includeDescriptor: a['include-descriptor'] };
      const result = {
        file: a.file,
        format: cap.format,
        package: { aid: toHex(cap.packageAid), version: `${cap.packageVersion.major}.${cap.packageVersion.minor}`, name: cap.packageName },
        capVersion: `${cap.capVersion.major}.${cap.capVersion.minor}`,
        applets: cap.applets.map((x) => toHex(x.aid)),
        imports: cap.imports.map((i) => ({ aid: toHex(i.aid), version: `${i.major}.${i.minor}`, ...(i.name ? { name: i.name } : {}) })),
        components: cap.components.map((c) => ({ name: c.name, tag: c.tag, size: c.size })),
        loadFileSize: cap.codeSize(opts),
        sha1: toHex(cap.loadFileDataBlockHash('sha1', opts)),
        sha256: toHex(cap.loadFileDataBlockHash('sha256', opts)),
      };
      const text = [
        `Package    ${result.package.aid} version ${result.package.version}${cap.packageName ? ` (${cap.packageName})` : ''}, CAP format ${result.capVersion}`,
        `Applets    ${result.applets.join(', ') || '(library package)'}`,
        `Imports    ${result.imports.map((i) => `${i.aid} ${i.version}${i.name ? ` ${i.name}` : ''}`).join(', ')}`,
        `Components ${result.components.map((c) => `${c.name} ${c.size}`).join(', ')}`,
        `Load file  ${result.loadFileSize} bytes${opts.includeDescriptor ? ' (with Descriptor)' : ' (without Descriptor)'}`,
        `SHA-1      ${result.sha1}`,
        `SHA-256    ${result.sha256}`,
      ].join('\n');
      emit(ctx.io, a.json, result, text);
    },
  };
}
