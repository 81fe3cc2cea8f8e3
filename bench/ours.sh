#!/usr/bin/env bash
# OURS_CMD for the side-by-side harness (../shared/bench/compare.sh; see docs/performance.md):
# in the fresh $OURS_STATE_DIR it runs a real (non-dev) ceremony with the project's own CLI -- a
# root permitting bench.test and localhost (the harness's names are <prefix>-<i>.bench.test), an
# issuer intermediate signed by it and installed -- adds a node owning every name under bench.test,
# then execs `nixca serve` (so the harness measures exactly the server's PID). Passphrases are
# random, in files 0600 inside the throw-away state dir. EAB is optional here because the harness
# runs Pebble and Caddy without EAB too; names still have to belong to a node of the inventory.
# Every flow is a new account from 127.0.0.1, so the per-address account limit is raised (the
# harness is a load generator, not a fleet); the other limits keep their defaults.
# Env: NIXCA_BENCH_PORT (16443), NIXCA_BENCH_HTTP01_PORT (80: where the harness serves http-01),
#      NIXCA_BENCH_LOG_LEVEL (info), NIXCA_BENCH_SEMI_SPACE (4, as shipped),
#      NIXCA_BENCH_V8_POOL_SIZE (1, as shipped).
set -euo pipefail
S=${OURS_STATE_DIR:?OURS_STATE_DIR must be set (by ../shared/bench/peers/ours.sh)}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
nixca() { node "$ROOT/dist/cli/main.js" "$@" >/dev/null; }
umask 077
openssl rand -hex 24 > "$S/root.pass"
openssl rand -hex 24 > "$S/int.pass"
nixca root init --dir "$S/root" --name "nixca bench root (throw-away)" --permit-dns bench.test --permit-dns localhost \
  --key-algorithm ECDSA-P256 --passphrase-file "$S/root.pass"
nixca issuer init --state "$S/state" --name "nixca bench issuing CA (throw-away)" --passphrase-file "$S/int.pass"
nixca root sign-intermediate --dir "$S/root" --csr "$S/state/issuer/intermediate.csr.pem" --out "$S/intermediate.pem" \
  --passphrase-file "$S/root.pass"
nixca issuer install --state "$S/state" --cert "$S/intermediate.pem" --root "$S/root/root.pem" --passphrase-file "$S/int.pass"
nixca node add bench --dns-suffix bench.test --state "$S/state"
# The harness waits for this file, then for the directory to answer.
cp "$S/root/root.pem" "$S/tls-root.pem.tmp" && mv "$S/tls-root.pem.tmp" "$S/tls-root.pem"
# The flags of the shipped service (package.nix wrapper, nix-module NODE_OPTIONS).
exec node --max-semi-space-size="${NIXCA_BENCH_SEMI_SPACE:-4}" --v8-pool-size="${NIXCA_BENCH_V8_POOL_SIZE:-1}" "$ROOT/dist/cli/main.js" serve --state "$S/state" --listen "127.0.0.1:${NIXCA_BENCH_PORT:-16443}" \
  --http01-port "${NIXCA_BENCH_HTTP01_PORT:-80}" --eab optional --passphrase-file "$S/int.pass" \
  --log-level "${NIXCA_BENCH_LOG_LEVEL:-info}" --max-accounts-per-ip 1000000 --max-accounts-per-eab 1000000
