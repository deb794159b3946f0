import crc16ccitt from 'crc/crc16ccitt';
import { isoExponent, minorToDecimal } from './currency.js';
import type { QrScheme } from './schema-messages.js';
import { TlvError, charLength, encodeTlv, isMerchantAccountTag, parseTlv } from './tlv.js';

export { TlvError, encodeTlv, parseTlv, type TlvField } from './tlv.js';

/**
 * Electrum QR text (`CreateQrCodeResponse.qrCode`): EMV MPM-style TLV with a merchant
 * account template whose sub-tag 00 is the provider's id and 01 the `tranId`.
 */

/** What {@link buildQrCode} encodes. */
export interface QrCodeInput {
  scheme: QrScheme;
  /** Sub-tag 00 of the merchant account template, e.g. `za.co.elec` (a reverse domain). */
  providerId: string;
  /** Sub-tag 01: the tranId the partner sends back in notifyScan. */
  tranId: string;
  /** Merchant account template tag, 26-51; 26 unless told. */
  accountTag?: string;
  /** EMVCO_MERCHANT only: the amount (tag 54), left out when not known yet. */
  amountMinor?: number;
  /** EMVCO_MERCHANT: ISO 4217 numeric currency (tag 53), required there. */
  currencyNumeric?: string;
  /** EMVCO_MERCHANT: merchant name (tag 59, cut to 25 characters), required there. */
  merchantName?: string;
  /** EMVCO_MERCHANT: merchant city (tag 60, cut to 15 characters), required there. */
  merchantCity?: string;
  /** EMVCO_MERCHANT: ISO 3166-1 alpha-2 country (tag 58), required there. */
  countryCode?: string;
  /** EMVCO_MERCHANT: merchant category code (tag 52); `5999` unless told. */
  merchantCategoryCode?: string;
}

/**
 * Builds the QR text. `ELECTRUM_MERCHANT_MINIMAL` and `PSEUDO_EMVCO_MERCHANT` give the spec's
 * minimal form (`000201` + the template); `EMVCO_MERCHANT` a full EMVCo MPM payload with a
 * dynamic point of initiation and the CRC.
 * @example
 * buildQrCode({ scheme: 'ELECTRUM_MERCHANT_MINIMAL', providerId: 'za.co.elec', tranId: 'f82d7f64feea4f2ab24da94aaf5c2941' })
 * // '00020126500010za.co.elec0132f82d7f64feea4f2ab24da94aaf5c2941'
 * @throws TlvError for a value that does not fit or a missing/invalid EMVCo field.
 */
export function buildQrCode(input: QrCodeInput): string {
  const accountTag = input.accountTag ?? '26';
  if (!isMerchantAccountTag(accountTag)) throw new TlvError(`merchant account tag ${accountTag} is not in 26-51`);
  const template = encodeTlv(accountTag, encodeTlv('00', input.providerId) + encodeTlv('01', input.tranId));
  if (input.scheme !== 'EMVCO_MERCHANT') return encodeTlv('00', '01') + template;

  const mcc = input.merchantCategoryCode ?? '5999';
  if (!/^\d{4}$/.test(mcc)) throw new TlvError(`merchant category code "${mcc}" is not four digits`);
  const currency = required(input.currencyNumeric, 'currencyNumeric');
  if (!/^\d{3}$/.test(currency) || isoExponent(currency) === null) throw new TlvError(`currency "${currency}" is not an ISO 4217 numeric code`);
  const country = required(input.countryCode, 'countryCode');
  if (!/^[A-Z]{2}$/.test(country)) throw new TlvError(`country "${country}" is not ISO 3166-1 alpha-2`);
  const name = cut(required(input.merchantName, 'merchantName').trim(), 25);
  const city = cut(required(input.merchantCity, 'merchantCity').trim(), 15);

  let text = encodeTlv('00', '01') + encodeTlv('01', '12') + template + encodeTlv('52', mcc) + encodeTlv('53', currency);
  if (input.amountMinor !== undefined) {
    const amount = minorToDecimal(input.amountMinor, currency);
    if (amount.length > 13) throw new TlvError(`amount ${amount} is longer than the 13 characters of tag 54`);
    text += encodeTlv('54', amount);
  }
  text += encodeTlv('58', country) + encodeTlv('59', name) + encodeTlv('60', city) + '6304';
  return text + crcHex(text);
}

/**
 * CRC-16/CCITT-FALSE of `text` (UTF-8 bytes) as four upper-case hex digits, as EMV tag 63 holds.
 * @example crcHex('123456789') // '29B1'
 */
export function crcHex(text: string): string {
  return crc16ccitt(Buffer.from(text, 'utf8')).toString(16).toUpperCase().padStart(4, '0');
}

/**
 * True when `text` is well-formed TLV ending in tag 63 whose CRC matches everything before it.
 * The minimal schemes carry no CRC, so this is false for them.
 */
export function verifyCrc(text: string): boolean {
  let fields;
  try {
    fields = parseTlv(text);
  } catch {
    return false;
  }
  const last = fields.at(-1);
  if (!last || last.tag !== '63' || !/^[0-9A-Fa-f]{4}$/.test(last.value)) return false;
  return crcHex(text.slice(0, -4)) === last.value.toUpperCase();
}

/**
 * The `tranId` in QR text: sub-tag 01 of the first merchant account template (26-51), or of
 * the first whose sub-tag 00 is `providerId` when given. Null for text that is not TLV or has none.
 * @example tranIdFromQr('00020126500010za.co.elec0132f82d7f64feea4f2ab24da94aaf5c2941') // 'f82d7f64feea4f2ab24da94aaf5c2941'
 */
export function tranIdFromQr(text: string, providerId?: string): string | null {
  let fields;
  try {
    fields = parseTlv(text.trim());
  } catch {
    return null;
  }
  for (const field of fields) {
    if (!isMerchantAccountTag(field.tag) || !field.children) continue;
    if (providerId !== undefined && field.children.find((c) => c.tag === '00')?.value !== providerId) continue;
    return field.children.find((c) => c.tag === '01')?.value ?? null;
  }
  return null;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value.trim() === '') throw new TlvError(`EMVCO_MERCHANT needs ${name}`);
  return value;
}

/** Cuts to `max` characters (code points), never splitting one. */
function cut(text: string, max: number): string {
  return charLength(text) <= max ? text : Array.from(text).slice(0, max).join('');
}
