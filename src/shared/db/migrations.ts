/**
 * Numbered migrations, applied in order at start-up, each in its own transaction; the
 * version lives in the database (`PRAGMA user_version`). Never edit a released migration:
 * add the next number. Kept as TypeScript strings so `dist/` needs no extra files.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'core: terminals, payments, journal, refunds, outbox, idempotency',
    sql: `
      CREATE TABLE terminals (
        id TEXT PRIMARY KEY,
        store_id TEXT NOT NULL,
        api_key_hash TEXT NOT NULL UNIQUE,
        display_profile TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('config', 'cli')),
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE payments (
        id TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        terminal_id TEXT NOT NULL,
        store_id TEXT NOT NULL,
        merchant_id TEXT NOT NULL,
        merchant_reference TEXT NOT NULL,
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
        currency TEXT NOT NULL,
        state TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        upstream_order_id TEXT UNIQUE,
        upstream_order_number TEXT,
        upstream_status TEXT,
        refunded_minor INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
        attention TEXT,
        error_code TEXT,
        error_message TEXT,
        qr_kind TEXT,
        qr_data TEXT,
        qr_text TEXT,
        resolved_by TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        final_at INTEGER,
        last_checked_at INTEGER
      ) STRICT;
      CREATE INDEX payments_terminal_created ON payments (terminal_id, created_at);
      CREATE INDEX payments_state_expires ON payments (state, expires_at);
      CREATE INDEX payments_attention ON payments (attention) WHERE attention IS NOT NULL;

      CREATE TABLE payment_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        payment_id TEXT,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT,
        version INTEGER,
        detail TEXT,
        raw_body TEXT
      ) STRICT;
      CREATE INDEX payment_events_payment ON payment_events (payment_id, seq);
      CREATE TRIGGER payment_events_append_only BEFORE UPDATE ON payment_events
      BEGIN SELECT RAISE(ABORT, 'payment_events is append-only'); END;

      CREATE TABLE refunds (
        id TEXT PRIMARY KEY,
        payment_id TEXT NOT NULL REFERENCES payments (id),
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
        state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
        reason TEXT,
        requested_by TEXT NOT NULL,
        upstream_refund_id TEXT,
        error_message TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX refunds_payment ON refunds (payment_id);

      CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        payment_id TEXT,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

      CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        payment_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (scope, key)
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'electrum: QR codes, messages, forwarded payments',
    sql: `
      CREATE TABLE electrum_qr_codes (
        tran_id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        terminal_id TEXT NOT NULL,
        provider TEXT NOT NULL CHECK (provider IN ('electrum', 'partpay')),
        scheme TEXT NOT NULL,
        qr_code TEXT NOT NULL,
        amount_minor INTEGER,
        currency TEXT,
        payment_id TEXT REFERENCES payments (id),
        state TEXT NOT NULL CHECK (state IN ('issued', 'paying', 'scanned', 'used')),
        partner_id TEXT,
        partner_payment_token TEXT,
        scan_id TEXT,
        scanned_at INTEGER,
        response_body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX electrum_qr_codes_payment ON electrum_qr_codes (payment_id);

      CREATE TABLE electrum_messages (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        sender TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        related_id TEXT,
        response_status INTEGER,
        response_body TEXT,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE electrum_payments (
        request_id TEXT PRIMARY KEY,
        payment_id TEXT NOT NULL UNIQUE REFERENCES payments (id),
        tran_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        partner_id TEXT,
        request_body TEXT NOT NULL,
        response_status INTEGER,
        response_body TEXT,
        advice TEXT CHECK (advice IN ('confirmed', 'reversed')),
        advice_id TEXT,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX electrum_payments_tran ON electrum_payments (tran_id);
    `,
  },
  {
    version: 3,
    name: 'providers behind a port: approved amounts, forward timing, provider-neutral outbox kinds',
    sql: `
      -- What the provider approved: null until an approval (late ones included); less than
      -- amount_minor for a partial approval. Settled = approved - refunded while paid.
      ALTER TABLE payments ADD COLUMN approved_minor INTEGER CHECK (approved_minor IS NULL OR (approved_minor > 0 AND approved_minor <= amount_minor));
      UPDATE payments SET approved_minor = amount_minor
        WHERE state IN ('approved', 'partially_refunded', 'refunded') OR attention = 'late_approval' OR refunded_minor > 0;

      -- An Electrum forward is in flight from forwarded_at until answered_at (the partner's answer,
      -- or our giving up on it): a reversal owed meanwhile waits for the answer.
      ALTER TABLE electrum_payments ADD COLUMN forwarded_at INTEGER;
      ALTER TABLE electrum_payments ADD COLUMN answered_at INTEGER;
      UPDATE electrum_payments SET forwarded_at = created_at, answered_at = created_at WHERE partner_id IS NOT NULL;
      -- Electrum forwards were recorded as fake order ids "electrum:<tranId>": the partner knows
      -- the payment by the POS's request id.
      UPDATE payments SET upstream_order_id = (SELECT request_id FROM electrum_payments e WHERE e.payment_id = payments.id), upstream_order_number = NULL
        WHERE provider = 'electrum' AND upstream_order_id LIKE 'electrum:%';

      -- Owed deliveries are named by what they do, whatever the provider.
      UPDATE outbox SET kind = 'upstream.cancel', payload = json_object('key', 'cancel-' || payment_id) WHERE kind = 'partpay.cancel';
      UPDATE outbox SET kind = 'upstream.refund' WHERE kind = 'partpay.refund';
      UPDATE outbox SET kind = 'upstream.cancel', payload = json_object('key', json_extract(payload, '$.adviceId'), 'reason', json_extract(payload, '$.reason'))
        WHERE kind = 'electrum.reversal';
    `,
  },
  {
    version: 4,
    name: 'schema history: which tenderbridge applied each migration',
    sql: `
      -- One row per migration applied from this one on, naming the tenderbridge version that
      -- applied it: an older build refusing this database can say which version wrote it.
      CREATE TABLE schema_history (
        version INTEGER PRIMARY KEY,
        app_version TEXT NOT NULL,
        applied_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 5,
    name: 'electrum: message ids per sender, payments per POS client, the ids partners know',
    sql: `
      -- A message id is unique only for its sender: "pos:<client>", "partner:<partner>", or
      -- "tenderbridge" for the ids we send partners (all our POS clients are one sender to them).
      CREATE TABLE electrum_messages_v5 (
        sender TEXT NOT NULL,
        id TEXT NOT NULL,
        kind TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        related_id TEXT,
        response_status INTEGER,
        response_body TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (sender, id)
      ) STRICT;
      INSERT INTO electrum_messages_v5 (sender, id, kind, request_hash, related_id, response_status, response_body, created_at)
        SELECT CASE kind WHEN 'notifyScan' THEN 'partner:' ELSE 'pos:' END || sender, id, kind, request_hash, related_id, response_status, response_body, created_at
        FROM electrum_messages;
      -- What partners were already sent: Electrum payments by the POS's request id, and the
      -- advices by the POS's advice ids (recorded ones, and those still owed).
      INSERT OR IGNORE INTO electrum_messages_v5 (sender, id, kind, request_hash, related_id, created_at)
        SELECT 'tenderbridge', e.request_id, 'pay', '', e.payment_id, e.created_at
        FROM electrum_payments e JOIN payments p ON p.id = e.payment_id WHERE p.provider = 'electrum';
      INSERT OR IGNORE INTO electrum_messages_v5 (sender, id, kind, request_hash, related_id, created_at)
        SELECT 'tenderbridge', e.advice_id, 'advice', '', e.payment_id, e.created_at
        FROM electrum_payments e JOIN payments p ON p.id = e.payment_id WHERE p.provider = 'electrum' AND e.advice_id IS NOT NULL;
      INSERT OR IGNORE INTO electrum_messages_v5 (sender, id, kind, request_hash, related_id, created_at)
        SELECT 'tenderbridge', coalesce(json_extract(o.payload, '$.key'), json_extract(o.payload, '$.adviceId')), 'advice', '', o.payment_id, o.created_at
        FROM outbox o JOIN payments p ON p.id = o.payment_id
        WHERE p.provider = 'electrum' AND coalesce(json_extract(o.payload, '$.key'), json_extract(o.payload, '$.adviceId')) IS NOT NULL;
      DROP TABLE electrum_messages;
      ALTER TABLE electrum_messages_v5 RENAME TO electrum_messages;

      -- A pay is found by its POS client and that client's request id; the partner knows an
      -- Electrum payment by partner_request_id (the POS's id unless another payment had it).
      CREATE TABLE electrum_payments_v5 (
        client_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        partner_request_id TEXT UNIQUE,
        payment_id TEXT NOT NULL UNIQUE REFERENCES payments (id),
        tran_id TEXT NOT NULL,
        partner_id TEXT,
        request_body TEXT NOT NULL,
        response_status INTEGER,
        response_body TEXT,
        advice TEXT CHECK (advice IN ('confirmed', 'reversed')),
        advice_id TEXT,
        created_at INTEGER NOT NULL,
        forwarded_at INTEGER,
        answered_at INTEGER,
        PRIMARY KEY (client_id, request_id)
      ) STRICT;
      INSERT INTO electrum_payments_v5 (client_id, request_id, partner_request_id, payment_id, tran_id, partner_id, request_body, response_status, response_body, advice, advice_id, created_at, forwarded_at, answered_at)
        SELECT e.client_id, e.request_id, CASE WHEN p.provider = 'electrum' THEN e.request_id END, e.payment_id, e.tran_id, e.partner_id, e.request_body, e.response_status, e.response_body, e.advice, e.advice_id, e.created_at, e.forwarded_at, e.answered_at
        FROM electrum_payments e LEFT JOIN payments p ON p.id = e.payment_id;
      DROP TABLE electrum_payments;
      ALTER TABLE electrum_payments_v5 RENAME TO electrum_payments;
      CREATE INDEX electrum_payments_tran ON electrum_payments (tran_id);
    `,
  },
  {
    version: 6,
    name: 'terminal API: keyset pages of a terminal\'s payments, by state and by merchant reference',
    sql: `
      -- GET /v1/payments pages by (created_at, id) within one terminal: with id in the index a
      -- page is one index range, whatever the size of the table (no sort, no skipped rows).
      DROP INDEX payments_terminal_created;
      CREATE INDEX payments_terminal_created ON payments (terminal_id, created_at, id);
      CREATE INDEX payments_terminal_state_created ON payments (terminal_id, state, created_at, id);
      CREATE INDEX payments_terminal_reference_created ON payments (terminal_id, merchant_reference, created_at, id);
    `,
  },
  {
    version: 7,
    name: 'indexes for a big file: payments by creation and settlement time, late approvals, old message ids',
    sql: `
      -- The end-of-day report and the console's newest-first lists read payments by creation
      -- time across terminals; without this, both scanned the whole table (seconds at 10 M rows).
      CREATE INDEX payments_created ON payments (created_at);
      -- The purge finds settled payments past retention by when they became final.
      CREATE INDEX payments_final ON payments (final_at) WHERE final_at IS NOT NULL;
      -- Late approvals flagged in a period (the report): a handful of journal rows among
      -- millions, found without scanning the journal. The report's query repeats this WHERE.
      CREATE INDEX payment_events_late_approval ON payment_events (at)
        WHERE kind = 'state_changed' AND json_extract(detail, '$.attention') = 'late_approval';
      -- The purge drops Electrum message ids by age.
      CREATE INDEX electrum_messages_created ON electrum_messages (created_at);
      -- The purge deletes a payment's outbox rows and idempotency keys with it.
      CREATE INDEX outbox_payment ON outbox (payment_id);
      CREATE INDEX idempotency_keys_payment ON idempotency_keys (payment_id);
      -- The purge drops delivered outbox rows by age.
      CREATE INDEX outbox_done ON outbox (updated_at) WHERE state = 'done';
      -- The report reads refunds settled in a period.
      CREATE INDEX refunds_settled ON refunds (updated_at) WHERE state = 'succeeded';

      -- Payments by provider and state, kept by triggers in the transaction that changes them:
      -- the metrics gauge read them by counting the whole table on every scrape.
      CREATE TABLE payment_counts (
        provider TEXT NOT NULL,
        state TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (provider, state)
      ) STRICT;
      INSERT INTO payment_counts (provider, state, n) SELECT provider, state, count(*) FROM payments GROUP BY provider, state;
      CREATE TRIGGER payment_counts_insert AFTER INSERT ON payments
      BEGIN
        INSERT INTO payment_counts (provider, state, n) VALUES (NEW.provider, NEW.state, 1)
          ON CONFLICT (provider, state) DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER payment_counts_update AFTER UPDATE OF provider, state ON payments
        WHEN OLD.provider IS NOT NEW.provider OR OLD.state IS NOT NEW.state
      BEGIN
        UPDATE payment_counts SET n = n - 1 WHERE provider = OLD.provider AND state = OLD.state;
        INSERT INTO payment_counts (provider, state, n) VALUES (NEW.provider, NEW.state, 1)
          ON CONFLICT (provider, state) DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER payment_counts_delete AFTER DELETE ON payments
      BEGIN
        UPDATE payment_counts SET n = n - 1 WHERE provider = OLD.provider AND state = OLD.state;
      END;
    `,
  },
  {
    version: 8,
    name: 'payment counts in stripes: several rows per provider and state, summed when read',
    sql: `
      -- On PostgreSQL, one row per provider and state was a lock every daemon's transactions
      -- queued on (each held it through its COMMIT's fsync): the counts are now kept in stripes,
      -- a change adding to or taking from one row of its provider and state, and the gauge sums
      -- them (PAYMENTS_BY_STATE_SQL). SQLite has one writer and keeps stripe 0 only; the schema
      -- stays the same on both.
      DROP TRIGGER payment_counts_insert;
      DROP TRIGGER payment_counts_update;
      DROP TRIGGER payment_counts_delete;
      CREATE TABLE payment_counts_striped (
        provider TEXT NOT NULL,
        state TEXT NOT NULL,
        n INTEGER NOT NULL,
        stripe INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (provider, state, stripe)
      ) STRICT;
      INSERT INTO payment_counts_striped (provider, state, n) SELECT provider, state, n FROM payment_counts;
      DROP TABLE payment_counts;
      ALTER TABLE payment_counts_striped RENAME TO payment_counts;
      CREATE TRIGGER payment_counts_insert AFTER INSERT ON payments
      BEGIN
        INSERT INTO payment_counts (provider, state, n) VALUES (NEW.provider, NEW.state, 1)
          ON CONFLICT (provider, state, stripe) DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER payment_counts_update AFTER UPDATE OF provider, state ON payments
        WHEN OLD.provider IS NOT NEW.provider OR OLD.state IS NOT NEW.state
      BEGIN
        INSERT INTO payment_counts (provider, state, n) VALUES (OLD.provider, OLD.state, -1)
          ON CONFLICT (provider, state, stripe) DO UPDATE SET n = n - 1;
        INSERT INTO payment_counts (provider, state, n) VALUES (NEW.provider, NEW.state, 1)
          ON CONFLICT (provider, state, stripe) DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER payment_counts_delete AFTER DELETE ON payments
      BEGIN
        INSERT INTO payment_counts (provider, state, n) VALUES (OLD.provider, OLD.state, -1)
          ON CONFLICT (provider, state, stripe) DO UPDATE SET n = n - 1;
      END;
    `,
  },
];

/** The latest schema version this build knows. */
export const LATEST_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
