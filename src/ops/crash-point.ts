import { ConfigError } from '../shared/config/load.js';
import type { Logger } from '../shared/logger.js';

/** The environment variable of the crash suite's hook. */
export const CRASH_AFTER_COMMIT_ENV = 'TENDERBRIDGE_TEST_CRASH_AFTER_COMMIT';

/**
 * The crash point asked for in `env` (main.ts passes process.env): `k` kills the daemon right
 * after its k-th durable commit since start-up; `0` only counts. Null when unset (production).
 * @throws ConfigError naming the variable when it is not a whole number.
 * @example crashPointFrom({ TENDERBRIDGE_TEST_CRASH_AFTER_COMMIT: '3' }) // 3
 */
export function crashPointFrom(env: Record<string, string | undefined>): number | null {
  const raw = env[CRASH_AFTER_COMMIT_ENV];
  if (raw === undefined || raw.trim() === '') return null;
  if (!/^\d{1,9}$/.test(raw.trim())) throw new ConfigError(`environment ${CRASH_AFTER_COMMIT_ENV}`, [`must be a whole number of commits (0: count only), not "${raw}"`]);
  return Number(raw.trim());
}

/**
 * The daemon's `onCommitted` listener for a crash point: logs each commit's number (the suite
 * counts a flow's commits from these lines) and calls `kill` right after commit `k`, before
 * anyone has heard of it: no answer sent, no upstream call made, no listener told.
 * @example createDaemon(config, { logger, onCommitted: crashAfterCommit(3, { logger, kill: () => process.kill(process.pid, 'SIGKILL') }) });
 */
export function crashAfterCommit(k: number, deps: { logger: Logger; kill: () => void }): (count: number) => void {
  return (count) => {
    if (count === k) deps.kill();
    deps.logger.info('durable commit', { commit: count });
  };
}
