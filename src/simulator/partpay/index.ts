/** The PartPay simulator's public surface (the demo and the benchmark import from here). */
export { createPartPaySimulator, type PartPaySimulator, type PartPaySimulatorStats } from './simulator.js';
export { partpaySimulatorOptionsSchema, type PartPaySimulatorOptions, type PartPaySimulatorOptionsInput, type SimulatedMerchant } from './options.js';
export { mulberry32, partpayFaultsSchema, type PartPayFaults, type PartPayFaultsInput } from './faults.js';
