/**
 * EMV QR tag-length-value text: a two-digit tag, a two-digit length counting characters,
 * then the value. Some tags are templates whose value is itself TLV.
 */

/** One data object; `children` is set for template tags. */
export interface TlvField {
  tag: string;
  value: string;
  children?: TlvField[];
}

/** A malformed TLV string or a value that cannot be encoded. */
export class TlvError extends Error {
  override name = 'TlvError';
}

/** The longest value a two-digit length can describe. */
export const MAX_VALUE_LENGTH = 99;

/**
 * True for EMV MPM template tags: merchant account information 26-51, additional data 62,
 * merchant information in another language 64, and the unreserved templates 80-99.
 */
export function isTemplateTag(tag: string): boolean {
  const n = Number(tag);
  return (n >= 26 && n <= 51) || n === 62 || n === 64 || (n >= 80 && n <= 99);
}

/** True for the merchant account information templates (tags 26-51). */
export function isMerchantAccountTag(tag: string): boolean {
  const n = Number(tag);
  return /^\d{2}$/.test(tag) && n >= 26 && n <= 51;
}

/** Length in characters (code points), as EMV lengths count them. */
export function charLength(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/**
 * Encodes one data object.
 * @example encodeTlv('00', '01') // '000201'
 * @throws TlvError for a tag that is not two digits or a value that is empty or over 99 characters.
 */
export function encodeTlv(tag: string, value: string): string {
  if (!/^\d{2}$/.test(tag)) throw new TlvError(`tag "${tag}" is not two digits`);
  const length = charLength(value);
  if (length === 0) throw new TlvError(`tag ${tag} has an empty value`);
  if (length > MAX_VALUE_LENGTH) throw new TlvError(`tag ${tag} value is ${length} characters; at most ${MAX_VALUE_LENGTH} fit`);
  return `${tag}${String(length).padStart(2, '0')}${value}`;
}

/**
 * Parses TLV text into its data objects in order, parsing template tags (see
 * {@link isTemplateTag}) into `children`.
 * @example parseTlv('000201') // [{ tag: '00', value: '01' }]
 * @throws TlvError when the text is not well-formed TLV.
 */
export function parseTlv(text: string): TlvField[] {
  return parseLevel(Array.from(text), 0);
}

function parseLevel(chars: string[], depth: number): TlvField[] {
  const fields: TlvField[] = [];
  let at = 0;
  while (at < chars.length) {
    const tag = chars.slice(at, at + 2).join('');
    const lengthText = chars.slice(at + 2, at + 4).join('');
    if (!/^\d{2}$/.test(tag)) throw new TlvError(`bad tag "${tag}" at character ${at}`);
    if (!/^\d{2}$/.test(lengthText)) throw new TlvError(`bad length "${lengthText}" for tag ${tag} at character ${at + 2}`);
    const length = Number(lengthText);
    const start = at + 4;
    if (start + length > chars.length) throw new TlvError(`tag ${tag} says ${length} characters but only ${chars.length - start} remain`);
    const value = chars.slice(start, start + length).join('');
    const field: TlvField = { tag, value };
    // Templates nest one level in EMV MPM; deeper text is kept as plain values.
    if (depth === 0 && isTemplateTag(tag)) field.children = parseLevel(Array.from(value), depth + 1);
    fields.push(field);
    at = start + length;
  }
  return fields;
}
