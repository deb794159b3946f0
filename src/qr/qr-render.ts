import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { DisplayProfile } from './display-profile.js';
import { layoutQr, type GreyImage } from './grey-image.js';
import { encodePng } from './png-encode.js';

/** One QR image ready to send to a terminal. */
export interface RenderedQr {
  body: Buffer;
  contentType: 'image/png' | 'image/jpeg' | 'image/webp';
  /** Quoted strong ETag (`"…"`) of `body`, ready for the header. */
  etag: string;
}

/**
 * Renders a greyscale QR image to a display profile: laid out with its margin and threshold
 * in plain loops, then encoded (PNG by us, JPEG/WebP by sharp). Equal inputs give
 * byte-identical output, so the ETag is stable across restarts.
 * @example const { body, etag } = await renderQr(image, profile);
 */
export async function renderQr(image: GreyImage, profile: DisplayProfile): Promise<RenderedQr> {
  const mono = profile.colour === 'mono';
  const laid = layoutQr(image, profile.size, profile.margin, mono);
  const { body, contentType } = await encode(laid, profile, mono);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, contentType, etag };
}

async function encode(laid: GreyImage, profile: DisplayProfile, mono: boolean): Promise<Omit<RenderedQr, 'etag'>> {
  if (profile.format === 'png') {
    const mode = mono ? 'mono1' : profile.colour === 'colour' ? 'rgb8' : 'grey8';
    return { body: encodePng(laid, mode), contentType: 'image/png' };
  }
  let pipeline = sharp(laid.data, { raw: { width: laid.width, height: laid.height, channels: 1 } });
  if (profile.colour === 'colour') pipeline = pipeline.toColourspace('srgb');
  if (profile.format === 'jpeg') {
    // A 1-channel input gives a greyscale JPEG; mono is thresholded above, but JPEG's
    // lossy blocks will still put a few grey pixels along module edges.
    return { body: await pipeline.jpeg({ quality: profile.quality }).toBuffer(), contentType: 'image/jpeg' };
  }
  // WebP is always lossless: for a two-tone image it is smaller than lossy, keeps mono pure
  // black/white, and avoids 4:2:0 chroma tinting the greys. Quality becomes libwebp's effort.
  return {
    body: await pipeline.webp({ lossless: true, quality: profile.quality, effort: 1 }).toBuffer(),
    contentType: 'image/webp',
  };
}
