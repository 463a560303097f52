/**
 * The HTTP error catalog: stable codes, an HTTP status, and a message that says what to do.
 * Every error response is `{ "error": { "code", "message" } }`.
 */
export const HTTP_ERRORS = {
  MW_UNAUTHORIZED: 401,
  MW_BAD_QUERY: 400,
  MW_UNKNOWN_DEVICE: 404,
  MW_UNKNOWN_METRIC: 400,
  MW_NOT_FOUND: 404,
  MW_FORBIDDEN: 403,
  MW_UNKNOWN_USER: 400,
  MW_TOO_MANY_ATTEMPTS: 429,
  MW_ALERT_NOT_FOUND: 404,
  MW_ALERT_NOT_ACKNOWLEDGED: 409,
  MW_ALERT_ALREADY_ACKNOWLEDGED: 409,
  MW_ALERT_RESOLVED: 409,
  MW_NOTE_REQUIRED: 400,
  MW_ASSIGNEE_REQUIRED: 400,
  MW_NOT_DURABLE: 503,
  MW_NO_DEMO: 404,
  MW_DRILL_RUNNING: 409,
  MW_UNKNOWN_SCENARIO: 400,
  MW_SITE_INVALID: 400,
  MW_BAD_IMAGE: 400,
  MW_PDF_NO_FONT: 503,
  MW_CLUSTER_UNAVAILABLE: 503,
  MW_INTERNAL: 500,
} as const

export type HttpErrorCode = keyof typeof HTTP_ERRORS

export class HttpError extends Error {
  readonly status: number
  constructor(
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message)
    this.status = HTTP_ERRORS[code]
  }
}
