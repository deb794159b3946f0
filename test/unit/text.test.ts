import { describe, expect, it } from 'vitest';
import { findUnprintable, neutraliseControls, unprintableIn } from '../../src/shared/text.js';

describe('printable text', () => {
  it('accepts letters of any script, punctuation, spaces and emoji', () => {
    for (const text of ['Café 12 #7', 'Ōtautahi – Māori', 'レジ 3', '😀 ok', '']) expect(unprintableIn(text), text).toBeNull();
  });

  it.each([
    ['ESC', 'a\u001b[2J', 'U+001B'],
    ['CR', 'a\rb', 'U+000D'],
    ['NUL', 'a\u0000', 'U+0000'],
    ['DEL', 'a\u007f', 'U+007F'],
    ['a C1 CSI', 'a\u009b31m', 'U+009B'],
    ['a right-to-left override', 'invoice\u202eexe.pdf', 'U+202E'],
    ['an isolate', 'a\u2066b', 'U+2066'],
    ['a line separator', 'a\u2028b', 'U+2028'],
    ['a lone surrogate', 'a\ud800b', 'U+D800'],
  ])('names %s', (_what, text, found) => {
    expect(unprintableIn(text)).toBe(found);
  });

  it('finds the path of the first unprintable string in a message', () => {
    expect(findUnprintable({ id: 'x', thirdPartyIdentifiers: [{ institutionId: '1', transactionIdentifier: 'a\u0007' }] })).toEqual({ path: ['thirdPartyIdentifiers', 0, 'transactionIdentifier'], found: 'U+0007' });
    expect(findUnprintable({ id: 'x', amounts: { amount: 1 } })).toBeNull();
  });

  it('shows control characters as \\u escapes, keeping newlines and tabs, and JSON stays JSON', () => {
    expect(neutraliseControls('R\u001b[2J\r\n\tX\u009b')).toBe('R\\u001b[2J\\u000d\n\tX\\u009b');
    const json = JSON.stringify({ ref: 'a\u009b\u202eb\u001b' });
    expect(JSON.parse(neutraliseControls(json))).toEqual({ ref: 'a\u009b\u202eb\u001b' });
  });
});
