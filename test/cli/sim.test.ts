// `cardsmith sim serve` without pcscd: option checks (exit 2), the interface → vpcd port plan, and
// --help with examples on every new command. The serving itself is tested against a fake vpcd in
// test/cli/sim-serve.test.ts and against the real stack in test/transport/sscard-pcsc.test.ts.
import t from 'tap';
import { parseHostPort, servedInterfaces } from '../../bin/commands/sim/serve.js';
import { cli, cliProcess } from '../helpers/cli.js';
import { binSkipReason } from '../helpers/pcsc.js';

t.test('bad options exit 2 with one line', async (t) => {
  const cases: [string[], RegExp][] = [
    [['sim', 'serve', '--card', 'visa'], /Invalid values:/],
    [['sim', 'serve', '--vpcd', 'localhost'], /--vpcd: expected HOST:PORT \(e\.g\. 127\.0\.0\.1:35963\), got "localhost"/],
    [['sim', 'serve', '--vpcd', 'localhost:70000'], /--vpcd: expected HOST:PORT/],
    [['sim', 'serve', '--seed', 'abc'], /--seed: seed must be an integer 0\.\.4294967295/],
    [['sim', 'serve', '--interface', 'both', '--vpcd', ':65535'], /PORT must be below 65535/],
    [['sim', 'serve', '--interface', 'nfc'], /Invalid values:/],
    [['sim'], /name a sim command|Not enough non-option arguments/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.err, re, args.join(' '));
    if (!/Invalid values/.test(r.err)) t.equal(r.err.trim().split('\n').length, 1, 'one line');
  }
});

t.test('--vpcd forms and the port of each interface', async (t) => {
  t.same(parseHostPort('127.0.0.1:35963'), { host: '127.0.0.1', port: 35963 });
  t.same(parseHostPort('vpcd.example:1'), { host: 'vpcd.example', port: 1 });
  t.same(parseHostPort(':4000'), { host: '127.0.0.1', port: 4000 });
  t.same(parseHostPort('4000'), { host: '127.0.0.1', port: 4000 });
  t.same(parseHostPort('[::1]:4000'), { host: '::1', port: 4000 });
  t.same(servedInterfaces('contact', undefined), [{ interface: 'contact', host: '127.0.0.1', port: 35963 }]);
  t.same(servedInterfaces('contactless', undefined), [{ interface: 'contactless', host: '127.0.0.1', port: 35964 }]);
  t.same(servedInterfaces('both', undefined), [
    { interface: 'contact', host: '127.0.0.1', port: 35963 },
    { interface: 'contactless', host: '127.0.0.1', port: 35964 },
  ]);
  t.same(servedInterfaces('contactless', 'h:5000'), [{ interface: 'contactless', host: 'h', port: 5000 }]);
  t.same(servedInterfaces('both', 'h:5000').map((x) => x.port), [5000, 5001]);
});

t.test('--help of readers, apdu, sim and sim serve: examples and --json', { skip: binSkipReason() }, async (t) => {
  const top = cliProcess(['--help']);
  for (const name of ['readers', 'apdu', 'sim <command>']) t.match(top.out, name, `top-level help lists ${name}`);
  for (const args of [['readers'], ['apdu'], ['sim', 'serve']]) {
    const r = cliProcess([...args, '--help']);
    t.equal(r.code, 0, `${args.join(' ')} --help`);
    t.match(r.out, /Examples:/, `${args.join(' ')} has examples`);
    t.match(r.out, /--json/, `${args.join(' ')} has --json`);
  }
  const sim = cliProcess(['sim', '--help']);
  t.match(sim.out, /Examples:/);
  t.match(cliProcess(['sim', 'serve', '--help']).out, /--interface.*contact.*contactless.*both/s);
});
