/**
 * The top-level members of a JSON object in source order, each with the raw text of its value.
 * JSON.parse keeps only the last of duplicated keys and turns 1e400 into Infinity, which
 * JSON.stringify then prints as null; the raw text lets the bridge report both faithfully.
 * Only call this on text that JSON.parse accepted as an object.
 */
export interface JsonMember {
  key: string;
  raw: string;
}

// Character codes: this runs on every reading, and comparing codes allocates nothing.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

const isWhitespace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && isWhitespace(text.charCodeAt(i))) i++;
  return i;
}

/** Index just past the string literal that starts at `i` (on its opening quote). */
function endOfString(text: string, i: number): number {
  i++;
  for (let c = text.charCodeAt(i); c !== QUOTE; c = text.charCodeAt(i)) i += c === BACKSLASH ? 2 : 1;
  return i + 1;
}

/** Index just past the value that starts at `i`. */
function endOfValue(text: string, i: number): number {
  let depth = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = endOfString(text, i);
      if (depth === 0) return i;
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++; // { [
    else if (c === 0x7d || c === 0x5d) { // } ]
      if (depth === 0) return i;
      depth--;
      if (depth === 0) return i + 1;
    } else if (depth === 0 && (c === COMMA || isWhitespace(c))) return i;
    i++;
  }
  return i;
}

export function jsonMembers(text: string): JsonMember[] {
  const members: JsonMember[] = [];
  let i = skipWhitespace(text, 0) + 1; // past '{'
  for (;;) {
    i = skipWhitespace(text, i);
    if (text.charCodeAt(i) !== QUOTE) return members; // '}' of an empty object
    const keyEnd = endOfString(text, i);
    const literal = text.slice(i + 1, keyEnd - 1);
    const key = literal.includes('\\') ? (JSON.parse(`"${literal}"`) as string) : literal;
    i = skipWhitespace(text, keyEnd) + 1; // past ':'
    const valueStart = skipWhitespace(text, i);
    const valueEnd = endOfValue(text, valueStart);
    members.push({ key, raw: text.slice(valueStart, valueEnd) });
    i = skipWhitespace(text, valueEnd);
    if (text.charCodeAt(i) !== COMMA) return members;
    i++;
  }
}
