// The server's periodic `status --probe` (src/probe/probe.ts probeFleet, the same code), with the
// latest results kept in memory only: a restart forgets them and probes again at the next tick.
import type { InventoryData } from '../inventory/model.js';
import { probeFleet, type FleetProbeOptions, type ProbeReport } from '../probe/probe.js';
import type { IssuedCertificate, RevokedCertificate } from '../status/status.js';

export interface ProbeInputs {
  inventory: InventoryData;
  certificates: readonly IssuedCertificate[];
  revocations: readonly RevokedCertificate[];
}

export interface ProbeLog {
  warn(obj: object, msg: string): void;
}

export class ProbeRunner {
  #latest: { at: Date; reports: ProbeReport[] } | null = null;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | null = null;

  constructor(
    readonly intervalMs: number,
    readonly opts: FleetProbeOptions,
    readonly read: () => Promise<ProbeInputs>,
    readonly now: () => Date,
    readonly log: ProbeLog,
  ) {}

  latest(): { at: Date; reports: ProbeReport[] } | null {
    return this.#latest;
  }

  /** One round over the fleet; concurrent callers share the round in progress. Never throws. */
  runOnce(): Promise<void> {
    this.#running ??= (async () => {
      try {
        const inputs = await this.read();
        const at = this.now();
        const reports = await probeFleet({ ...inputs, now: at }, this.opts);
        this.#latest = { at, reports };
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'fleet probe failed; the previous results are kept');
      } finally {
        this.#running = null;
      }
    })();
    return this.#running;
  }

  start(): void {
    this.stop();
    void this.runOnce();
    this.#timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
