import QRCode from 'qrcode';
import sharp from 'sharp';

/** A QR code as PartPay might send it: JPEG, 7 px modules (not aligned to JPEG's 8 px blocks, so edges ring as in real life), 4-module quiet zone. */
export async function makeQrJpeg(text: string, options: { scale?: number; quality?: number } = {}): Promise<Buffer> {
  const png = await QRCode.toBuffer(text, { errorCorrectionLevel: 'M', margin: 4, scale: options.scale ?? 7 });
  return sharp(png).jpeg({ quality: options.quality ?? 80 }).toBuffer();
}

export async function makeQrPng(text: string): Promise<Buffer> {
  return QRCode.toBuffer(text, { errorCorrectionLevel: 'M', margin: 4, scale: 6 });
}

/** Raw pixels of an encoded image, as decoded by sharp (an independent decoder). */
export async function pixelsOf(image: Buffer) {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

export const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
export const JPEG_MAGIC = [0xff, 0xd8, 0xff];

export function startsWith(body: Buffer, magic: number[]): boolean {
  return magic.every((b, i) => body[i] === b);
}

export function isWebp(body: Buffer): boolean {
  return body.subarray(0, 4).toString('latin1') === 'RIFF' && body.subarray(8, 12).toString('latin1') === 'WEBP';
}
