import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres.js';

/**
 * globalSetup of the PostgreSQL pass (vitest.postgres.config.ts): one throwaway server for the
 * whole run; every harness creates a database of its own on it (`inject('postgresUrl')`).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres();
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The superuser URL of the run's PostgreSQL server (PostgreSQL pass only). */
    postgresUrl: string;
  }
}
