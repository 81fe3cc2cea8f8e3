// node-postgres warns (once per process, so the watch starts when a test file loads) when a client
// is handed a query while another one runs on it: a use pg 9 turns into an error.
export function watchConcurrentQueries(): string[] {
  const seen: string[] = [];
  process.on('warning', (w) => {
    if (/already executing a query/.test(w.message)) seen.push(w.stack ?? w.message);
  });
  return seen;
}
