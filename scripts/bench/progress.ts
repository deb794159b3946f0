/**
 * The progress display: one line per phase step on stderr with the time since the run
 * began, so a five-minute run shows where it is and stdout keeps only the results table.
 */
export function createProgress(options: { quiet?: boolean } = {}) {
  const started = Date.now();
  const stamp = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]`;
  return {
    /** A line such as `[  12.3 s] partpay flows c=64 round 2/3: 812 flows/s`. */
    step(message: string): void {
      if (!options.quiet) process.stderr.write(`${stamp()} ${message}\n`);
    },
    elapsedMs: (): number => Date.now() - started,
  };
}

export type Progress = ReturnType<typeof createProgress>;
