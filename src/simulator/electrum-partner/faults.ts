import { z } from 'zod';
import { basicAuthHeader } from '../../electrum/basic-auth.js';
import type { ScanNotification } from '../../electrum/schemas.js';
import { createFaultDice } from '../partpay/faults.js';

const chance = z.number().min(0).max(1).default(0);

/**
 * Faults the Electrum partner simulator can inject, each with a probability, all drawn from
 * one seed. Everything is off by default.
 */
export const electrumPartnerFaultsSchema = z
  .object({
    /** Seed of the fault decisions: the same seed gives the same sequence of decisions. */
    seed: z.int().default(1),
    /** `pay` is decided at once but answered only after `lateMs` (past the intermediate's timeout). */
    late: chance,
    lateMs: z.int().nonnegative().default(3_000),
    /**
     * A scan is notified twice at the same moment (a fresh notification id for the same tranId
     * or a verbatim resend, a coin toss): the intermediate must forward one payment, not two.
     */
    twice: chance,
    /**
     * `pay`, `confirmPayment` or `reversePayment` answers 500. For `pay` a coin toss decides
     * whether the payment was processed (approved) before the 500 or not at all; advices are
     * not processed (the intermediate must resend them).
     */
    error500: chance,
    /** `confirmPayment` or `reversePayment` answers 503 (busy) without processing it: not a final answer, so it is resent. */
    busy: chance,
  })
  .strict();

export type ElectrumPartnerFaultsInput = z.input<typeof electrumPartnerFaultsSchema>;
export type ElectrumPartnerFaults = z.output<typeof electrumPartnerFaultsSchema>;

/** The partner simulator's fault state: the options in force and the dice they are drawn with. */
export function createElectrumPartnerFaults(input: ElectrumPartnerFaultsInput = {}) {
  let options = electrumPartnerFaultsSchema.parse(input);
  const dice = createFaultDice(options.seed);
  return {
    get options(): ElectrumPartnerFaults {
      return options;
    },
    dice,
    /** Replaces the faults (and restarts the dice from their seed). */
    configure(next: ElectrumPartnerFaultsInput): ElectrumPartnerFaults {
      options = electrumPartnerFaultsSchema.parse(next);
      dice.reseed(options.seed);
      return options;
    },
    view: () => ({ faults: options, injected: dice.injected() }),
  };
}

export type ElectrumPartnerFaultState = ReturnType<typeof createElectrumPartnerFaults>;

/** Posts one ScanNotification as given (both copies of the `twice` fault); resolves with the answer, or a null status without one. */
export async function postScan(url: string, credentials: { username: string; password: string }, notification: ScanNotification, timeoutMs: number): Promise<{ status: number | null; body: unknown }> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: basicAuthHeader(credentials.username, credentials.password), 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(notification),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text.trim() === '' ? null : (JSON.parse(text) as unknown);
    } catch {
      body = text;
    }
    return { status: res.status, body };
  } catch {
    return { status: null, body: null };
  }
}
