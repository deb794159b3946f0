import express, { type Router } from 'express';
import { z } from 'zod';
import { UnsupportedMediaTypeError } from '../shared/errors.js';
import { findUnprintable, unprintableMessage } from '../shared/text.js';
import { confirmPayment, reversePayment } from './advices.js';
import { electrumAuth, partnerCaller, posCaller } from './caller-auth.js';
import type { ElectrumDeps } from './context.js';
import { formatErrorFromZod } from './error-detail.js';
import { ElectrumError } from './errors.js';
import { notifyScan, pay } from './pay-flow.js';
import { createQrCode } from './qr-issuer.js';
import { createQrCodeRequestSchema, paymentConfirmationSchema, paymentRequestSchema, paymentReversalSchema, scanNotificationSchema } from './schemas.js';

/**
 * Parses a spec message or throws FORMAT_ERROR naming the bad field. Every string of the
 * message (rrn, stan, basketRef, third-party identifiers, names, ids) must also be printable:
 * they are stored, relayed, and shown to operators (the rrn becomes the merchant reference).
 */
function parseMessage<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ElectrumError(400, 'FORMAT_ERROR', 'Body must be a JSON object', { detailMessage: 'the request body must be a JSON object' });
  }
  const context = typeof (body as { id?: unknown }).id === 'string' ? { originalId: (body as { id: string }).id } : {};
  const parsed = schema.safeParse(body);
  const unprintable = parsed.success ? findUnprintable(parsed.data) : null;
  if (parsed.success && unprintable === null) return parsed.data;
  const error = parsed.success ? new z.ZodError([{ code: 'custom', path: unprintable?.path ?? [], message: unprintableMessage(unprintable?.found ?? ''), input: undefined }]) : parsed.error;
  const detail = formatErrorFromZod(error, context);
  throw new ElectrumError(400, 'FORMAT_ERROR', detail.errorMessage, { body: detail });
}

/**
 * The five operations of the Electrum QR Payment Service Interface v1.7.0 at the spec's
 * paths, mounted at /qr/v1. POS clients call createQrCode, pay and the advices; partners
 * call notifyScan. Failures are answered with the spec's ErrorDetail by the shared handler.
 */
export function electrumRoutes(deps: ElectrumDeps, bodyLimit: string): Router {
  const router = express.Router();
  router.use(electrumAuth(deps.settings.clients, deps.settings.partners));
  router.use((req, _res, next) => {
    if (req.method === 'POST' && !req.is('application/json')) throw new UnsupportedMediaTypeError('Content-Type must be application/json');
    next();
  });
  router.use(express.json({ limit: bodyLimit, strict: false }));

  router.post('/qrCodes', async (req, res) => {
    const response = await createQrCode(deps, posCaller(res), parseMessage(createQrCodeRequestSchema, req.body));
    res.status(201).json(response);
  });

  router.post('/scans', async (req, res) => {
    await notifyScan(deps, partnerCaller(res), parseMessage(scanNotificationSchema, req.body));
    res.status(202).end();
  });

  router.post('/payments', async (req, res) => {
    const answer = await pay(deps, posCaller(res), parseMessage(paymentRequestSchema, req.body));
    if (!res.writableEnded) res.status(answer.status).json(answer.body);
  });

  router.post('/payments/confirmations', async (req, res) => {
    const answer = await confirmPayment(deps, posCaller(res), parseMessage(paymentConfirmationSchema, req.body));
    res.status(answer.status).json(answer.body);
  });

  router.post('/payments/reversals', async (req, res) => {
    const answer = await reversePayment(deps, posCaller(res), parseMessage(paymentReversalSchema, req.body));
    res.status(answer.status).json(answer.body);
  });

  return router;
}
