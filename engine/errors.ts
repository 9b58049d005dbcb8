/**
 * The catalogue of errors the product answers with. Every API error is `{ error: { code, message, details } }`
 * with the status below; codes are stable and documented, messages are for people.
 */
export const ErrorCodes = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_PLAYBOOK: 422,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export interface ErrorDetail {
  element?: string;
  field?: string;
  reason: string;
  line?: number;
  column?: number;
}

export class SoarError extends Error {
  override name = 'SoarError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.status = ErrorCodes[code];
  }
}

export const notFound = (what: string, id: string) => new SoarError('NOT_FOUND', `${what} ${id} not found`);

/*
 * Activity failures cross Redis as plain {name, message}: classify by `name`, never by instanceof.
 *  - RetryableError:    a timeout, a 5xx, a 429; retried with backoff.
 *  - NonRetryableError: 4xx, bad input or config; fails the job at once.
 *  - BpmnError:         a business outcome with a code, for the playbook's error events.
 */
export class RetryableError extends Error {
  override name = 'RetryableError';
}
export class NonRetryableError extends Error {
  override name = 'NonRetryableError';
}
export class BpmnError extends Error {
  override name = 'BpmnError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
