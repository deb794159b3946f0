// Entry of a simulation worker thread: registers tsx in this thread, then runs the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./sim-worker.ts');
