// The throw-away PostgreSQL cluster lives with the benchmark (bench/lib/pg-cluster.ts), which
// starts one for `npm run bench -- --store temp`; the tests use the same helper.
export * from '../../bench/lib/pg-cluster.js';
