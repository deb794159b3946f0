import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/qr/image-bytes.js';
import { createJpegGreyDecoder, hasExif } from '../../src/qr/jpeg-wasm.js';
import { UpstreamError } from '../../src/shared/errors.js';
import { makeQrJpeg } from './helpers.js';

const TEXT = '00020101021226300014tenderbridge0108TRAN123452040000';

/** The reference: sharp alone (no WASM decoder given). */
const viaSharp = (bytes: Buffer, maxPixels = 4_000_000) => decodeImage(bytes, maxPixels);

describe('JPEG straight to grey (libjpeg-turbo in WebAssembly)', () => {
  it('gives the pixels sharp gives, for colour and greyscale JPEGs and for a progressive one', async () => {
    const jpeg = createJpegGreyDecoder();
    const grey = await makeQrJpeg(TEXT);
    const colour = await sharp(grey).toColourspace('srgb').jpeg({ quality: 90 }).toBuffer();
    const progressive = await sharp(grey).jpeg({ progressive: true }).toBuffer();
    for (const bytes of [grey, colour, progressive]) {
      const fast = jpeg.decode(bytes, 4_000_000);
      const reference = await viaSharp(bytes);
      expect(fast).not.toBeNull();
      expect({ width: fast?.width, height: fast?.height }).toEqual({ width: reference.width, height: reference.height });
      let worst = 0;
      for (let i = 0; i < reference.data.length; i++) worst = Math.max(worst, Math.abs((fast?.data[i] as number) - (reference.data[i] as number)));
      // Both are libjpeg-turbo's integer IDCT on the luma plane; sharp's greyscale conversion may round a level off.
      expect(worst).toBeLessThanOrEqual(1);
    }
  });

  it('declines what sharp must judge (truncated, corrupt, over the pixel limit) and keeps working after', async () => {
    const jpeg = createJpegGreyDecoder();
    const good = await makeQrJpeg(TEXT);
    expect(jpeg.decode(good.subarray(0, good.length >> 1), 4_000_000)).toBeNull();
    expect(jpeg.decode(Buffer.from('ffd8ffe000104a46494600', 'hex'), 4_000_000)).toBeNull();
    const corrupt = Buffer.from(good);
    corrupt.fill(0x00, 200, 400);
    for (let i = 0; i < 5; i++) jpeg.decode(corrupt, 4_000_000);
    expect(jpeg.decode(good, 100)).toBeNull();
    expect(jpeg.decode(good, 4_000_000)?.width).toBe((await viaSharp(good)).width);
  });

  it('leaves a JPEG with Exif (which may rotate it) to sharp, which applies the orientation', async () => {
    const upright = await makeQrJpeg(TEXT);
    const wide = await sharp(upright).extend({ right: 40, background: '#ffffff' }).jpeg().toBuffer();
    const rotated = await sharp(wide).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    expect(hasExif(rotated)).toBe(true);
    expect(hasExif(wide)).toBe(false);
    const meta = await sharp(wide).metadata();
    const image = await decodeImage(rotated, 4_000_000, createJpegGreyDecoder());
    expect({ width: image.width, height: image.height }).toEqual({ width: meta.height, height: meta.width });
  });

  it('keeps sharp\'s errors for a bad JPEG', async () => {
    const good = await makeQrJpeg(TEXT);
    const truncated = good.subarray(0, good.length >> 1);
    const jpeg = createJpegGreyDecoder();
    const fast = await decodeImage(truncated, 4_000_000, jpeg).catch((e: unknown) => e);
    const reference = await viaSharp(truncated).catch((e: unknown) => e);
    expect(fast).toBeInstanceOf(UpstreamError);
    expect((fast as Error).message).toBe((reference as Error).message);
    expect((fast as Error).message).toMatch(/^QR image: cannot be decoded/);
    const big = await decodeImage(good, 100, jpeg).catch((e: unknown) => e);
    expect((big as Error).message).toBe(((await viaSharp(good, 100).catch((e: unknown) => e)) as Error).message);
  });
});
