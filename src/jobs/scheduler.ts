import cron from 'node-cron';
import type { Logger } from '../shared/logger.js';

/** A scheduled job: a plain function with a cron schedule (six fields: seconds first). */
export interface Job {
  name: string;
  schedule: string;
  /** Does one round of work; returns a short summary for the log (or nothing). */
  run(): Promise<unknown>;
}

/**
 * Wraps a job so that a round never starts while the previous one is still running, and so
 * that a failing round is logged and the next round still happens.
 */
export function guarded(job: Job, logger: Logger): Job & { running(): boolean } {
  let current: Promise<unknown> | null = null;
  return {
    ...job,
    running: () => current !== null,
    run() {
      if (current) return current;
      current = (async () => {
        try {
          const summary = await job.run();
          if (summary !== undefined && summary !== 0) logger.debug('job round done', { job: job.name, summary });
          return summary;
        } catch (error) {
          logger.error('job round failed', { job: job.name, error: (error as Error).message });
          return undefined;
        } finally {
          current = null;
        }
      })();
      return current;
    },
  };
}

/**
 * Starts each job on its schedule with node-cron; `stop()` stops them all and waits for
 * rounds in progress to finish.
 */
export function startJobs(jobs: readonly Job[], logger: Logger) {
  const wrapped = jobs.map((job) => guarded(job, logger.child({ component: 'jobs' })));
  const tasks = wrapped.map((job) => {
    if (!cron.validate(job.schedule)) throw new Error(`job ${job.name}: invalid cron schedule "${job.schedule}"`);
    return cron.schedule(job.schedule, () => void job.run(), { name: job.name, noOverlap: true });
  });
  return {
    jobs: wrapped,
    async stop(): Promise<void> {
      await Promise.all(tasks.map((t) => t.destroy()));
      await Promise.all(wrapped.map((j) => (j.running() ? j.run() : undefined)));
    },
  };
}
