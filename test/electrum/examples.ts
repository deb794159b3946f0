import type {
  CreateQrCodeRequest,
  CreateQrCodeResponse,
  PaymentConfirmation,
  PaymentRequest,
  PaymentResponse,
  PaymentReversal,
  ScanNotification,
} from '../../src/electrum/schemas.js';

/**
 * Complete, spec-valid example messages (every optional field filled) for the tests. Each
 * also passes the published Swagger definitions (see test/support/swagger.ts).
 */

export const TIME = '2026-11-21T22:37:45.854Z';

export const originator = {
  institution: { id: '4021', name: 'Kiwi Grocers Ltd' },
  terminalId: 'LANE0007',
  merchant: {
    merchantType: '5411',
    merchantId: '000000012345678',
    merchantName: { name: 'Kiwi Grocers Ponsonby', city: 'Auckland', region: 'AK', country: 'NZ' },
  },
  operatorId: 'op-42',
} satisfies PaymentRequest['originator'];

export const client = { id: 'tenderbridge-store-1', name: 'tenderbridge' };
export const partner = { id: 'demo-partner', name: 'Demo Wallet' };
export const nzd = (amount: number) => ({ amount, currency: '554' });

export const amounts = {
  requestAmount: nzd(1234),
  feeAmount: { amount: 10, currency: '554', ledgerIndicator: 'DEBIT' as const },
  balanceAmount: { amount: 100_000, currency: '554', ledgerIndicator: 'CREDIT' as const },
  additionalAmounts: { tip: nzd(100) },
};

export const customer = {
  firstName: 'Aroha',
  lastName: 'Ngata',
  address: '1 Queen Street, Auckland',
  dateOfBirth: '1990-04-01T00:00:00+12:00',
  status: 'active',
  msisdn: '+64211234567',
  emailAddress: 'aroha@example.nz',
  addressDetails: { addressLine1: '1 Queen Street', addressLine2: 'Level 2', city: 'Auckland', region: 'AK', country: 'NZ', postalCode: '1010' },
  profileId: 'cust-1',
};

export const qrProperties = {
  uuid: 'a3d7b0c4-1f0e-4a55-9b0e-111111111111',
  value: nzd(1234),
  overPaymentAllowed: false,
  partPaymentAllowed: false,
  expiryDate: '2026-11-21T22:42:45.854Z',
  singleUse: true,
  scheme: 'ELECTRUM_MERCHANT_MINIMAL' as const,
};

export const tranId = 'f82d7f64feea4f2ab24da94aaf5c2941';
export const qrCode = '00020126500010za.co.elec0132f82d7f64feea4f2ab24da94aaf5c2941';
const tpi = [{ institutionId: client.id, transactionIdentifier: 'tb-0001' }];

export function createQrCodeRequest(): CreateQrCodeRequest {
  return structuredClone({
    id: '0f4b6a8e-2a3c-4d5e-8f90-0a1b2c3d4e5f',
    time: TIME,
    originator,
    client,
    thirdPartyIdentifiers: tpi,
    rrn: '000000000001',
    stan: '000001',
    amounts: { requestAmount: nzd(1234) },
    customer,
    qrProperties,
  });
}

export function createQrCodeResponse(): CreateQrCodeResponse {
  return { ...createQrCodeRequest(), tranId, qrCode };
}

export function scanNotification(): ScanNotification {
  return structuredClone({
    id: '7d5e3b1a-0c2d-4e6f-8a9b-1c2d3e4f5a6b',
    time: '2026-11-21T22:38:01.002+13:00',
    partner,
    settlementEntity: { id: 'settle-1', name: 'Settlement Bank' },
    receiver: { id: 'recv-1', name: 'Receiver' },
    thirdPartyIdentifiers: [{ institutionId: partner.id, transactionIdentifier: 'scan-1' }],
    amounts: { requestAmount: nzd(1234) },
    tranId,
    partnerPaymentToken: 'tok-abc',
  });
}

export function paymentRequest(amountMinor = 1234): PaymentRequest {
  return structuredClone({
    id: '3c1f6f0e-9d8b-4a7c-b6e5-d4c3b2a19080',
    time: TIME,
    originator,
    client,
    settlementEntity: { id: 'settle-1', name: 'Settlement Bank' },
    receiver: { id: 'recv-1', name: 'Receiver' },
    thirdPartyIdentifiers: tpi,
    slipData: {
      messageLines: [
        { text: 'Thank you', fontWidthScaleFactor: 1.0, fontHeightScaleFactor: 2.0, line: false, cut: false },
        { text: 'Ref', barcode: { data: 'ABC123', encoding: 'CODE128' }, line: true, cut: true },
      ],
      slipWidth: 40,
      issuerReference: 'REF0001',
    },
    basketRef: 'basket-9',
    tranType: 'GOODS_AND_SERVICES',
    srcAccType: 'DEFAULT',
    destAccType: 'DEFAULT',
    stan: '000001',
    rrn: '000000000001',
    partner,
    amounts: { requestAmount: nzd(amountMinor) },
    tranId,
    partnerPaymentToken: 'tok-abc',
  });
}

export function paymentResponse(): PaymentResponse {
  return structuredClone({
    ...paymentRequest(),
    partner,
    tenders: [{ accountType: 'DEFAULT', amount: nzd(1234), cardNumber: '123456******1234', reference: 'wallet', tenderType: 'WALLET' }],
    amounts: { requestAmount: nzd(1234), approvedAmount: nzd(1234) },
  });
}

export function paymentConfirmation(): PaymentConfirmation {
  return structuredClone({
    id: '5b4a3928-1706-4f5e-8d3c-2b1a09f8e7d6',
    requestId: paymentRequest().id,
    time: TIME,
    thirdPartyIdentifiers: tpi,
    stan: '000001',
    rrn: '000000000001',
    amounts: { approvedAmount: nzd(1234) },
    partner,
    tranId,
  });
}

export function paymentReversal(): PaymentReversal {
  return { ...paymentConfirmation(), id: '6c5b4a39-2817-4a6f-9e4d-3c2b1a0f9e8d', reversalReason: 'TIMEOUT' };
}
