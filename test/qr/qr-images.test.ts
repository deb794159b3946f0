import { createHash } from 'node:crypto';
import jsqrModule from 'jsqr';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { displayProfileSchema, type DisplayProfileInput } from '../../src/qr/display-profile.js';
import { createQrImages, type QrSource } from '../../src/qr/qr-images.js';
import { UpstreamError, ValidationError } from '../../src/shared/errors.js';
import { createQrDecoder, type QrTextDecoder } from '../../src/qr/qr-decoder.js';
import { JPEG_MAGIC, PNG_MAGIC, isWebp, makeQrJpeg, makeQrPng, pixelsOf, startsWith } from './helpers.js';

const TEXT = '00020101021226300014tenderbridge0108TRAN123452040000';
// jsqr is CommonJS compiled from TypeScript: under NodeNext its default import is the module object.
const jsQR = jsqrModule.default;
const images = createQrImages({ fetchTimeoutMs: 1000, maxBytes: 200_000 });
const profile = (input: DisplayProfileInput = {}) => displayProfileSchema.parse(input);

async function expectInvalid(promise: Promise<unknown>, message: RegExp) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  expect(error).toMatchObject({ code: 'upstream_invalid_response', retryable: false });
  expect((error as Error).message).toMatch(message);
}

describe('fromBase64', () => {
  let jpeg: Buffer;
  beforeAll(async () => {
    jpeg = await makeQrJpeg(TEXT);
  });

  it('reads the QR text from a plain base64 JPEG', async () => {
    const source = await images.fromBase64(jpeg.toString('base64'));
    expect(await source.text()).toBe(TEXT);
  });

  it('accepts a data: URL prefix and MIME line breaks', async () => {
    const wrapped = jpeg.toString('base64').replace(/.{76}/g, '$&\r\n');
    const source = await images.fromBase64(`data:image/jpeg;base64,${wrapped}`);
    expect(await source.text()).toBe(TEXT);
  });

  it('accepts a PNG', async () => {
    const source = await images.fromBase64(`data:image/png;base64,${(await makeQrPng(TEXT)).toString('base64')}`);
    expect(await source.text()).toBe(TEXT);
  });

  it('keeps only the pixels: renders carry no metadata of the original', async () => {
    const withExif = await sharp(jpeg).withExif({ IFD0: { Copyright: 'secret-tracker' } }).jpeg().toBuffer();
    expect(withExif.includes('secret-tracker')).toBe(true);
    const source = await images.fromBase64(withExif.toString('base64'));
    expect(source.width).toBe((await sharp(jpeg).metadata()).width);
    for (const format of ['png', 'jpeg', 'webp'] as const) {
      const out = await images.render(source, profile({ format }));
      expect(out.body.includes('secret-tracker')).toBe(false);
      expect((await sharp(out.body).metadata()).exif).toBeUndefined();
    }
  });

  it('gives null text for an image without a QR code', async () => {
    const blank = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    const source = await images.fromBase64(blank.toString('base64'));
    expect(await source.text()).toBeNull();
  });

  it('reads a small, noisy QR code through the fallback', async () => {
    const small = await makeQrJpeg(TEXT, { scale: 2, quality: 40 });
    const source = await images.fromBase64(small.toString('base64'));
    expect(await source.text()).toBe(TEXT);
  });

  it('rejects text that is not base64', async () => {
    await expectInvalid(images.fromBase64('this is not base64!'), /not base64/);
    await expectInvalid(images.fromBase64(''), /not base64/);
  });

  it('rejects base64 that is not an image', async () => {
    await expectInvalid(images.fromBase64(Buffer.from('hello, world, not an image').toString('base64')), /not a JPEG or PNG/);
  });

  it('rejects a truncated JPEG', async () => {
    await expectInvalid(images.fromBase64(jpeg.subarray(0, Math.floor(jpeg.length / 2)).toString('base64')), /cannot be decoded/);
  });

  it('rejects GIF and SVG, even behind a data: URL', async () => {
    const gif = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } }).gif().toBuffer();
    await expectInvalid(images.fromBase64(gif.toString('base64')), /not a JPEG or PNG/);
    await expectInvalid(images.fromBase64(`data:image/gif;base64,${gif.toString('base64')}`), /data URL/);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
    await expectInvalid(images.fromBase64(svg.toString('base64')), /not a JPEG or PNG/);
    await expectInvalid(images.fromBase64(`data:image/svg+xml;base64,${svg.toString('base64')}`), /data URL/);
  });

  it('rejects a payload over maxBytes, just over and far over', async () => {
    const tight = createQrImages({ fetchTimeoutMs: 1000, maxBytes: jpeg.length - 1 });
    await expectInvalid(tight.fromBase64(jpeg.toString('base64')), /larger than/);
    await expectInvalid(images.fromBase64('A'.repeat(2_000_000)), /larger than/);
    const exact = createQrImages({ fetchTimeoutMs: 1000, maxBytes: jpeg.length });
    expect(await (await exact.fromBase64(jpeg.toString('base64'))).text()).toBe(TEXT);
  });

  it('rejects an image over maxPixels', async () => {
    const strict = createQrImages({ fetchTimeoutMs: 1000, maxBytes: 200_000, maxPixels: 100 * 100 });
    await expectInvalid(strict.fromBase64(jpeg.toString('base64')), /cannot be decoded/);
  });
});

describe('fromText', () => {
  it('renders the text as a QR code that reads back', async () => {
    const source = await images.fromText(TEXT);
    expect(await source.text()).toBe(TEXT);
    expect(source.width).toBe(source.height);
    const rendered = await images.render(source, profile());
    const reread = await images.fromBase64(rendered.body.toString('base64'));
    expect(await reread.text()).toBe(TEXT);
  });

  it('refuses empty or oversized text with a ValidationError', async () => {
    await expect(images.fromText('')).rejects.toBeInstanceOf(ValidationError);
    await expect(images.fromText('x'.repeat(5000))).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('render', () => {
  let fromJpeg: QrSource;
  let fromText: QrSource;
  beforeAll(async () => {
    fromJpeg = await images.fromBase64((await makeQrJpeg(TEXT)).toString('base64'));
    fromText = await images.fromText(TEXT);
  });

  it.each([
    ['png', PNG_MAGIC, 'image/png'],
    ['jpeg', JPEG_MAGIC, 'image/jpeg'],
    ['webp', null, 'image/webp'],
  ] as const)('writes %s at the profile size with the right magic bytes', async (format, magic, contentType) => {
    for (const source of [fromJpeg, fromText]) {
      const out = await images.render(source, profile({ format, size: 256, margin: 8 }));
      expect(out.contentType).toBe(contentType);
      expect(magic ? startsWith(out.body, magic) : isWebp(out.body)).toBe(true);
      const meta = await sharp(out.body).metadata();
      expect(meta).toMatchObject({ format, width: 256, height: 256 });
      // Still a readable code after layout and encoding.
      expect(await (await images.fromBase64((await sharp(out.body).png().toBuffer()).toString('base64'))).text()).toBe(TEXT);
    }
  });

  it.each(['png', 'jpeg', 'webp'] as const)('keeps %s greyscale: one channel or equal RGB', async (format) => {
    const out = await images.render(fromJpeg, profile({ format }));
    const { data, channels } = await pixelsOf(out.body);
    if (format === 'png') expect((await sharp(out.body).metadata()).channels).toBe(1);
    if (channels >= 3) {
      let tinted = 0;
      for (let i = 0; i < data.length; i += channels) if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) tinted++;
      expect(tinted).toBe(0);
    } else {
      expect(channels).toBe(1);
    }
    expect(new Set(data).size).toBeGreaterThan(2); // the JPEG's greys survive greyscale mode
  });

  it('writes colour as three channels', async () => {
    const meta = await sharp((await images.render(fromText, profile({ colour: 'colour' }))).body).metadata();
    expect(meta.channels).toBe(3);
  });

  it.each(['png', 'webp'] as const)('writes mono %s with only pure black and white pixels', async (format) => {
    const out = await images.render(fromJpeg, profile({ format, colour: 'mono' }));
    const { data } = await pixelsOf(out.body);
    expect([...new Set(data)].sort((a, b) => a - b)).toEqual([0, 255]);
  });

  it('writes mono png as a 1-bit image', async () => {
    const meta = await sharp((await images.render(fromText, profile({ colour: 'mono' }))).body).metadata();
    expect(meta.bitsPerSample).toBe(1);
  });

  it('paints the margin white and scales the code to fill the rest', async () => {
    const margin = 24;
    const size = 300;
    for (const source of [fromJpeg, fromText]) {
      const { data, channels } = await pixelsOf((await images.render(source, profile({ size, margin }))).body);
      const at = (x: number, y: number) => data[(y * size + x) * channels];
      let darkInside = 0;
      let notWhiteInMargin = 0;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const inMargin = x < margin || y < margin || x >= size - margin || y >= size - margin;
          if (inMargin && at(x, y) !== 255) notWhiteInMargin++;
          else if (!inMargin && (at(x, y) as number) < 128) darkInside++;
        }
      }
      expect(notWhiteInMargin).toBe(0);
      expect(darkInside).toBeGreaterThan(0);
    }
    // Text sources have no quiet zone of their own, so the code starts right at the margin.
    const { data, channels } = await pixelsOf((await images.render(fromText, profile({ size, margin }))).body);
    expect(data[(margin * size + margin) * channels]).toBe(0);
  });

  it('is deterministic, with an ETag that follows the bytes', async () => {
    const a = await images.render(fromJpeg, profile({ format: 'jpeg' }));
    const b = await images.render(fromJpeg, profile({ format: 'jpeg' }));
    const c = await images.render(fromJpeg, profile({ format: 'jpeg', quality: 50 }));
    expect(a.body.equals(b.body)).toBe(true);
    expect(a.etag).toBe(b.etag);
    // README: the first 22 base64url characters of the SHA-256 of the bytes
    expect(a.etag).toBe(`"${createHash('sha256').update(a.body).digest('base64url').slice(0, 22)}"`);
    expect(c.etag).not.toBe(a.etag);
  });

  it('refuses to render a source it did not make', async () => {
    const foreign: QrSource = { width: fromText.width, height: fromText.height, text: fromText.text };
    await expect(images.render(foreign, profile())).rejects.toThrow(/not made by this QrImages/);
  });
});

describe('reading the text', () => {
  /** The real decoder, counting the images it is asked to read. */
  function countingDecoder() {
    const real = createQrDecoder();
    const decoder: QrTextDecoder & { calls: number } = {
      calls: 0,
      decode(image) {
        decoder.calls++;
        return real.decode(image);
      },
    };
    return decoder;
  }

  it('never reads the text to load or render an image', async () => {
    const decoder = countingDecoder();
    const lazy = createQrImages({ fetchTimeoutMs: 1000, maxBytes: 200_000, decoder });
    const source = await lazy.fromBase64((await makeQrJpeg(TEXT)).toString('base64'));
    for (const format of ['png', 'jpeg', 'webp'] as const) await lazy.render(source, profile({ format }));
    expect(decoder.calls).toBe(0);
  });

  it('reads the text once, on the first ask, and remembers it', async () => {
    const decoder = countingDecoder();
    const lazy = createQrImages({ fetchTimeoutMs: 1000, maxBytes: 200_000, decoder });
    const source = await lazy.fromBase64((await makeQrJpeg(TEXT)).toString('base64'));
    const [a, b] = await Promise.all([source.text(), source.text()]);
    expect([a, b]).toEqual([TEXT, TEXT]);
    expect(await source.text()).toBe(TEXT);
    expect(decoder.calls).toBe(1);
  });

  it('knows the text of a fromText source without decoding', async () => {
    const decoder = countingDecoder();
    const lazy = createQrImages({ fetchTimeoutMs: 1000, maxBytes: 200_000, decoder });
    expect(await (await lazy.fromText(TEXT)).text()).toBe(TEXT);
    expect(decoder.calls).toBe(0);
  });

  it('tries again after a failed read instead of remembering the failure', async () => {
    let fail = true;
    const real = createQrDecoder();
    const flaky: QrTextDecoder = {
      decode: async (image) => {
        if (fail) throw new Error('worker died');
        return real.decode(image);
      },
    };
    const source = await createQrImages({ fetchTimeoutMs: 1000, maxBytes: 200_000, decoder: flaky }).fromBase64((await makeQrJpeg(TEXT)).toString('base64'));
    await expect(source.text()).rejects.toThrow('worker died');
    fail = false;
    expect(await source.text()).toBe(TEXT);
  });

  it('reads a dim, low-contrast code through the second (thresholded) attempt', async () => {
    // Dark modules at 100, light at 140: jsQR alone misses this.
    const dim = await sharp(await makeQrPng(TEXT)).greyscale().linear(40 / 255, 100).png().toBuffer();
    const { data, width, height, channels } = await pixelsOf(dim);
    const rgba = new Uint8ClampedArray(width * height * 4).fill(255);
    for (let i = 0; i < width * height; i++) rgba.fill(data[i * channels] as number, i * 4, i * 4 + 3);
    expect(jsQR(rgba, width, height, { inversionAttempts: 'dontInvert' })).toBeNull();
    expect(await (await images.fromBase64(dim.toString('base64'))).text()).toBe(TEXT);
  });

  it('reads a large image, shrunk in the worker', async () => {
    const big = await makeQrJpeg(TEXT, { scale: 30 });
    expect((await sharp(big).metadata()).width).toBeGreaterThan(800);
    const roomy = createQrImages({ fetchTimeoutMs: 1000, maxBytes: 2_000_000 });
    expect(await (await roomy.fromBase64(big.toString('base64'))).text()).toBe(TEXT);
  });

  it('leaves the pixels intact for rendering after a read', async () => {
    const source = await images.fromBase64((await makeQrJpeg(TEXT)).toString('base64'));
    const before = await images.render(source, profile());
    expect(await source.text()).toBe(TEXT);
    expect((await images.render(source, profile())).body.equals(before.body)).toBe(true);
  });
});
