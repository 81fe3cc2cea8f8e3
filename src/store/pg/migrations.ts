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
];

/** The newest schema this build knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
