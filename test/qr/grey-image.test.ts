import fc from 'fast-check';
import { describe, it } from 'vitest';
import { layoutQr, type GreyImage } from '../../src/qr/grey-image.js';

/** The layout by its definition, one pixel at a time: nearest neighbour, centred, white margin. */
function reference(src: GreyImage, size: number, margin: number, mono: boolean): Uint8Array {
  const out = new Uint8Array(size * size).fill(255);
  const inner = size - 2 * margin;
  const scale = Math.min(inner / src.width, inner / src.height);
  const dw = Math.max(1, Math.round(src.width * scale));
  const dh = Math.max(1, Math.round(src.height * scale));
  const ox = margin + ((inner - dw) >> 1);
  const oy = margin + ((inner - dh) >> 1);
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      const sx = Math.min(src.width - 1, Math.floor((x * src.width) / dw));
      const sy = Math.min(src.height - 1, Math.floor((y * src.height) / dh));
      const v = src.data[sy * src.width + sx] as number;
      out[(oy + y) * size + ox + x] = mono ? (v < 128 ? 0 : 255) : v;
    }
  }
  return out;
}

describe('layoutQr', () => {
  it('equals the pixel-by-pixel definition for any image, size, margin and colour (rows copied when upscaling)', () => {
    const image = fc
      .record({ width: fc.integer({ min: 1, max: 40 }), height: fc.integer({ min: 1, max: 40 }) })
      .chain(({ width, height }) => fc.uint8Array({ minLength: width * height, maxLength: width * height }).map((data) => ({ data, width, height })));
    fc.assert(
      fc.property(image, fc.integer({ min: 8, max: 120 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), (src, size, margin, mono) => {
        const laid = layoutQr(src, size, margin, mono).data;
        const expected = reference(src, size, margin, mono);
        // Byte comparison: toEqual over thousands of elements per run would dominate the test.
        if (!Buffer.from(laid.buffer, laid.byteOffset, laid.length).equals(Buffer.from(expected.buffer))) {
          throw new Error(`layout differs from the definition for ${src.width}x${src.height} at ${size}px, margin ${margin}, mono ${mono}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});
