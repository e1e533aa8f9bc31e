import t from 'tap';
import { fromHex } from '../bytes/index.js';
t.same(fromHex('0102'), new Uint8Array([1, 2]));
