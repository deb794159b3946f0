/**
 * Text that came from outside (terminals, POS clients, partners, PartPay) is shown to people:
 * on an operator's terminal by the CLI, in the console, in CSV exports. These helpers keep
 * characters that change how text is *displayed* (rather than being displayed) out of it.
 */

/**
 * C0 controls (ESC, BEL, CR, ...), DEL, C1 controls (CSI ...), the Unicode line and paragraph
 * separators, and the bidirectional embeddings, overrides and isolates that can make text read
 * differently from what it is; plus lone surrogates (not text at all).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'g');

const codePoint = (ch: string): string => `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * The first character of `text` that is not printable, as `U+001B`, or null when every
 * character is printable (letters of any script, digits, punctuation, spaces, emoji).
 * @example unprintableIn('R\u001b[2J') // 'U+001B'
 */
export function unprintableIn(text: string): string | null {
  const found = UNPRINTABLE.exec(text);
  return found ? codePoint(found[0]) : null;
}

/** The message of every refusal of unprintable text, naming the character found. */
export const unprintableMessage = (found: string): string => `must be printable characters, without control or bidirectional formatting characters (found ${found})`;

/**
 * The path of the first string in a parsed JSON value that holds an unprintable character, and
 * that character; null when there is none.
 * @example findUnprintable({ rrn: 'A\rB' }) // { path: ['rrn'], found: 'U+000D' }
 */
export function findUnprintable(value: unknown, path: ReadonlyArray<string | number> = []): { path: Array<string | number>; found: string } | null {
  if (typeof value === 'string') {
    const found = unprintableIn(value);
    return found === null ? null : { path: [...path], found };
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const hit = findUnprintable(item, [...path, i]);
      if (hit) return hit;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const hit = findUnprintable(item, [...path, key]);
      if (hit) return hit;
    }
  }
  return null;
}

/**
 * Replaces every unprintable character but newline and tab by its visible `\uXXXX` spelling,
 * so stored text can never move the cursor, clear, retitle or recolour an operator's terminal,
 * yet the operator still sees that something was there. Inside JSON text the result is the
 * same JSON (JSON.stringify leaves DEL, C1 and the bidi controls raw; escaped, they parse back).
 * @example neutraliseControls('R\u001b[2J') // 'R\\u001b[2J'
 */
export function neutraliseControls(text: string): string {
  return text.replace(UNPRINTABLE_ALL, (ch) => (ch === '\n' || ch === '\t' ? ch : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
