/** The Electrum partner simulator's public surface (the demo and the tests import from here). */
export { createElectrumPartnerSimulator, type ElectrumPartnerSimulator, type ElectrumPartnerSimulatorStats } from './simulator.js';
export {
  electrumPartnerSimulatorOptionsSchema,
  type ElectrumPartnerSimulatorOptions,
  type ElectrumPartnerSimulatorOptionsInput,
  type PartnerBehaviour,
} from './options.js';
export type { PartnerPayment, PartnerPaymentState, ReceivedMessage } from './partner-ledger.js';
export { electrumPartnerFaultsSchema, type ElectrumPartnerFaults, type ElectrumPartnerFaultsInput } from './faults.js';
