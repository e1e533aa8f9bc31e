// The streaming CSV reader (RFC 4180): quoting, doubled quotes, line breaks inside quotes, CRLF,
// a BOM, the line and column of every field — and the same result however the text is chunked.
import t from 'tap';
import { parseCsv, splitLines, type CsvItem } from '../../personalization/batch/index.js';

async function* chunks(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function parse(text: string, size = 1 << 20): Promise<CsvItem[]> {
  const out: CsvItem[] = [];
  for await (const item of parseCsv(chunks(text, size))) out.push(item);
  return out;
}

const rows = (items: CsvItem[]) => items.map((i) => (i.kind === 'row' ? i.fields.map((f) => f.value) : `${i.kind}:${i.code}@${i.line}:${i.col}`));

t.test('fields, quotes, doubled quotes, embedded commas and line breaks', async (t) => {
  const text = 'a,b,c\n1,"x, y","say ""hi"""\n"multi\nline",,end\n';
  t.same(rows(await parse(text)), [['a', 'b', 'c'], ['1', 'x, y', 'say "hi"'], ['multi\nline', '', 'end']]);
});

t.test('lines and columns of fields; a record spanning lines keeps its first line', async (t) => {
  const items = await parse('h1,h2\n"a\nb",张三\nx,y\n');
  const r = items[1]!;
  t.equal(r.kind, 'row');
  if (r.kind !== 'row') return;
  t.equal(r.line, 2);
  t.same(r.fields.map((f) => [f.line, f.col]), [[2, 1], [3, 4]]);
  t.equal((items[2] as { line: number }).line, 4);
});

t.test('CRLF, CR, a BOM, blank lines and a missing final newline', async (t) => {
  t.same(rows(await parse('\uFEFFa,b\r\n1,2\r\n\r\n3,4')), [['a', 'b'], ['1', '2'], ['3', '4']]);
  t.same(rows(await parse('a\r1\r2\r')), [['a'], ['1'], ['2']]);
  t.same(rows(await parse('a,b\n"1","2"')), [['a', 'b'], ['1', '2']]);
  t.same(rows(await parse('a,\n')), [['a', '']], 'a trailing empty field');
  t.same(rows(await parse('')), []);
});

t.test('malformed records: reported with their place, reading goes on', async (t) => {
  t.same(rows(await parse('a,b\n1,x"y\n2,3\n')), [['a', 'b'], 'error:csv-quote@2:4', ['2', '3']]);
  t.same(rows(await parse('a,b\n"1"x,2\n3,4\n')), [['a', 'b'], 'error:csv-quote@2:4', ['3', '4']]);
  t.same(rows(await parse('a,b\n1,"open\n2,3\n')), [['a', 'b'], 'fatal:csv-unclosed-quote@2:3']);
});

t.test('chunk boundaries anywhere give the same result (CRLF and quotes split too)', async (t) => {
  const text = 'ssn,name\r\n110105198503120215,"张""伟"\r\n"a\r\nb",c\r\n';
  const whole = rows(await parse(text));
  for (const size of [1, 2, 3, 5, 7]) t.same(rows(await parse(text, size)), whole, `chunks of ${size}`);
  t.same(whole, [['ssn', 'name'], ['110105198503120215', '张"伟'], ['a\nb', 'c']]);
});

t.test('JSON Lines: lines with numbers, across chunks', async (t) => {
  const out: [number, string][] = [];
  for await (const l of splitLines(chunks('{"a":1}\r\n\n{"b":2}\n{"c":3}', 3))) out.push([l.line, l.text]);
  t.same(out, [[1, '{"a":1}'], [2, ''], [3, '{"b":2}'], [4, '{"c":3}']]);
});
