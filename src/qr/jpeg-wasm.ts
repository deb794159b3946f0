import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { GreyImage } from './grey-image.js';

/** TurboJPEG's pixel format for 8-bit greyscale: libjpeg hands back the luma plane, no colour conversion. */
const TJPF_GRAY = 6;
/** Linear memory kept between images; past this the instance is rebuilt so a large image's memory is given back. */
const MAX_KEPT_MEMORY = 32 * 1024 * 1024;

interface TurboJpeg {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(pointer: number): void;
  tjInitDecompress(): number;
  tjDecompressHeader3(handle: number, input: number, length: number, width: number, height: number, subsampling: number, colourspace: number): number;
  tjDecompress2(handle: number, input: number, length: number, output: number, width: number, pitch: number, height: number, format: number, flags: number): number;
  tjDestroy(handle: number): number;
}

/**
 * True if the JPEG carries an Exif segment (which may rotate it): such images go to sharp,
 * which applies the orientation. Walks the marker segments up to the start of scan.
 * @example hasExif(jpegFromAPhone) // true
 */
export function hasExif(bytes: Uint8Array): boolean {
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1] as number;
    if (marker === 0xda || marker === 0xd9) return false; // start of scan, end of image
    const length = ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number);
    if (marker === 0xe1 && length >= 8 && Buffer.from(bytes.buffer, bytes.byteOffset + at + 4, 4).toString('latin1') === 'Exif') return true;
    at += 2 + length;
  }
  return false;
}

/**
 * libjpeg-turbo compiled to WebAssembly (`@cwasm/jpeg-turbo`'s module with our own glue),
 * decoding a JPEG straight to its 8-bit luma plane: on a 270 px PartPay code about a quarter of
 * the CPU of sharp's decode plus greyscale conversion, with the same pixels for a grey image.
 * It answers null, never throws, for anything it will not or cannot decode (over `maxPixels`,
 * corrupt, truncated, CMYK...): the caller then uses sharp, whose verdict and error messages
 * stay the reference. The module is sandboxed; after any failure its instance is rebuilt, since
 * its error exit unwinds without freeing.
 * @example const image = createJpegGreyDecoder().decode(bytes, 4_000_000) ?? (await viaSharp(bytes));
 */
export function createJpegGreyDecoder() {
  let module: WebAssembly.Module | null = null;
  let instance: TurboJpeg | null = null;

  function turbo(): TurboJpeg {
    module ??= new WebAssembly.Module(readFileSync(createRequire(import.meta.url).resolve('@cwasm/jpeg-turbo/jpeg-turbo.wasm')));
    if (instance === null) {
      const refuse = () => {
        throw new Error('not available');
      };
      const imports = {
        // libjpeg's error exit longjmps; we have no setjmp, so it throws out of the module instead.
        env: { setjmp: () => 0, longjmp: () => { throw new Error('libjpeg error exit'); } },
        wasi_snapshot_preview1: { environ_sizes_get: () => 0, environ_get: refuse, proc_exit: refuse, fd_close: refuse, fd_seek: refuse, fd_write: refuse },
      };
      instance = new WebAssembly.Instance(module, imports).exports as unknown as TurboJpeg;
    }
    return instance;
  }

  function decode(bytes: Uint8Array, maxPixels: number): GreyImage | null {
    const tj = turbo();
    const input = tj.malloc(bytes.length);
    const meta = tj.malloc(16);
    const handle = tj.tjInitDecompress();
    if (input === 0 || meta === 0 || handle === 0) throw new Error('out of memory');
    let output = 0;
    try {
      new Uint8Array(tj.memory.buffer, input, bytes.length).set(bytes);
      if (tj.tjDecompressHeader3(handle, input, bytes.length, meta, meta + 4, meta + 8, meta + 12) !== 0) return null;
      const [width = 0, height = 0] = new Uint32Array(tj.memory.buffer, meta, 2);
      if (width === 0 || height === 0 || width * height > maxPixels) return null;
      output = tj.malloc(width * height);
      if (output === 0) throw new Error('out of memory');
      // Any warning (a truncated file is one) fails the call: sharp, with failOn 'error', then decides.
      if (tj.tjDecompress2(handle, input, bytes.length, output, width, width, height, TJPF_GRAY, 0) !== 0) return null;
      return { data: new Uint8Array(tj.memory.buffer, output, width * height).slice(), width, height };
    } finally {
      if (output !== 0) tj.free(output);
      tj.free(meta);
      tj.free(input);
      tj.tjDestroy(handle);
    }
  }

  return {
    decode(bytes: Uint8Array, maxPixels: number): GreyImage | null {
      try {
        const image = decode(bytes, maxPixels);
        if ((instance?.memory.buffer.byteLength ?? 0) > MAX_KEPT_MEMORY) instance = null;
        return image;
      } catch {
        instance = null;
        return null;
      }
    },
  };
}
