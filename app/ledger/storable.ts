/** The longest text the ledger stores in one field; longer values are cut (or refused at the edge). */
export const MAX_STORED_TEXT = 256;

// NUL, a high surrogate not followed by a low one, a low one not preceded by a
// high one (no `u` flag: the pattern works on UTF-16 code units).
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what must be matched.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text Postgres can store: NUL (which `text` refuses) and unpaired UTF-16
 * surrogates (which JSON and UTF-8 cannot carry) become U+FFFD, and the result
 * is cut to `maxLength` UTF-16 units without splitting a pair.
 */
export function storableText(value: string, maxLength = MAX_STORED_TEXT): string {
  let text = value.replace(UNSTORABLE, "\uFFFD");
  if (text.length > maxLength) {
    text = text.slice(0, maxLength);
    // A cut through a surrogate pair leaves a lone high surrogate: drop it.
    if (/[\uD800-\uDBFF]$/.test(text)) text = text.slice(0, -1);
  }
  return text;
}
