/** How raw values are shown in `error.valeur` and in messages: readable, escaped, bounded. */

export const VALEUR_MAX_CHARS = 1000;
export const MESSAGE_MAX_CHARS = 2000;
const TOPIC_MAX_CHARS = 200;
const ELLIPSIS = '…';

export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  // Avoid cutting a surrogate pair in two, which MySQL would refuse as an invalid string.
  let end = max - ELLIPSIS.length;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end) + ELLIPSIS;
}

function hex(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, '0')}`;
}

/** Bytes that are not valid UTF-8, shown as ASCII with `\xHH` escapes. */
export function escapeBinary(bytes: Uint8Array, maxChars = VALEUR_MAX_CHARS): string {
  let out = '';
  for (const byte of bytes) {
    if (out.length >= maxChars) break;
    if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += hex(byte);
  }
  return truncate(out, maxChars);
}

/** Text with control characters made visible (tab and newlines kept). */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, (c) => hex(c.charCodeAt(0)));
}

export function boundedValeur(text: string): string {
  return truncate(escapeControls(text), VALEUR_MAX_CHARS);
}

/** A topic as quoted in a French sentence. */
export function quoteTopic(topic: string): string {
  return `« ${truncate(escapeControls(topic), TOPIC_MAX_CHARS)} »`;
}

/** Only ASCII: for a row that MySQL refused once, in case its character set is narrower than ours. */
export function asciiOnly(text: string): string {
  return text.replace(/[^\u0020-\u007e\t\n\r]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
