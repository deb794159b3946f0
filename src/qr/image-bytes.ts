import sharp from 'sharp';
import type { GreyImage } from './grey-image.js';
import { invalidImage } from './image-input.js';
import { hasExif } from './jpeg-wasm.js';

/**
 * The format the bytes announce, by magic number; only JPEG and PNG are recognised.
 * @example sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0])) // 'jpeg'
 */
export function sniffImageType(bytes: Uint8Array): 'jpeg' | 'png' | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'png';
  return null;
}

/**
 * Decodes untrusted JPEG/PNG bytes to greyscale pixels. The magic-number check means libvips
 * can only pick its JPEG or PNG loader (never SVG, GIF, TIFF...); `failOn: 'error'` refuses
 * truncated or corrupt data; `limitInputPixels` refuses decompression bombs. Transparency is
 * flattened onto white and EXIF orientation applied; no metadata survives the raw pixels.
 * With `jpeg` (see createJpegGreyDecoder), a JPEG without Exif is first decoded straight to
 * grey by it, about four times cheaper; whatever it declines goes through sharp as before.
 * @example const image = await decodeImage(bytes, 4_000_000);
 */
export async function decodeImage(bytes: Buffer, maxPixels: number, jpeg?: { decode(bytes: Uint8Array, maxPixels: number): GreyImage | null }): Promise<GreyImage> {
  const type = sniffImageType(bytes);
  if (type === null) throw invalidImage('not a JPEG or PNG');
  if (type === 'jpeg' && jpeg !== undefined && !hasExif(bytes)) {
    const image = jpeg.decode(bytes, maxPixels);
    if (image !== null) return image;
  }
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error', limitInputPixels: maxPixels })
      .autoOrient()
      .flatten({ background: '#ffffff' })
      .greyscale()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels === 1) return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
    // Defensive: keep the first band if libvips ever hands back more than one.
    const grey = new Uint8Array(info.width * info.height);
    for (let i = 0; i < grey.length; i++) grey[i] = data[i * info.channels] as number;
    return { data: grey, width: info.width, height: info.height };
  } catch (error) {
    throw invalidImage(`cannot be decoded (${error instanceof Error ? error.message.split('\n')[0] : 'unknown error'})`, error);
  }
}
