// "Who looked": on a listener that requires operator certificates, each operator's view is written
// to the audit log (event dashboard.viewed) before the page is served, at most once an hour per
// certificate so that the page's own polling does not flood the log. Fail closed: when the entry
// cannot be written, the view is refused (the caller answers 503).
import { appendAudit } from '../audit/log.js';
import type { OperatorLook } from './http/server.js';

export const VIEW_RECORD_EVERY_MS = 3_600_000;

export class ViewAudit {
  readonly #recorded = new Map<string, { at: number; pending: Promise<void> }>();

  constructor(
    readonly stateDir: string,
    readonly now: () => Date,
    readonly everyMs = VIEW_RECORD_EVERY_MS,
    readonly append: typeof appendAudit = appendAudit,
  ) {}

  async seen(look: OperatorLook): Promise<void> {
    const t = this.now().getTime();
    const prev = this.#recorded.get(look.serial);
    if (prev && t - prev.at < this.everyMs) return prev.pending;
    const pending = this.append(this.stateDir, {
      type: 'dashboard.viewed',
      subject: look.name,
      details: { serial: look.serial, remoteAddress: look.remoteAddress },
      time: new Date(t),
    }).then(() => undefined);
    this.#recorded.set(look.serial, { at: t, pending });
    try {
      await pending;
    } catch (err) {
      // Not recorded: the next request tries again instead of riding on this failure.
      this.#recorded.delete(look.serial);
      throw err;
    }
  }
}
