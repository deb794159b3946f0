/**
 * 8-bit greyscale pixels, one byte per pixel, row-major. This is the working form of every
 * QR image here: decoded once, kept in memory, and laid out for each profile in plain
 * loops, which on a small box costs a fraction of another trip through libvips.
 */
export interface GreyImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Lays `src` out as a `size`×`size` image: scaled nearest-neighbour (modules stay crisp) to
 * fit `size - 2 * margin` without cropping (a non-square source is centred on white), with
 * a white margin around it. `mono` thresholds every pixel to 0 or 255.
 * @example layoutQr({ data, width: 25, height: 25 }, 320, 16, false).width // 320
 */
export function layoutQr(src: GreyImage, size: number, margin: number, mono: boolean): GreyImage {
  const out = new Uint8Array(size * size).fill(255);
  const inner = size - 2 * margin;
  const scale = Math.min(inner / src.width, inner / src.height);
  const dw = Math.max(1, Math.round(src.width * scale));
  const dh = Math.max(1, Math.round(src.height * scale));
  const ox = margin + ((inner - dw) >> 1);
  const oy = margin + ((inner - dh) >> 1);
  // One source column per output column, computed once instead of per pixel.
  const xs = new Int32Array(dw);
  for (let x = 0; x < dw; x++) xs[x] = Math.min(src.width - 1, Math.floor((x * src.width) / dw));
  const { data } = src;
  let previousRow = -1;
  for (let y = 0; y < dh; y++) {
    const row = Math.min(src.height - 1, Math.floor((y * src.height) / dh)) * src.width;
    const at = (oy + y) * size + ox;
    // Upscaled rows repeat their source row: copy the line already laid out.
    if (row === previousRow) {
      out.copyWithin(at, at - size, at - size + dw);
      continue;
    }
    previousRow = row;
    if (mono) {
      for (let x = 0; x < dw; x++) out[at + x] = (data[row + (xs[x] as number)] as number) < 128 ? 0 : 255;
    } else {
      for (let x = 0; x < dw; x++) out[at + x] = data[row + (xs[x] as number)] as number;
    }
  }
  return { data: out, width: size, height: size };
}
