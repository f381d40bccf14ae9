/**
 * Every error genjobs answers with: a stable machine code, its HTTP status and the message a
 * person reads. Messages with `{placeholders}` are filled in by `apiError(code, values)`.
 * Where the platform's contract fixes a message, it is used word for word.
 * `docs/errors.md` lists every code with its status; test/api/errors.test.ts keeps the two in step.
 */
export const ERROR_CODES = {
  // 400: bad input
  invalid_request: { status: 400, message: '{detail}' },
  invalid_json: { status: 400, message: 'The request body is not valid JSON: {detail}' },
  invalid_parameter: { status: 400, message: '{detail}' },
  unknown_model: { status: 400, message: 'model: unknown model "{model}". GET /api/v1/models lists the models you can run.' },
  invalid_input: { status: 400, message: '{detail}' },
  missing_inputs: { status: 400, message: 'Missing required inputs: {labels}' },
  invalid_app_definition: { status: 400, message: 'The app definition is invalid: {detail}' },
  json_too_deep: { status: 400, message: 'The request body nests arrays and objects more than {limit} levels deep: send a flatter body' },
  balance_limit: { status: 400, message: 'amount: would take the account past the maximum balance of {max} credits (it has {current}, counting credits held by its unfinished jobs): grant at most {room}' },
  empty_upload: { status: 400, message: 'The upload is empty: send the file\'s bytes as the request body' },
  bad_url: { status: 400, message: 'The request URL is malformed: {detail}' },
  malformed_request: { status: 400, message: 'The HTTP request is malformed: {detail}' },
  // 401, 403: who is calling
  missing_token: { status: 401, message: 'Missing Authorization Bearer token' },
  invalid_api_key: { status: 401, message: 'Invalid API key' },
  invalid_worker_token: { status: 401, message: 'Invalid worker token' },
  worker_model_forbidden: { status: 403, message: 'This worker may not serve {model}: its token was issued for {models}' },
  api_access_disabled: { status: 403, message: 'API access is not enabled for this account. Ask the operator to enable it.' },
  admin_disabled: { status: 404, message: 'The admin API is disabled: set GENJOBS_ADMIN_TOKEN to enable it.' },
  invalid_admin_token: { status: 401, message: 'Invalid admin token' },
  invalid_metrics_token: { status: 401, message: 'Invalid metrics token' },
  // 402: credits
  insufficient_credits: { status: 402, message: 'Insufficient credits. Required {required}, available {available}' },
  // 404: not found (another account's objects are not found either)
  job_not_found: { status: 404, message: 'Job not found' },
  app_not_found: { status: 404, message: 'App not found' },
  worker_not_found: { status: 404, message: 'Worker not found' },
  user_not_found: { status: 404, message: 'User not found' },
  api_key_not_found: { status: 404, message: 'API key not found' },
  file_not_found: { status: 404, message: 'File not found' },
  route_not_found: { status: 404, message: 'No route {method} {url}. See docs/api.md for the routes genjobs serves.' },
  // 409: the state refuses the request
  job_not_cancellable: { status: 409, message: 'Job cannot be cancelled: its status is already {status}' },
  idempotency_conflict: { status: 409, message: 'Idempotency-Key "{key}" was used for a different request in the last 24 hours: send a new key for a new request' },
  lease_lost: { status: 409, message: 'This worker no longer holds the job: it is {status}{reason}. Stop working on it.' },
  app_is_template: { status: 409, message: 'App {id} is a template from the catalog file: change it there, not through the admin API' },
  // 408, 413, 414, 415, 416, 417, 431: the request's form
  request_timeout: { status: 408, message: 'The request was not received in time: send the whole request head and body promptly' },
  expectation_failed: { status: 417, message: 'The Expect header asks for something this server does not support: send the request without it, or with Expect: 100-continue' },
  url_too_long: { status: 414, message: 'A part of the request path is longer than {limit} characters: check the id in the URL' },
  upload_too_large: { status: 413, message: 'The upload is larger than the limit of {limit} bytes (GENJOBS_WORKER_UPLOAD_LIMIT)' },
  range_not_satisfiable: { status: 416, message: 'The requested range starts past the end of the file, which has {size} bytes' },
  headers_too_large: { status: 431, message: 'The request head (its URL and headers) is larger than the server accepts: send a shorter URL or fewer headers' },
  body_too_large: { status: 413, message: 'The request body is larger than the limit of {limit} bytes' },
  unsupported_media_type: { status: 415, message: 'Unsupported Content-Type "{type}": send application/json' },
  upload_type_mismatch: { status: 415, message: 'The upload is sent as {type}, which a .{extension} file is not: send the type its name says, application/octet-stream, or a name with the right extension' },
  // 429: rate limit
  rate_limited: { status: 429, message: 'Rate limit exceeded' },
  too_many_streams: { status: 429, message: 'Too many open event streams: {detail}. Close a stream you no longer read, or try again after Retry-After seconds.' },
  // 5xx
  internal_error: { status: 500, message: 'Internal server error. The failure was logged; try again, and report it if it persists.' },
  unavailable: { status: 503, message: 'The service is unavailable right now: {detail}. Try again shortly.' },
  not_ready: { status: 503, message: 'Not ready: {check}: {detail}' },
  // 400, fair scheduler: a run asks for more than its account may
  priority_not_allowed: { status: 400, message: 'priority: this account may ask for at most "{max}", not "{priority}". Send a lower priority, or ask the operator to raise max_priority.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
