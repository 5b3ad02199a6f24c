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

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && WHITESPACE.has(text[i]!)) i++;
  return i;
}

/** Index just past the string literal that starts at `i` (on its opening quote). */
function endOfString(text: string, i: number): number {
  i++;
  while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** Index just past the value that starts at `i`. */
function endOfValue(text: string, i: number): number {
  let depth = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      i = endOfString(text, i);
      if (depth === 0) return i;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (depth === 0) return i;
      depth--;
      if (depth === 0) return i + 1;
    } else if (depth === 0 && (c === ',' || WHITESPACE.has(c))) return i;
    i++;
  }
  return i;
}

export function jsonMembers(text: string): JsonMember[] {
  const members: JsonMember[] = [];
  let i = skipWhitespace(text, 0) + 1; // past '{'
  for (;;) {
    i = skipWhitespace(text, i);
    if (text[i] !== '"') return members; // '}' of an empty object
    const keyEnd = endOfString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWhitespace(text, keyEnd) + 1; // past ':'
    const valueStart = skipWhitespace(text, i);
    const valueEnd = endOfValue(text, valueStart);
    members.push({ key, raw: text.slice(valueStart, valueEnd) });
    i = skipWhitespace(text, valueEnd);
    if (text[i] !== ',') return members;
    i++;
  }
}
