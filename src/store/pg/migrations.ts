// The schema of the shared store, as numbered migrations applied in order (src/store/pg/migrate.ts).
// A migration is never edited once released: its checksum is recorded when applied and compared at
// every migrate, so a changed history is refused rather than silently diverging.
//
// Records are kept as JSONB documents (the ACME core's model, src/acme/model.ts) next to the
// columns the database must index or enforce: uniqueness of serials, of account key thumbprints
// and of one certificate per order (finalize) are constraints here, not process memory.
// Challenges live inside their authorization's document (as Boulder's authz2 rows hold theirs):
// they are only ever read and written with it.
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'acme store, nonces, CRL number',
    sql: `
CREATE TABLE nixca_meta (
  key text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE accounts (
  id text PRIMARY KEY,
  -- RFC 7638 thumbprint of the current key: one account per key (RFC 8555 §7.3.1, §7.3.5).
  thumbprint text NOT NULL UNIQUE,
  node text,
  record jsonb NOT NULL,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_node ON accounts (node) WHERE node IS NOT NULL;

CREATE TABLE authorizations (
  id text PRIMARY KEY,
  account_id text NOT NULL REFERENCES accounts (id),
  identifier text NOT NULL,
  expires timestamptz NOT NULL,
  -- A valid challenge, not deactivated, not revoked: a candidate for reuse (RFC 8555 §7.1.3).
  reusable boolean NOT NULL,
  record jsonb NOT NULL,
  version integer NOT NULL DEFAULT 1
);
CREATE INDEX authorizations_reuse ON authorizations (account_id, identifier, expires DESC) WHERE reusable;
CREATE INDEX authorizations_expires ON authorizations (expires);

CREATE TABLE orders (
  id text PRIMARY KEY,
  account_id text NOT NULL REFERENCES accounts (id),
  authorization_ids text[] NOT NULL,
  expires timestamptz NOT NULL,
  replaces_serial text,
  certificate_serial text,
  record jsonb NOT NULL,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL
);
CREATE INDEX orders_account ON orders (account_id, created_at);
CREATE INDEX orders_replaces ON orders (replaces_serial) WHERE replaces_serial IS NOT NULL;
CREATE INDEX orders_expires ON orders (expires);
CREATE INDEX orders_authorizations ON orders USING gin (authorization_ids);

CREATE TABLE certificates (
  serial text PRIMARY KEY CHECK (serial ~ '^[0-9a-f]+$'),
  -- One finalize per order: a second certificate for the same order is refused by the database.
  order_id text NOT NULL UNIQUE,
  account_id text NOT NULL,
  node text,
  not_after timestamptz NOT NULL,
  replaces text,
  spki_sha256 text NOT NULL,
  record jsonb NOT NULL,
  chain_pem text NOT NULL,
  issued_seq bigserial NOT NULL
);
CREATE INDEX certificates_node ON certificates (node, not_after);
CREATE INDEX certificates_account ON certificates (account_id);
CREATE INDEX certificates_replaces ON certificates (replaces) WHERE replaces IS NOT NULL;
CREATE INDEX certificates_seq ON certificates (issued_seq);

CREATE TABLE revocations (
  serial text PRIMARY KEY,
  revoked_at timestamptz NOT NULL,
  record jsonb NOT NULL,
  seq bigserial NOT NULL
);

-- RFC 5280 §5.2.3: CRL numbers only grow, across every instance (one row, updated in place).
CREATE TABLE crl_number (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  n bigint NOT NULL CHECK (n >= 0)
);
INSERT INTO crl_number (one, n) VALUES (true, 0);

-- RFC 8555 §6.5 across instances: nonces are MACed with a shared key (nixca_meta 'nonce-key'),
-- and each accepted nonce is inserted here once; the primary key makes a replay fail.
CREATE TABLE nonces_used (
  nonce text PRIMARY KEY,
  expires timestamptz NOT NULL
);
CREATE INDEX nonces_used_expires ON nonces_used (expires);

-- /health's proof of a durable write, one row per instance (also shows which instances run).
CREATE TABLE instances (
  id text PRIMARY KEY,
  seen_at timestamptz NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'inventory',
    sql: `
-- The fleet inventory (nodes, names, EAB credentials, signing-key states) as one document, as
-- the embedded inventory.json: changes are whole-document read-modify-writes under a row lock,
-- announced with NOTIFY nixca_inventory so that every instance re-reads it at once.
CREATE TABLE inventory (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  version bigint NOT NULL,
  data jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 3,
    name: 'audit chain',
    sql: `
-- The audit log of every instance as ONE hash chain (src/ca/chainlog.ts: each entry signs its own
-- canonical bytes and names the previous entry's SHA-256). An entry is appended under the row lock
-- of audit_head, in the transaction that commits what it records (a certificate, a revocation, an
-- inventory change): both are committed or neither.
--
-- Each instance signs with its own audit key (the one in its --state); audit_signers lists every
-- key that ever signed, with the certificate(s) the issuer gave it and the intermediate that issued
-- them, so that "nixca audit verify --store" can check every entry up to the root from any host.
CREATE TABLE audit_signers (
  -- SHA-256 (hex) of the key's SPKI DER, as the file log's audit.init names it.
  key_id text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{64}$'),
  -- SPKI DER, base64 (ECDSA P-256).
  public_key text NOT NULL,
  -- PEM: audit certificate(s) for this key and the intermediate(s) that issued them.
  certificates text NOT NULL DEFAULT '',
  added_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_entries (
  seq bigint PRIMARY KEY CHECK (seq >= 0),
  key_id text NOT NULL REFERENCES audit_signers (key_id),
  event text NOT NULL,
  subject text NOT NULL,
  node text,
  time timestamptz NOT NULL,
  -- SHA-256 (hex) of the entry's canonical bytes: the next entry's prev.
  hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  -- The entry exactly as a line of the file log (canonical JSON, without the newline).
  entry text NOT NULL
);
-- Start-up recovery and verify: "has this certificate / revocation its entry?"
CREATE INDEX audit_entries_subject ON audit_entries (event, subject);
CREATE INDEX audit_entries_node ON audit_entries (node, seq) WHERE node IS NOT NULL;

-- The newest entry, updated in the same transaction as each append: a chain cut off at the end
-- (rows deleted) no longer reaches the recorded head, which verify reports. seq -1: no entry yet.
-- SELECT … FOR UPDATE on this row is the append lock.
CREATE TABLE audit_head (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  seq bigint NOT NULL CHECK (seq >= -1),
  hash text NOT NULL
);
INSERT INTO audit_head (one, seq, hash) VALUES (true, -1, repeat('0', 64));

-- Entries are never changed or removed by nixca. The trigger stops mistakes (an UPDATE or DELETE
-- by hand), not an owner who disables it: that is what the chain, the signatures and audit_head
-- (and an anchor kept elsewhere, nixca audit head) are for.
CREATE FUNCTION nixca_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
  FOR EACH ROW EXECUTE FUNCTION nixca_audit_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
  FOR EACH STATEMENT EXECUTE FUNCTION nixca_audit_append_only();
`,
  },
];

/** The newest schema this build knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
