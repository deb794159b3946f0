/**
 * Zod schemas and types for the Electrum QR Payment Service Interface v1.7.0: one source of
 * truth for validating what POS devices and partners send and what we send them.
 */
export * from './schema-base.js';
export * from './schema-models.js';
export * from './schema-messages.js';
