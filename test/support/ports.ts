import { createServer } from 'node:net';

// Ports handed out here come from 20000-31999, below Linux's ephemeral range (32768-60999): a
// server elsewhere listening on port 0 is never given one between the probe here and the bind
// that follows it, which is how a harness once found its daemon's port taken (EADDRINUSE).
const LOW = 20_000;
const SPAN = 12_000;

/** Whether `port` can be bound on loopback now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A port P with P + each offset free on loopback (the daemon's URL must be known before the simulator starts). */
export async function freeBasePort(offsets: readonly number[] = [0]): Promise<number> {
  const top = Math.max(...offsets);
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = LOW + Math.floor(Math.random() * (SPAN - top));
    if ((await Promise.all(offsets.map((o) => bindable(base + o)))).every(Boolean)) return base;
  }
  throw new Error(`no free run of ports in ${LOW}-${LOW + SPAN - 1}`);
}

/** A free TCP port on loopback, outside the kernel's ephemeral range. */
export function freePort(): Promise<number> {
  return freeBasePort();
}
