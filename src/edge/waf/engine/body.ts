import type { Variables } from './collections.ts';
import { addArgument, parseArguments } from './request.ts';

/** Which request body processor runs: chosen by Content-Type, or by `ctl:requestBodyProcessor`. */
export type BodyProcessor = 'URLENCODED' | 'MULTIPART' | 'JSON' | 'XML';

/**
 * Runs the body processor over the body (a Latin-1 string) and records the outcome in REQBODY_ERROR,
 * REQBODY_ERROR_MSG and REQBODY_PROCESSOR_ERROR, as ModSecurity does before phase 2.
 */
export function processBody(
  v: Variables,
  processor: BodyProcessor | undefined,
  body: string,
  contentType: string | undefined,
): void {
  let error: string | undefined;
  if (processor === 'URLENCODED') {
    const args = parseArguments(body);
    if (args.invalid) v.setScalar('URLENCODED_ERROR', '1');
    for (const [k, val] of args.pairs) addArgument(v, 'POST', k, val);
  } else if (processor === 'MULTIPART') {
    error = multipart(v, body, contentType ?? '');
    if (error !== undefined) error = `Multipart parsing error: ${error}`;
  } else if (processor === 'JSON') {
    if (body.length > 0) {
      const e = json(v, body);
      if (e !== undefined) error = `JSON parsing error: ${e}`;
    }
  } else if (processor === 'XML') {
    // No XML processor: the XML collection stays empty and the body is an error to the rules that
    // look (ModSecurity built without libxml2 answers the same).
    if (body.length > 0) error = 'XML parsing error: no XML processor';
  }
  v.setScalar('REQBODY_ERROR', error === undefined ? '0' : '1');
  v.setScalar('REQBODY_PROCESSOR_ERROR', error === undefined ? '0' : '1');
  if (error !== undefined) {
    v.setScalar('REQBODY_ERROR_MSG', error);
    v.setScalar('REQBODY_PROCESSOR_ERROR_MSG', error);
  }
}

/** UTF-8 bytes of a code point, as a Latin-1 string (the body's representation). */
function utf8(cp: number): string {
  return Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1');
}

/**
 * A JSON body as ModSecurity's yajl processor names it: `json.a.b` for objects, `json.a.array_0` for
 * arrays, numbers as written, booleans `true`/`false`, null as an empty value. A hand-written reader
 * because JSON.parse loses number spellings and duplicate keys.
 */
function json(v: Variables, s: string): string | undefined {
  let i = 0;
  type Container = { name: string; array: boolean; count: number };
  const stack: Container[] = [];
  let key = '';
  const ws = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  };
  // ModSecurity's getCurrentKey: "json" at the root, "" inside an array, and the key is used up.
  const current = (): string => {
    if (stack.length === 0) return 'json';
    if (key === '') return stack.at(-1)!.array ? '' : 'empty-key';
    const k = key;
    key = '';
    return k;
  };
  const add = (value: string) => {
    let path = '';
    for (const c of stack) path += c.array ? `${c.name}.array_${c.count}` : `${c.name}.`;
    const top = stack.at(-1);
    let data = '';
    if (top?.array) top.count++;
    else if (top) data = current();
    addArgument(v, 'POST', path + data, value);
  };
  const str = (): string => {
    i++;
    let out = '';
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\') {
        const e = s[i + 1];
        i += 2;
        if (e === 'u') {
          let cp = Number.parseInt(s.slice(i, i + 4), 16);
          if (Number.isNaN(cp)) throw new Error('invalid \\u escape');
          i += 4;
          if (cp >= 0xd800 && cp < 0xdc00 && s[i] === '\\' && s[i + 1] === 'u') {
            const lo = Number.parseInt(s.slice(i + 2, i + 6), 16);
            if (lo >= 0xdc00 && lo < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
              i += 6;
            }
          }
          out += utf8(cp);
        } else {
          const map: Record<string, string> = {
            '"': '"',
            '\\': '\\',
            '/': '/',
            b: '\b',
            f: '\f',
            n: '\n',
            r: '\r',
            t: '\t',
          };
          const m = e === undefined ? undefined : map[e];
          if (m === undefined) throw new Error(`invalid escape \\${e ?? ''}`);
          out += m;
        }
      } else out += s[i++];
    }
    if (s[i] !== '"') throw new Error('unterminated string');
    i++;
    return out;
  };
  const endChild = () => {
    const top = stack.at(-1);
    if (top?.array) top.count++;
  };
  const value = (depth: number): void => {
    if (depth > 512) throw new Error('nesting too deep');
    ws();
    const c = s[i];
    if (c === '{') {
      stack.push({ name: current(), array: false, count: 0 });
      i++;
      ws();
      if (s[i] === '}') i++;
      else {
        for (;;) {
          ws();
          if (s[i] !== '"') throw new Error(`expected a key at byte ${i}`);
          key = str();
          ws();
          if (s[i] !== ':') throw new Error(`expected ':' at byte ${i}`);
          i++;
          value(depth + 1);
          ws();
          if (s[i] === ',') i++;
          else if (s[i] === '}') {
            i++;
            break;
          } else throw new Error(`expected ',' or '}' at byte ${i}`);
        }
      }
      stack.pop();
      endChild();
    } else if (c === '[') {
      stack.push({ name: current(), array: true, count: 0 });
      i++;
      ws();
      if (s[i] === ']') i++;
      else {
        for (;;) {
          value(depth + 1);
          ws();
          if (s[i] === ',') i++;
          else if (s[i] === ']') {
            i++;
            break;
          } else throw new Error(`expected ',' or ']' at byte ${i}`);
        }
      }
      stack.pop();
      endChild();
    } else if (c === '"') {
      add(str());
    } else {
      const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(s.slice(i, i + 400));
      if (!m) throw new Error(`unexpected input at byte ${i}`);
      i += m[0].length;
      add(m[0] === 'null' ? '' : m[0]);
    }
  };
  try {
    value(0);
    ws();
    if (i < s.length) throw new Error(`trailing garbage at byte ${i}`);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The boundary parameter of a multipart Content-Type, quotes removed. */
function boundaryOf(contentType: string): string | undefined {
  const m = /boundary\s*=\s*("([^"]*)"|[^;\s]+)/i.exec(contentType);
  return m ? (m[2] ?? m[1]) : undefined;
}

/**
 * multipart/form-data: fields become ARGS_POST, file parts FILES (file name), FILES_NAMES (field
 * name) and FILES_SIZES; every part's headers go to MULTIPART_PART_HEADERS. Returns an error text
 * when the body is not well formed (also MULTIPART_STRICT_ERROR).
 */
function multipart(v: Variables, body: string, contentType: string): string | undefined {
  const fail = (why: string) => {
    v.setScalar('MULTIPART_STRICT_ERROR', '1');
    return why;
  };
  v.setScalar('MULTIPART_STRICT_ERROR', '0');
  const boundary = boundaryOf(contentType);
  if (!boundary) return fail('no boundary in Content-Type');
  const delim = `--${boundary}`;
  let pos = body.indexOf(delim);
  if (pos < 0) return fail('boundary not found');
  let files = 0;
  let size = 0;
  for (;;) {
    pos += delim.length;
    if (body.startsWith('--', pos)) break;
    if (body.startsWith('\r\n', pos)) pos += 2;
    else if (body[pos] === '\n') pos += 1;
    else return fail('bad part start');
    const headEnd = body.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) return fail('part headers not terminated');
    const head = body.slice(pos, headEnd);
    const next = body.indexOf(`\r\n${delim}`, headEnd + 4);
    if (next < 0) return fail('final boundary missing');
    const content = body.slice(headEnd + 4, next);
    let name: string | undefined;
    let filename: string | undefined;
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) return fail(`bad part header ${JSON.stringify(line)}`);
      const hname = line.slice(0, colon).trim();
      const hvalue = line.slice(colon + 1).trim();
      if (hname.toLowerCase() === 'content-disposition') {
        name =
          /(?:^|;)\s*name\s*=\s*"([^"]*)"/i.exec(hvalue)?.[1] ??
          /(?:^|;)\s*name\s*=\s*([^;\s]+)/i.exec(hvalue)?.[1];
        filename =
          /filename\s*=\s*"([^"]*)"/i.exec(hvalue)?.[1] ?? /filename\s*=\s*([^;\s]+)/i.exec(hvalue)?.[1];
      }
      v.collection('MULTIPART_PART_HEADERS').add(name ?? '', line);
    }
    if (name === undefined) return fail('part without a name');
    if (filename !== undefined) {
      files++;
      size += content.length;
      v.collection('FILES').add(name, filename);
      v.collection('FILES_NAMES').add(name, name);
      v.collection('FILES_SIZES').add(name, String(content.length));
    } else addArgument(v, 'POST', name, content);
    pos = next + 2;
  }
  v.setScalar('FILES_COMBINED_SIZE', String(size));
  v.setScalar('MULTIPART_FILES', String(files));
  return undefined;
}
