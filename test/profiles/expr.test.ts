// The expression language: parsing (with offsets for every syntax error), static types and
// lengths, evaluation of every function, and the guarantees that make it safe (no eval, no names
// outside the record, parameters, values, the prep date, serials and card facts).
import t from 'tap';
import { fromHex, toHex } from '../../bytes/index.js';
import { compileExpr, evaluate, functionList, parseTemplate, type EvalEnv, type ExprType } from '../../profiles/index.js';
import { bytesType, constantText, textType, type ExprScope } from '../../profiles/expr.js';

const fields: Record<string, ExprType> = {
  name: textType(1, 15, 'any', 30),
  ssn: textType(18, 18, 'upper'),
  birthDate: textType(8, 8, 'digits'),
  pan: textType(12, 19, 'digits'),
  photo: bytesType(1, 8192),
};
const params: Record<string, string | number> = { cityCode: '110100', years: 10, letter: 'A' };
const scope: ExprScope = {
  field: (n) => fields[n],
  fieldNames: () => Object.keys(fields),
  param: (n) => (params[n] === undefined ? undefined : typeof params[n] === 'number' ? { t: 'int', constant: params[n] as number } : constantText(params[n] as string)),
  paramNames: () => Object.keys(params),
  value: (n) => (n === 'body' ? { type: textType(8, 8, 'upper'), phase: 'prep' } : n === 'self' ? 'cycle' : undefined),
  valueNames: () => ['body'],
  key: (n) => (n === 'IRK' ? 'run' : n === 'K' ? 'prep' : undefined),
  keyNames: () => ['IRK', 'K'],
  serial: (n) => n === 'chip',
  serialNames: () => ['chip'],
};

const env: EvalEnv = {
  record: { name: '张三', ssn: '11010519491231002X', birthDate: '19491231', pan: '12345678901234567', photo: 'p.jpg' },
  params,
  value: (n) => (n === 'body' ? 'A0279627' : ''),
  today: '20240115',
  serial: (n) => (n === 'card' ? 279627 : 42),
  card: { atr: fromHex('3B8C80014353D0102030405060708AB'.padEnd(34, '0')), kdd: fromHex('00010203040506070809') },
  mac: (key, data) => Uint8Array.of(key.length, data.length, 0xaa, 0xbb),
  readFile: () => Uint8Array.of(0xff, 0xd8, 0xff),
  fileFields: new Set(['photo']),
};

function run(source: string): string {
  const { expr, issues } = compileExpr(source, scope);
  if (!expr) throw new Error(`${source}: ${issues.map((i) => `${i.offset} ${i.message}`).join('; ')}`);
  const v = evaluate(expr, env);
  return v instanceof Uint8Array ? `hex:${toHex(v)}` : String(v);
}

function issue(source: string): { offset: number; code: string; message: string } {
  const { issues } = compileExpr(source, scope);
  if (issues.length === 0) throw new Error(`${source}: no issue`);
  return issues[0]!;
}

t.test('literals, templates and the $${ escape', async (t) => {
  t.equal(run('plain text'), 'plain text');
  t.equal(run('姓名 ${record.name}'), '姓名 张三');
  t.equal(run('$${not an expression}'), '${not an expression}');
  t.equal(run("${'it\\'s'}"), "it's");
  t.equal(run('${"double"}'), 'double');
  t.equal(run('${param.years} years'), '10 years', 'integers print in templates');
  t.ok(parseTemplate('abc').literal);
  t.notOk(parseTemplate('${record.name}').literal);
});

t.test('every function, evaluated', async (t) => {
  t.equal(run("${concat(param.letter, serial(7))}"), 'A0279627');
  t.equal(run('${concat(value.body, cardNumberCheck(value.body))}'), 'A02796279', 'LD/T 32 example');
  t.equal(run("${cardNumberCheck('B0754118')}"), '4');
  t.equal(run("${cardNumberCheck('F4166531')}"), '5');
  t.equal(run('${gb11643Check(substr(record.ssn, 0, 17))}'), 'X');
  t.equal(run("${luhnCheck('7992739871')}"), '3', 'the Luhn example 79927398713');
  t.equal(run("${pad('7', 3)}"), '007');
  t.equal(run("${pad('7', 3, ' ')}"), '  7');
  t.equal(run("${padRight('ab', 4, '.')}"), 'ab..');
  t.equal(run("${pad('12345', 3)}"), '12345', 'pad never cuts');
  t.equal(run('${substr(record.ssn, 6, 8)}'), '19491231');
  t.equal(run('${substr(record.ssn, 14)}'), '002X');
  t.equal(run("${left('abcdef', 2)}"), 'ab');
  t.equal(run("${right('abcdef', 2)}"), 'ef');
  t.equal(run('${right(card.atr, 8)}'), `hex:${toHex(env.card!.atr!.slice(-8))}`);
  t.equal(run("${upper('ab1')}"), 'AB1');
  t.equal(run("${trim('  x ')}"), 'x');
  t.equal(run("${serial(8, 'chip')}"), '00000042');
  t.equal(run('${addYears(date.today, param.years)}'), '20340115');
  t.equal(run("${addYears('20240229', 1)}"), '20250228', '29 February in a common year');
  t.equal(run("${hex('D156000005')}"), 'hex:D156000005');
  t.equal(run("${bcd('110100')}"), 'hex:110100');
  t.equal(run("${bcd('1', 2)}"), 'hex:0001');
  t.equal(run("${cn('1234', 3)}"), 'hex:1234FF');
  t.equal(run("${ascii('sx')}"), 'hex:7378');
  t.equal(run('${gbk(record.name)}'), 'hex:D5C5C8FD');
  t.equal(run("${gbk('张', 4)}"), 'hex:D5C50000');
  t.equal(run("${concat(ascii(param.cityCode), ascii('sx'))}"), 'hex:3131303130307378', 'PBOC level 1: city code ‖ "sx"');
  t.equal(run("${mac(key.IRK, hex('0102'))}"), 'hex:0302AABB', 'mac goes to the callback with the key name');
  t.equal(run("${optionA(record.pan, '01')}"), 'hex:4567890123456701', 'EMV Option A block (EMV example PAN/PSN)');
  t.equal(run('${record.photo}'), 'hex:FFD8FF', 'a file field evaluates to the file bytes');
  t.equal(run('${card.kdd}'), 'hex:00010203040506070809');
  t.equal(run('${date.today}'), '20240115');
  t.same(
    functionList().map((f) => f.name).sort(),
    ['addYears', 'ascii', 'bcd', 'cardNumberCheck', 'cn', 'concat', 'gb11643Check', 'gbk', 'hex', 'left', 'luhnCheck', 'mac', 'optionA', 'pad', 'padRight', 'right', 'serial', 'substr', 'trim', 'upper'],
    'the documented function list',
  );
});

t.test('types: lengths, character sets, phases', async (t) => {
  const type = (s: string) => compileExpr(s, scope).expr!;
  t.match(type('${record.name}').type, { t: 'text', max: 15, gbkMax: 30, charset: 'any' });
  t.match(type("${concat(param.letter, serial(7))}").type, { t: 'text', min: 8, max: 8, charset: 'upper' });
  t.match(type("${bcd(param.cityCode, 3)}").type, { t: 'bytes', min: 3, max: 3 });
  t.match(type("${hex('0102')}").type, { t: 'bytes', min: 2, max: 2 });
  t.match(type('${substr(record.ssn, 6, 8)}').type, { t: 'text', min: 8, max: 8 });
  t.equal(type('${card.atr}').phase, 'run');
  t.equal(type("${mac(key.IRK, hex('01'))}").phase, 'run', 'a MAC under a run-time key is run-time');
  t.equal(type("${mac(key.K, hex('01'))}").phase, 'prep');
  t.same(type("${concat(record.ssn, serial(3, 'chip'), value.body, param.cityCode)}").refs, { fields: ['ssn'], params: ['cityCode'], values: ['body'], keys: [], serials: ['chip'], card: [] });
});

t.test('syntax errors name their offset', async (t) => {
  t.match(issue('${}'), { offset: 0, code: 'expr-syntax', message: 'empty ${}' });
  t.match(issue('ab ${record.name'), { offset: 3, message: "'${' is not closed" });
  t.match(issue("${concat(record.name, 'x'}"), { offset: 2, message: "concat( is not closed by ')'" });
  t.match(issue("${'open}"), { offset: 2, message: 'not closed' });
  t.match(issue('${record.name + 1}'), { offset: 14, message: "unexpected '+'" });
  t.match(issue('${name}'), { offset: 2, message: "'name' is not a name" });
  t.match(issue('${recrod.name}'), { offset: 2, message: "unknown namespace 'recrod'" });
  t.match(issue('${record.a.b}'), { message: 'one dot only' });
  t.match(issue('${12ab}'), { message: 'runs into letters' });
  t.match(issue('${@}'), { offset: 2, message: "unexpected '@'" });
});

t.test('type errors say what was expected', async (t) => {
  t.match(issue('${record.nmae}'), { offset: 2, code: 'unknown-field', message: "record field 'nmae' is not declared" });
  t.match(issue('${param.nope}'), { code: 'unknown-param' });
  t.match(issue('${value.nope}'), { code: 'unknown-value' });
  t.match(issue('${value.self}'), { code: 'value-cycle' });
  t.match(issue('${date.yesterday}'), { code: 'unknown-name' });
  t.match(issue('${card.pin}'), { code: 'unknown-name' });
  t.match(issue('${key.NOPE}'), { code: 'unknown-key-ref' });
  t.match(issue('${paad(1)}'), { code: 'unknown-function', message: "unknown function 'paad'" });
  t.match(issue('${pad(1)}'), { code: 'expr-arity' });
  t.match(issue("${concat(hex('01'), 'x')}"), { message: 'cannot mix text and bytes' });
  t.match(issue('${cardNumberCheck(record.ssn)}'), { message: 'needs 8 characters' });
  t.match(issue('${cardNumberCheck(record.name)}'), { message: 'needs the characters 0-9 and A-Z only' });
  t.match(issue("${gb11643Check('123')}"), { message: 'needs 17 digits' });
  t.match(issue('${bcd(record.ssn)}'), { message: 'other than digits' });
  t.match(issue('${bcd(record.birthDate, 3)}'), { message: 'up to 8 digits do not fit in 3 bytes' });
  t.match(issue("${hex('XY')}"), { message: 'hex:' });
  t.match(issue('${ascii(record.name)}'), { message: 'outside ASCII' });
  t.match(issue('${gbk(record.name, 20)}'), { message: 'up to 30 GBK bytes does not fit in 20' });
  t.match(issue("${mac('IRK', hex('01'))}"), { message: 'must name a key' });
  t.match(issue('${mac(key.IRK, record.name)}'), { message: 'must be bytes' });
  t.match(issue('${upper(key.IRK)}'), { message: 'only be used as the first argument of mac' });
  t.match(issue("${serial(8, 'nope')}"), { message: "serial counter 'nope' is not declared" });
  t.match(issue('${serial(0)}'), { message: 'must be 1 to 19' });
  t.match(issue('${serial(record.name)}'), { message: 'whole number' });
  t.match(issue('${substr(record.ssn, 20)}'), { message: 'past the end' });
  t.match(issue('${addYears(record.name, 1)}'), { message: 'needs a date of 8 digits' });
  t.match(issue("${optionA(record.pan, '1')}"), { message: 'PSN must be 2 digits' });
  t.match(issue("${pad('1', 3, 'ab')}"), { message: 'one character' });
  t.match(issue('x ${hex(\'01\')} y'), { code: 'expr-type', message: 'a value inside text must be text' });
});

t.test('evaluation errors: what cannot be computed for this card', async (t) => {
  const ev = (s: string, e: Partial<EvalEnv> = {}) => () => evaluate(compileExpr(s, scope).expr!, { ...env, ...e });
  t.throws(ev('${serial(2)}'), { name: 'ExprEvalError', message: "serial counter 'card' reached 279627, which does not fit in 2 digits" });
  t.throws(ev('${card.atr}', { card: undefined }), { message: 'known only at run time' });
  t.throws(ev('${card.kdd}', { card: { kdd: fromHex('0102') } }), { message: 'must be 10 bytes' });
  t.throws(ev("${mac(key.IRK, hex('01'))}", { mac: undefined }), { message: "needs the card's keys" });
  t.throws(ev('${record.photo}', { readFile: undefined }), { message: 'cannot read files' });
  t.throws(ev('${cardNumberCheck(value.body)}', { value: () => 'a0279627' }), { message: 'is not 0-9 or A-Z' });
  t.throws(ev("${ascii(trim(value.body))}", { value: () => '张三' }), { message: 'outside printable ASCII' });
  t.throws(ev('${record.name}', { record: {} }), { message: "record field 'name' is missing" });
});

t.test('no eval: a value that looks like JavaScript is just a syntax error', async (t) => {
  for (const src of ['${process.exit(1)}', '${require("fs")}', '${constructor.constructor("x")()}', '${this}', '${(1)}']) {
    const r = compileExpr(src, scope);
    t.notOk(r.expr, src);
    t.ok(r.issues.length > 0);
  }
});
