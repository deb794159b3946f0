/**
 * Resolves with the name of the first SIGINT or SIGTERM the process receives (the CLI's
 * `io.untilStopped`); the handlers replace the default exit, so the command can close what it opened.
 * @example const signal = await untilStopSignal(); // 'SIGTERM'
 */
export function untilStopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
