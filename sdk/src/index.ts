export { GenJobs, type GenJobsOptions } from './client.js';
export { Jobs, isTerminal, type WaitOptions, type EventsOptions } from './jobs.js';
export type { RunOptions } from './runs.js';
export type { CallOptions } from './http.js';
export { PagedList } from './paging.js';
export { readEvents, type RawEvent } from './sse.js';
export { SDK_ROUTES, type SdkRoute } from './routes.js';
export { verifyWebhook, type VerifyWebhookOptions } from './webhooks.js';
export {
  ApiError, BadRequestError, AuthenticationError, InsufficientCreditsError, PermissionDeniedError, NotFoundError,
  ConflictError, RateLimitError, ServerError, ConnectionError, TimeoutError, WaitTimeoutError, WebhookVerificationError,
} from './errors.js';
export type * from './types.js';
export type { paths, components, operations } from './generated/openapi.js';
