import sharp from 'sharp';

/**
 * Process-wide libvips settings for our workload, to be called once by the composition root
 * before the first image. Our images are small and short-lived, so libvips' operation cache
 * only holds memory (dozens of MB) without ever being hit; and one libvips thread per image
 * is enough: the libuv threadpool already runs several images at once, and more threads per
 * image only contend for the few cores of a store's box.
 * @example configureSharp(); // in the daemon, before createQrImages
 */
export function configureSharp(): void {
  sharp.cache(false);
  sharp.concurrency(1);
}
