/**
 * CSV that is safe to open in a spreadsheet. Every CSV the daemon writes (the console's
 * payment export, the end-of-day report from the console, the CLI and the report job) goes
 * through {@link toCsv}; eslint refuses csv-stringify anywhere else.
 */

import { stringify } from 'csv-stringify/sync';

/** A cell: text is neutralised, numbers are written as they are, null and undefined as empty. */
export type CsvCell = string | number | null | undefined;

/** First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** A plain decimal number such as "-5.00": read as a number, never as a formula, so kept. */
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * Prefixes text that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`,
 * tab or carriage return) with a single quote, as OWASP advises, so it is shown as text.
 * Decimal numbers written as text (a report's "-5.00") are left alone.
 * @example neutraliseFormula('=HYPERLINK("http://evil","x")') // `'=HYPERLINK("http://evil","x")`
 */
export function neutraliseFormula(text: string): string {
  return FORMULA_START.test(text) && !PLAIN_NUMBER.test(text) ? `'${text}` : text;
}

/**
 * CSV with a header row of `columns`, quoted where RFC 4180 needs it, every text cell passed
 * through {@link neutraliseFormula} (csv-stringify's `cast`); numbers stay bare numbers.
 * @example toCsv([['=1+1', -500]], ['reference', 'amount_minor']) // "reference,amount_minor\n'=1+1,-500\n"
 */
export function toCsv(rows: ReadonlyArray<ReadonlyArray<CsvCell>>, columns: readonly string[]): string {
  return stringify(rows as CsvCell[][], { header: true, columns: [...columns], cast: { string: (value) => neutraliseFormula(value) } });
}
