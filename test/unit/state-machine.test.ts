import { describe, expect, it } from 'vitest';
import { orderOutcome, refundStatus } from '../../src/partpay/status.js';
import { decide, PAID_STATES, PAYMENT_STATES, refundableMinor, settledMinor, type PaymentFacts, type PaymentState } from '../../src/payments/state-machine.js';

const facts = (state: PaymentState, extra: Partial<PaymentFacts> = {}): PaymentFacts => ({
  state,
  amountMinor: 1000,
  approvedMinor: PAID_STATES.includes(state) ? 1000 : null,
  refundedMinor: 0,
  upstreamOrderId: state === 'created' ? null : 'order-1',
  attention: null,
  errorCode: null,
  ...extra,
});

const status = (outcome: 'pending' | 'approved' | 'declined' | 'cancelled' | 'expired') => ({ type: 'provider_status' as const, outcome, source: 'callback' as const });

describe('payment state machine', () => {
  it('moves created to awaiting_customer when the order is created', () => {
    const d = decide(facts('created'), { type: 'order_created', orderId: 'o', orderNumber: 'n' }, 'refund');
    expect(d).toMatchObject({ kind: 'changed', patch: { state: 'awaiting_customer', upstreamOrderId: 'o', upstreamOrderNumber: 'n' } });
  });

  it.each(['approved', 'declined', 'cancelled', 'expired'] as const)('settles an open payment as %s from the provider', (outcome) => {
    expect(decide(facts('awaiting_customer'), status(outcome), 'refund')).toMatchObject({ kind: 'changed', patch: { state: outcome }, effects: [] });
  });

  it('accepts an approval that beats the create response (state created)', () => {
    const d = decide(facts('created'), { ...status('approved'), orderId: 'o-9', orderNumber: '1' }, 'refund');
    expect(d).toMatchObject({ kind: 'changed', patch: { state: 'approved', upstreamOrderId: 'o-9' } });
  });

  it('treats a repeated approval as a no-op', () => {
    expect(decide(facts('approved'), status('approved'), 'refund').kind).toBe('unchanged');
  });

  it.each(['declined', 'cancelled', 'expired'] as const)('never moves approved backwards on a late %s', (outcome) => {
    const d = decide(facts('approved'), status(outcome), 'refund');
    expect(d.kind).toBe('unchanged');
  });

  it('never moves a declined payment to cancelled or expired', () => {
    expect(decide(facts('declined'), status('cancelled'), 'refund').kind).toBe('unchanged');
    expect(decide(facts('declined'), status('expired'), 'refund').kind).toBe('unchanged');
  });

  it.each(['cancelled', 'expired', 'declined', 'failed'] as const)('flags an approval after %s and owes a refund under the refund policy', (state) => {
    const d = decide(facts(state), status('approved'), 'refund');
    expect(d).toMatchObject({ kind: 'changed', patch: { attention: 'late_approval', approvedMinor: 1000 }, effects: [{ type: 'upstream_refund_full' }] });
    if (d.kind === 'changed') expect(d.patch.state).toBeUndefined();
  });

  it('owes an upstream cancel for a late approval under the cancel policy, nothing under flag', () => {
    expect(decide(facts('cancelled'), status('approved'), 'cancel')).toMatchObject({ effects: [{ type: 'upstream_cancel' }] });
    expect(decide(facts('cancelled'), status('approved'), 'flag')).toMatchObject({ kind: 'changed', effects: [] });
  });

  it('flags a late approval only once, and never again once resolved', () => {
    expect(decide(facts('cancelled', { attention: 'late_approval', approvedMinor: 1000 }), status('approved'), 'refund').kind).toBe('unchanged');
    // refunded and the flag cleared: PartPay repeating its approval changes nothing
    expect(decide(facts('cancelled', { attention: null, approvedMinor: 1000, refundedMinor: 1000 }), status('approved'), 'refund')).toMatchObject({ kind: 'unchanged', effects: [] });
  });

  it('lets an approval after an unknown outcome stand for the void already owed', () => {
    expect(decide(facts('failed', { errorCode: 'outcome_unknown' }), status('approved'), 'refund')).toMatchObject({ kind: 'unchanged', effects: [] });
  });

  it('records what was approved: all, or less for a partial approval, never more than the amount', () => {
    expect(decide(facts('awaiting_customer'), status('approved'), 'refund')).toMatchObject({ patch: { state: 'approved', approvedMinor: 1000 } });
    expect(decide(facts('awaiting_customer'), { ...status('approved'), approvedMinor: 600 }, 'refund')).toMatchObject({ patch: { approvedMinor: 600 } });
    expect(decide(facts('awaiting_customer'), { ...status('approved'), approvedMinor: 5000 }, 'refund')).toMatchObject({ patch: { approvedMinor: 1000 } });
  });

  it('voids open and approved payments (a reversal), owing the void upstream when an order exists', () => {
    expect(decide(facts('created'), { type: 'reversed' }, 'refund')).toMatchObject({ kind: 'changed', patch: { state: 'reversed' }, effects: [] });
    expect(decide(facts('awaiting_customer'), { type: 'reversed' }, 'refund')).toMatchObject({ patch: { state: 'reversed' }, effects: [{ type: 'upstream_cancel' }] });
    expect(decide(facts('approved'), { type: 'reversed' }, 'refund')).toMatchObject({ patch: { state: 'reversed' }, effects: [{ type: 'upstream_cancel' }] });
    expect(decide(facts('declined'), { type: 'reversed' }, 'refund').kind).toBe('unchanged');
    expect(decide(facts('reversed'), { type: 'cancel_requested' }, 'refund').kind).toBe('unchanged');
  });

  it('fails an open payment whose outcome is unknown and owes the void', () => {
    expect(decide(facts('awaiting_customer'), { type: 'outcome_unknown', message: 'm' }, 'refund')).toMatchObject({ patch: { state: 'failed', errorCode: 'outcome_unknown' }, effects: [{ type: 'upstream_cancel' }] });
  });

  it('cancels an open payment and owes the upstream cancel when the order exists', () => {
    expect(decide(facts('awaiting_customer'), { type: 'cancel_requested' }, 'refund')).toMatchObject({ kind: 'changed', patch: { state: 'cancelled' }, effects: [{ type: 'upstream_cancel' }] });
    expect(decide(facts('created'), { type: 'cancel_requested' }, 'refund')).toMatchObject({ kind: 'changed', patch: { state: 'cancelled' }, effects: [] });
  });

  it('refuses to cancel an approved payment and says to refund it', () => {
    const d = decide(facts('approved'), { type: 'cancel_requested' }, 'refund');
    expect(d).toMatchObject({ kind: 'refused', code: 'already_approved' });
    if (d.kind === 'refused') expect(d.message).toMatch(/refund/);
  });

  it('records an order created after a cancel and owes its cancellation', () => {
    const d = decide(facts('cancelled', { upstreamOrderId: null }), { type: 'order_created', orderId: 'late', orderNumber: null }, 'refund');
    expect(d).toMatchObject({ kind: 'changed', patch: { upstreamOrderId: 'late' }, effects: [{ type: 'upstream_cancel' }] });
  });

  it('expires only open payments', () => {
    expect(decide(facts('awaiting_customer'), { type: 'expire' }, 'refund')).toMatchObject({ kind: 'changed', patch: { state: 'expired' } });
    expect(decide(facts('approved'), { type: 'expire' }, 'refund').kind).toBe('unchanged');
  });

  it('fails only a payment still being created', () => {
    expect(decide(facts('created'), { type: 'order_failed', code: 'x', message: 'm' }, 'refund')).toMatchObject({ patch: { state: 'failed' } });
    expect(decide(facts('awaiting_customer'), { type: 'order_failed', code: 'x', message: 'm' }, 'refund').kind).toBe('unchanged');
  });

  it('moves through partial to full refund and refuses over-refunds', () => {
    const partial = decide(facts('approved'), { type: 'refund_settled', amountMinor: 300 }, 'refund');
    expect(partial).toMatchObject({ patch: { state: 'partially_refunded', refundedMinor: 300 } });
    const full = decide(facts('partially_refunded', { refundedMinor: 300 }), { type: 'refund_settled', amountMinor: 700 }, 'refund');
    expect(full).toMatchObject({ patch: { state: 'refunded', refundedMinor: 1000 } });
    expect(decide(facts('refunded', { refundedMinor: 1000 }), { type: 'refund_settled', amountMinor: 1 }, 'refund').kind).toBe('refused');
  });

  it('counts a late-approval refund without making the payment look paid', () => {
    const d = decide(facts('cancelled', { attention: 'late_approval', approvedMinor: 1000 }), { type: 'refund_settled', amountMinor: 1000 }, 'refund');
    expect(d).toMatchObject({ kind: 'changed', patch: { refundedMinor: 1000 } });
    if (d.kind === 'changed') expect(d.patch.state).toBeUndefined();
  });

  it('only lets what was approved be refunded, minus what is settled or pending', () => {
    expect(refundableMinor(facts('approved', { refundedMinor: 200 }), 300)).toBe(500);
    expect(refundableMinor(facts('approved', { approvedMinor: 600 }), 0)).toBe(600);
    expect(refundableMinor(facts('awaiting_customer'), 0)).toBe(0);
    expect(refundableMinor(facts('cancelled'), 0)).toBe(0);
    expect(refundableMinor(facts('cancelled', { attention: 'late_approval', approvedMinor: 1000 }), 0)).toBe(1000);
  });

  it('settles what was approved less what was refunded, and nothing for an unpaid payment', () => {
    expect(settledMinor(facts('partially_refunded', { approvedMinor: 1000, refundedMinor: 400 }))).toBe(600);
    expect(settledMinor(facts('approved', { approvedMinor: 600 }))).toBe(600);
    expect(settledMinor(facts('reversed', { approvedMinor: 1000 }))).toBe(0);
    expect(settledMinor(facts('cancelled', { attention: 'late_approval', approvedMinor: 1000 }))).toBe(1000);
    expect(settledMinor(facts('cancelled', { approvedMinor: 1000, refundedMinor: 1000 }))).toBe(0);
  });

  it('never leaves a final state for an open one, whatever the event', () => {
    const events = [status('pending'), status('approved'), status('declined'), status('cancelled'), status('expired'), { type: 'expire' as const }, { type: 'cancel_requested' as const }, { type: 'order_created' as const, orderId: 'z', orderNumber: null }, { type: 'order_failed' as const, code: 'c', message: 'm' }];
    for (const state of PAYMENT_STATES.filter((s) => s !== 'created' && s !== 'awaiting_customer')) {
      for (const event of events) {
        const d = decide(facts(state), event, 'refund');
        if (d.kind === 'changed' && d.patch.state) expect(['created', 'awaiting_customer']).not.toContain(d.patch.state);
      }
    }
  });

  it('normalises PartPay and Zip status strings (in the PartPay provider)', () => {
    expect(orderOutcome('Approved')).toBe('approved');
    expect(orderOutcome('complete')).toBe('approved');
    expect(orderOutcome('abandoned')).toBe('cancelled');
    expect(orderOutcome('pending')).toBe('pending');
    expect(orderOutcome('something-new')).toBeNull();
  });

  it("reads a PartPay refund answer's own status: only done counts as refunded", () => {
    expect(refundStatus(null)).toBe('succeeded');
    expect(refundStatus('Succeeded')).toBe('succeeded');
    expect(refundStatus('declined')).toBe('declined');
    expect(refundStatus('pending')).toBe('pending');
    expect(refundStatus('something-new')).toBe('pending');
  });
});
