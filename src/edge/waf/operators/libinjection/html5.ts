/**
 * A TypeScript port of libinjection 3.9.2's `libinjection_html5.c`: a small HTML5 tokenizer that can
 * start in the data state or inside an attribute value (unquoted, '…', "…", `…`), used by the XSS
 * check. Bytes are compared as C's signed `char`; NUL counts as white space where libinjection's
 * `strchr`-based test says so, and a 0xFF byte reads as end of input in the white-space skipper
 * (it is `(char)-1`, the tokenizer's EOF marker).
 *
 * libinjection: Copyright 2012-2016 Nick Galbreath, BSD 3-Clause License.
 */

export enum H5Type {
  DataText,
  TagNameOpen,
  TagNameClose,
  TagNameSelfClose,
  TagData,
  TagClose,
  AttrName,
  AttrValue,
  TagComment,
  Doctype,
}

export enum H5Start {
  Data,
  ValueNoQuote,
  ValueSingleQuote,
  ValueDoubleQuote,
  ValueBackQuote,
}

const EOF = -1;

/** `h5_is_white`: `strchr(" \t\n\v\f\r", ch)`, which also finds NUL. */
function isWhite(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0;
}

function isAlpha(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

type State = (h: Html5Tokenizer) => boolean;

/** The tokenizer; `next()` yields one token at a time into `tokenStart`/`tokenLen`/`tokenType`. */
export class Html5Tokenizer {
  readonly s: string;
  readonly len: number;
  pos = 0;
  isClose = false;
  state: State;
  tokenStart = 0;
  tokenLen = 0;
  tokenType: H5Type = H5Type.DataText;

  constructor(s: string, start: H5Start) {
    this.s = s;
    this.len = s.length;
    this.state =
      start === H5Start.Data
        ? stateData
        : start === H5Start.ValueNoQuote
          ? stateBeforeAttributeName
          : start === H5Start.ValueSingleQuote
            ? stateAttributeValueSingleQuote
            : start === H5Start.ValueDoubleQuote
              ? stateAttributeValueDoubleQuote
              : stateAttributeValueBackQuote;
  }

  next(): boolean {
    return this.state(this);
  }

  at(i: number): number {
    return i < this.len ? this.s.charCodeAt(i) : 0;
  }

  /** Index of byte `c` at or after `from`, or -1. */
  find(c: number, from: number): number {
    return from >= this.len ? -1 : this.s.indexOf(String.fromCharCode(c), from);
  }

  token(type: H5Type, start: number, len: number): void {
    this.tokenType = type;
    this.tokenStart = start;
    this.tokenLen = len;
  }
}

/** Skips white space (and NUL); returns the next byte as a signed char, or EOF. */
function skipWhite(h: Html5Tokenizer): number {
  while (h.pos < h.len) {
    const c = h.at(h.pos);
    if (c === 0x00 || c === 0x20 || (c >= 0x09 && c <= 0x0d)) h.pos++;
    else return c >= 0x80 ? c - 0x100 : c;
  }
  return EOF;
}

function stateEof(): boolean {
  return false;
}

function stateData(h: Html5Tokenizer): boolean {
  const idx = h.find(0x3c, h.pos);
  if (idx === -1) {
    h.token(H5Type.DataText, h.pos, h.len - h.pos);
    h.state = stateEof;
    return h.tokenLen !== 0;
  }
  h.token(H5Type.DataText, h.pos, idx - h.pos);
  h.pos = idx + 1;
  h.state = stateTagOpen;
  if (h.tokenLen === 0) return stateTagOpen(h);
  return true;
}

function stateTagOpen(h: Html5Tokenizer): boolean {
  if (h.pos >= h.len) return false;
  const c = h.at(h.pos);
  if (c === 0x21) {
    h.pos++;
    return stateMarkupDeclarationOpen(h);
  }
  if (c === 0x2f) {
    h.pos++;
    h.isClose = true;
    return stateEndTagOpen(h);
  }
  if (c === 0x3f) {
    h.pos++;
    return stateBogusComment(h);
  }
  if (c === 0x25) {
    h.pos++;
    return stateBogusComment2(h);
  }
  if (isAlpha(c) || c === 0) return stateTagName(h);
  if (h.pos === 0) return stateData(h);
  h.token(H5Type.DataText, h.pos - 1, 1);
  h.state = stateData;
  return true;
}

function stateEndTagOpen(h: Html5Tokenizer): boolean {
  if (h.pos >= h.len) return false;
  const c = h.at(h.pos);
  if (c === 0x3e) return stateData(h);
  if (isAlpha(c)) return stateTagName(h);
  h.isClose = false;
  return stateBogusComment(h);
}

function stateTagNameClose(h: Html5Tokenizer): boolean {
  h.isClose = false;
  h.token(H5Type.TagNameClose, h.pos, 1);
  h.pos++;
  h.state = h.pos < h.len ? stateData : stateEof;
  return true;
}

function stateTagName(h: Html5Tokenizer): boolean {
  let pos = h.pos;
  while (pos < h.len) {
    const c = h.at(pos);
    if (c === 0) {
      pos++;
    } else if (isWhite(c)) {
      h.token(H5Type.TagNameOpen, h.pos, pos - h.pos);
      h.pos = pos + 1;
      h.state = stateBeforeAttributeName;
      return true;
    } else if (c === 0x2f) {
      h.token(H5Type.TagNameOpen, h.pos, pos - h.pos);
      h.pos = pos + 1;
      h.state = stateSelfClosingStartTag;
      return true;
    } else if (c === 0x3e) {
      h.tokenStart = h.pos;
      h.tokenLen = pos - h.pos;
      if (h.isClose) {
        h.pos = pos + 1;
        h.isClose = false;
        h.tokenType = H5Type.TagClose;
        h.state = stateData;
      } else {
        h.pos = pos;
        h.tokenType = H5Type.TagNameOpen;
        h.state = stateTagNameClose;
      }
      return true;
    } else {
      pos++;
    }
  }
  h.token(H5Type.TagNameOpen, h.pos, h.len - h.pos);
  h.state = stateEof;
  return true;
}

function stateBeforeAttributeName(h: Html5Tokenizer): boolean {
  const c = skipWhite(h);
  if (c === EOF) return false;
  if (c === 0x2f) {
    h.pos++;
    return stateSelfClosingStartTag(h);
  }
  if (c === 0x3e) {
    h.state = stateData;
    h.token(H5Type.TagNameClose, h.pos, 1);
    h.pos++;
    return true;
  }
  return stateAttributeName(h);
}

function stateAttributeName(h: Html5Tokenizer): boolean {
  let pos = h.pos + 1;
  while (pos < h.len) {
    const c = h.at(pos);
    if (isWhite(c)) {
      h.token(H5Type.AttrName, h.pos, pos - h.pos);
      h.state = stateAfterAttributeName;
      h.pos = pos + 1;
      return true;
    }
    if (c === 0x2f) {
      h.token(H5Type.AttrName, h.pos, pos - h.pos);
      h.state = stateSelfClosingStartTag;
      h.pos = pos + 1;
      return true;
    }
    if (c === 0x3d) {
      h.token(H5Type.AttrName, h.pos, pos - h.pos);
      h.state = stateBeforeAttributeValue;
      h.pos = pos + 1;
      return true;
    }
    if (c === 0x3e) {
      h.token(H5Type.AttrName, h.pos, pos - h.pos);
      h.state = stateTagNameClose;
      h.pos = pos;
      return true;
    }
    pos++;
  }
  h.token(H5Type.AttrName, h.pos, h.len - h.pos);
  h.state = stateEof;
  h.pos = h.len;
  return true;
}

function stateAfterAttributeName(h: Html5Tokenizer): boolean {
  const c = skipWhite(h);
  if (c === EOF) return false;
  if (c === 0x2f) {
    h.pos++;
    return stateSelfClosingStartTag(h);
  }
  if (c === 0x3d) {
    h.pos++;
    return stateBeforeAttributeValue(h);
  }
  if (c === 0x3e) return stateTagNameClose(h);
  return stateAttributeName(h);
}

function stateBeforeAttributeValue(h: Html5Tokenizer): boolean {
  const c = skipWhite(h);
  if (c === EOF) {
    h.state = stateEof;
    return false;
  }
  if (c === 0x22) return stateAttributeValueDoubleQuote(h);
  if (c === 0x27) return stateAttributeValueSingleQuote(h);
  if (c === 0x60) return stateAttributeValueBackQuote(h);
  return stateAttributeValueNoQuote(h);
}

function stateAttributeValueQuote(h: Html5Tokenizer, q: number): boolean {
  // Skip the opening quote, except when tokenizing started inside the value.
  if (h.pos > 0) h.pos++;
  const idx = h.find(q, h.pos);
  if (idx === -1) {
    h.token(H5Type.AttrValue, h.pos, h.len - h.pos);
    h.state = stateEof;
  } else {
    h.token(H5Type.AttrValue, h.pos, idx - h.pos);
    h.state = stateAfterAttributeValueQuoted;
    h.pos += h.tokenLen + 1;
  }
  return true;
}

function stateAttributeValueDoubleQuote(h: Html5Tokenizer): boolean {
  return stateAttributeValueQuote(h, 0x22);
}

function stateAttributeValueSingleQuote(h: Html5Tokenizer): boolean {
  return stateAttributeValueQuote(h, 0x27);
}

function stateAttributeValueBackQuote(h: Html5Tokenizer): boolean {
  return stateAttributeValueQuote(h, 0x60);
}

function stateAttributeValueNoQuote(h: Html5Tokenizer): boolean {
  let pos = h.pos;
  while (pos < h.len) {
    const c = h.at(pos);
    if (isWhite(c)) {
      h.token(H5Type.AttrValue, h.pos, pos - h.pos);
      h.pos = pos + 1;
      h.state = stateBeforeAttributeName;
      return true;
    }
    if (c === 0x3e) {
      h.token(H5Type.AttrValue, h.pos, pos - h.pos);
      h.pos = pos;
      h.state = stateTagNameClose;
      return true;
    }
    pos++;
  }
  h.state = stateEof;
  h.token(H5Type.AttrValue, h.pos, h.len - h.pos);
  return true;
}

function stateAfterAttributeValueQuoted(h: Html5Tokenizer): boolean {
  if (h.pos >= h.len) return false;
  const c = h.at(h.pos);
  if (isWhite(c)) {
    h.pos++;
    return stateBeforeAttributeName(h);
  }
  if (c === 0x2f) {
    h.pos++;
    return stateSelfClosingStartTag(h);
  }
  if (c === 0x3e) {
    h.token(H5Type.TagNameClose, h.pos, 1);
    h.pos++;
    h.state = stateData;
    return true;
  }
  return stateBeforeAttributeName(h);
}

function stateSelfClosingStartTag(h: Html5Tokenizer): boolean {
  if (h.pos >= h.len) return false;
  if (h.at(h.pos) === 0x3e) {
    h.token(H5Type.TagNameSelfClose, h.pos - 1, 2);
    h.state = stateData;
    h.pos++;
    return true;
  }
  return stateBeforeAttributeName(h);
}

function stateBogusComment(h: Html5Tokenizer): boolean {
  const idx = h.find(0x3e, h.pos);
  if (idx === -1) {
    h.tokenStart = h.pos;
    h.tokenLen = h.len - h.pos;
    h.pos = h.len;
    h.state = stateEof;
  } else {
    h.tokenStart = h.pos;
    h.tokenLen = idx - h.pos;
    h.pos = idx + 1;
    h.state = stateData;
  }
  h.tokenType = H5Type.TagComment;
  return true;
}

function stateBogusComment2(h: Html5Tokenizer): boolean {
  let pos = h.pos;
  for (;;) {
    const idx = h.find(0x25, pos);
    if (idx === -1 || idx + 1 >= h.len) {
      h.token(H5Type.TagComment, h.pos, h.len - h.pos);
      h.pos = h.len;
      h.state = stateEof;
      return true;
    }
    if (h.at(idx + 1) !== 0x3e) {
      pos = idx + 1;
      continue;
    }
    h.token(H5Type.TagComment, h.pos, idx - h.pos);
    h.pos = idx + 2;
    h.state = stateData;
    return true;
  }
}

function stateMarkupDeclarationOpen(h: Html5Tokenizer): boolean {
  const remaining = h.len - h.pos;
  const next7 = h.s.slice(h.pos, h.pos + 7);
  if (remaining >= 7 && /^doctype$/i.test(next7)) return stateDoctype(h);
  if (remaining >= 7 && next7 === '[CDATA[') {
    h.pos += 7;
    return stateCdata(h);
  }
  if (remaining >= 2 && h.at(h.pos) === 0x2d && h.at(h.pos + 1) === 0x2d) {
    h.pos += 2;
    return stateComment(h);
  }
  return stateBogusComment(h);
}

function commentToEnd(h: Html5Tokenizer): boolean {
  h.state = stateEof;
  h.token(H5Type.TagComment, h.pos, h.len - h.pos);
  return true;
}

/** Comments end at EOF, `-->` or `--!>` (NULs between the dashes are skipped). */
function stateComment(h: Html5Tokenizer): boolean {
  let pos = h.pos;
  for (;;) {
    const idx = h.find(0x2d, pos);
    if (idx === -1 || idx > h.len - 3) return commentToEnd(h);
    let offset = 1;
    while (idx + offset < h.len && h.at(idx + offset) === 0) offset++;
    if (idx + offset === h.len) return commentToEnd(h);
    let c = h.at(idx + offset);
    if (c !== 0x2d && c !== 0x21) {
      pos = idx + 1;
      continue;
    }
    offset++;
    if (idx + offset === h.len) return commentToEnd(h);
    c = h.at(idx + offset);
    if (c !== 0x3e) {
      pos = idx + 1;
      continue;
    }
    offset++;
    h.token(H5Type.TagComment, h.pos, idx - h.pos);
    h.pos = idx + offset;
    h.state = stateData;
    return true;
  }
}

function stateCdata(h: Html5Tokenizer): boolean {
  let pos = h.pos;
  for (;;) {
    const idx = h.find(0x5d, pos);
    if (idx === -1 || idx > h.len - 3) {
      h.state = stateEof;
      h.token(H5Type.DataText, h.pos, h.len - h.pos);
      return true;
    }
    if (h.at(idx + 1) === 0x5d && h.at(idx + 2) === 0x3e) {
      h.state = stateData;
      h.token(H5Type.DataText, h.pos, idx - h.pos);
      h.pos = idx + 3;
      return true;
    }
    pos = idx + 1;
  }
}

function stateDoctype(h: Html5Tokenizer): boolean {
  h.tokenStart = h.pos;
  h.tokenType = H5Type.Doctype;
  const idx = h.find(0x3e, h.pos);
  if (idx === -1) {
    h.state = stateEof;
    h.tokenLen = h.len - h.pos;
  } else {
    h.state = stateData;
    h.tokenLen = idx - h.pos;
    h.pos = idx + 1;
  }
  return true;
}
