import jsQRModule from 'jsqr';
import { shrinkTo, toRgba, type GreyImage } from './grey-image.js';

/** jsQR's cost grows with the pixel count; a payment QR decodes fine at this edge. */
const MAX_DECODE_EDGE = 800;
/** Below this edge modules may be only a pixel or two wide, which jsQR often misses. */
const UPSCALE_BELOW_EDGE = 400;
// jsqr is CommonJS with an `exports.default`; under NodeNext the default import is the whole
// module object, and its `.default` is the function both at runtime and in the types.
const jsQR = jsQRModule.default;

/**
 * Reads the text of the QR code in a greyscale image, or null if none is found. Tries the
 * image as it is, then once more thresholded (and doubled when small), which rescues most
 * noisy or tiny JPEGs; two attempts keep the cost bounded.
 * @example decodeQrText(image) // '00020101021226...' or null
 */
export function decodeQrText(image: GreyImage): string | null {
  const src = shrinkTo(image, MAX_DECODE_EDGE);
  // Payment QR codes are dark on light; not trying the inverse halves the cost of a miss.
  const options = { inversionAttempts: 'dontInvert' } as const;
  const first = jsQR(toRgba(src, 1, null), src.width, src.height, options);
  if (first) return first.data;
  const scale = Math.max(src.width, src.height) < UPSCALE_BELOW_EDGE ? 2 : 1;
  const second = jsQR(toRgba(src, scale, midGrey(src)), src.width * scale, src.height * scale, options);
  return second ? second.data : null;
}

/** Threshold halfway between the darkest and lightest pixel, so dim or washed-out scans split cleanly. */
function midGrey(image: GreyImage): number {
  let min = 255;
  let max = 0;
  for (const v of image.data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return max > min ? (min + max + 1) >> 1 : 128;
}
