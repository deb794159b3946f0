import type { RequestHandler, Response } from 'express';
import type { ElectrumClient, ElectrumPartner } from '../shared/config/load.js';
import { parseBasicAuth, secretsEqual } from './basic-auth.js';
import { ElectrumError } from './errors.js';

/** Who is calling the Electrum interface: a POS client or a wallet partner. */
export type ElectrumCaller = { role: 'pos'; client: ElectrumClient } | { role: 'partner'; partner: ElectrumPartner };

/**
 * HTTP basic auth for /qr/v1: POS clients authenticate as their `client.id`, partners as
 * their `partner.id`, each with its own password. Every candidate is compared in constant
 * time so a wrong user name costs as much as a wrong password.
 */
export function electrumAuth(clients: readonly ElectrumClient[], partners: readonly ElectrumPartner[]): RequestHandler {
  return (req, res, next) => {
    const given = parseBasicAuth(req.get('authorization'));
    let caller: ElectrumCaller | null = null;
    if (given) {
      for (const client of clients) {
        if (secretsEqual(given.username, client.id) && secretsEqual(given.password, client.password) && caller === null) caller = { role: 'pos', client };
      }
      for (const partner of partners) {
        if (secretsEqual(given.username, partner.id) && secretsEqual(given.password, partner.password) && caller === null) caller = { role: 'partner', partner };
      }
    }
    if (!caller) {
      res.setHeader('WWW-Authenticate', 'Basic realm="tenderbridge-electrum", charset="UTF-8"');
      throw new ElectrumError(401, 'GENERAL_ERROR', 'Unauthorized', { detailMessage: given ? 'unknown user name or wrong password' : 'HTTP basic authentication required (user = client.id or partner.id)' });
    }
    res.locals['electrumCaller'] = caller;
    next();
  };
}

/** The authenticated POS client, or a 403-style ErrorDetail when a partner calls a POS operation. */
export function posCaller(res: Response): ElectrumClient {
  const caller = res.locals['electrumCaller'] as ElectrumCaller;
  if (caller.role !== 'pos') throw new ElectrumError(403, 'FUNCTION_NOT_SUPPORTED', 'Operation is for POS clients', { detailMessage: 'partners may only call POST /qr/v1/scans' });
  return caller.client;
}

/** The authenticated partner, or an ErrorDetail when a POS client calls notifyScan. */
export function partnerCaller(res: Response): ElectrumPartner {
  const caller = res.locals['electrumCaller'] as ElectrumCaller;
  if (caller.role !== 'partner') throw new ElectrumError(403, 'FUNCTION_NOT_SUPPORTED', 'Operation is for partners', { detailMessage: 'POS clients may not notify scans' });
  return caller.partner;
}
