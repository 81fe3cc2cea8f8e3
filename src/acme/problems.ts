// The one table of ACME problem types (RFC 8555 §6.7, RFC 9773 §7.4) and their HTTP statuses.
// Never mint new URNs under urn:ietf:params:acme:error: (§6.7).

export const PROBLEM_STATUS = {
  accountDoesNotExist: 400,
  alreadyRevoked: 400,
  badCSR: 400,
  badNonce: 400,
  badPublicKey: 400,
  badRevocationReason: 400,
  badSignatureAlgorithm: 400,
  caa: 403,
  compound: 403,
  connection: 400,
  dns: 400,
  externalAccountRequired: 400,
  incorrectResponse: 403,
  invalidContact: 400,
  malformed: 400,
  orderNotReady: 403,
  rateLimited: 429,
  rejectedIdentifier: 400,
  serverInternal: 500,
  tls: 400,
  unauthorized: 403,
  unsupportedContact: 400,
  unsupportedIdentifier: 400,
  userActionRequired: 403,
  // RFC 9773 §7.4 (ARI): replacing a certificate that was already replaced.
  alreadyReplaced: 409,
} as const satisfies Record<string, number>;

export type ProblemName = keyof typeof PROBLEM_STATUS;

export const PROBLEM_URN_PREFIX = 'urn:ietf:params:acme:error:';

/** RFC 7807 problem document as ACME uses it (§6.7, §6.7.1). */
export interface ProblemDocument {
  type: string;
  detail: string;
  status: number;
  /** Only inside subproblems (§6.7.1: MUST NOT appear at top level). */
  identifier?: { type: string; value: string };
  subproblems?: ProblemDocument[];
  /** badSignatureAlgorithm (§6.2). */
  algorithms?: string[];
  instance?: string;
}

export interface ProblemOptions {
  subproblems?: ProblemDocument[];
  algorithms?: string[];
  /** HTTP status override: 401 for a deactivated account (§7.3.6), 405/415 for transport errors. */
  status?: number;
  /** Extra response headers (e.g. Location on a keyChange conflict, §7.3.5; Allow on 405). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** An ACME error raised anywhere in the core; src/acme/http renders it once as problem+json. */
export class AcmeProblem extends Error {
  override readonly name = 'AcmeProblem';
  readonly status: number;
  readonly subproblems?: ProblemDocument[];
  readonly algorithms?: string[];
  readonly headers?: Record<string, string>;
  constructor(readonly problem: ProblemName, detail: string, opts: ProblemOptions = {}) {
    super(detail, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = opts.status ?? PROBLEM_STATUS[problem];
    if (opts.subproblems?.length) this.subproblems = opts.subproblems;
    if (opts.algorithms) this.algorithms = opts.algorithms;
    if (opts.headers) this.headers = opts.headers;
  }

  toDocument(): ProblemDocument {
    return {
      type: PROBLEM_URN_PREFIX + this.problem,
      detail: this.message,
      status: this.status,
      ...(this.subproblems?.length ? { subproblems: this.subproblems } : {}),
      ...(this.algorithms ? { algorithms: this.algorithms } : {}),
    };
  }
}

export function problem(name: ProblemName, detail: string, opts?: ProblemOptions): AcmeProblem {
  return new AcmeProblem(name, detail, opts);
}

/** A problem document for storing in an object's `error` field or a subproblem list. */
export function problemDocument(name: ProblemName, detail: string, identifier?: { type: string; value: string }): ProblemDocument {
  return {
    type: PROBLEM_URN_PREFIX + name,
    detail,
    status: PROBLEM_STATUS[name],
    ...(identifier ? { identifier } : {}),
  };
}
