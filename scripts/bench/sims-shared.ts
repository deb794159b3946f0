/** What the simulators' process and the benchmark share: the clock and the timings message. */
export { monoMs } from './stats.js';

/** Timings the simulators' process reports (all on the monotonic clock, ms). */
export interface SimTimings {
  /** [our payment id (the idempotency key), ms the simulator spent answering create-order]. */
  creates: Array<[string, number]>;
  /** [PartPay order id, callback POST started, daemon's answer received, HTTP status]. */
  callbacks: Array<[string, number, number, number]>;
}
