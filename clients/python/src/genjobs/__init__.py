"""genjobs: the Python client of a genjobs server (standard library only).

    from genjobs import GenJobs
    client = GenJobs()  # GENJOBS_BASE_URL and GENJOBS_API_KEY
    job = client.run("local/image", {"prompt": "a lighthouse at dusk"}, wait=True)
    print(client.download(job, "out"))
"""
from ._client import GenJobs
from ._paging import JobList
from ._runs import AUTO
from ._version import __version__
from .errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    GenJobsError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    WaitTimeoutError,
    WebhookVerificationError,
)
from .jobs import Jobs
from .types import (
    TERMINAL_STATUSES,
    Account,
    AccountApiKeys,
    AccountUsage,
    App,
    AppInput,
    BulkCancelResult,
    Job,
    JobEvent,
    JobPage,
    JobStatus,
    LedgerEntry,
    Model,
    ModelSetting,
    RunType,
    WebhookEvent,
)
from .webhooks import verify_webhook

__all__ = [
    "AUTO", "TERMINAL_STATUSES", "Account", "AccountApiKeys", "AccountUsage", "ApiConnectionError", "ApiError",
    "ApiTimeoutError", "App", "AppInput", "AuthenticationError", "BadRequestError", "BulkCancelResult",
    "ConflictError", "GenJobs", "GenJobsError", "InsufficientCreditsError", "Job", "JobEvent", "JobList", "JobPage",
    "JobStatus", "Jobs", "LedgerEntry", "Model", "ModelSetting", "NotFoundError", "PermissionDeniedError",
    "RateLimitError", "RunType", "ServerError", "WaitTimeoutError", "WebhookEvent", "WebhookVerificationError",
    "__version__", "verify_webhook",
]
