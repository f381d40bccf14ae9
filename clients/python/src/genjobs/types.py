"""The objects of the genjobs API as dataclasses.

Each has the contract's fields as attributes (snake_case: the models' `inputTypes` is
`input_types`). Fields this version does not know, sent by a newer server, are kept in `extra`
rather than dropped, and `to_dict()` gives the object back as the server sent it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Literal, Mapping, Optional, Tuple, Type, TypeVar

T = TypeVar("T", bound="Record")

JobStatus = Literal["pending", "processing", "completed", "failed", "cancelled"]
"""Where a job is: `pending` (queued), `processing` (claimed), then one terminal status."""

RunType = Literal["model", "app"]
"""What a job runs: one model, or an app (a workflow of model nodes)."""

TERMINAL_STATUSES = frozenset(("completed", "failed", "cancelled"))
"""Statuses a job never leaves."""


def _wire(name: str) -> Any:
    """A field whose key on the wire is `name` (the API's camelCase), not the attribute's."""
    return field(default=None, metadata={"wire": name})


@dataclass
class Record:
    """The common part: reading from and writing back to the API's JSON."""

    # attribute -> (list or one, class) for fields holding nested records
    _nested: ClassVar[Dict[str, Tuple[bool, Type[Record]]]] = {}

    extra: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls: Type[T], data: Mapping[str, Any]) -> T:
        """Builds the object from the API's JSON; keys it does not know go to `extra`."""
        known: Dict[str, Any] = {}
        taken = set()
        for f in dataclasses.fields(cls):
            if f.name == "extra":
                continue
            key = f.metadata.get("wire", f.name)
            if key not in data:
                continue
            taken.add(key)
            value = data[key]
            nested = cls._nested.get(f.name)
            if nested is not None and value is not None:
                many, kind = nested
                value = [kind.from_dict(v) for v in value] if many else kind.from_dict(value)
            known[f.name] = value
        extra = {k: v for k, v in data.items() if k not in taken}
        return cls(**known, extra=extra)

    def to_dict(self) -> Dict[str, Any]:
        """The object as API JSON: its fields under their wire names, then the unknown ones."""
        out: Dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if isinstance(value, Record):
                value = value.to_dict()
            elif isinstance(value, list):
                value = [v.to_dict() if isinstance(v, Record) else v for v in value]
            out[f.metadata.get("wire", f.name)] = value
        out.update(self.extra)
        return out


@dataclass
class Job(Record):
    """A job: one run of a model or an app. Fields absent from an answer (a cancel's, say) are None."""

    id: str = ""
    object: str = "job"
    run_type: Optional[str] = None
    """`model` or `app`."""
    model_id: Optional[str] = None
    app_id: Optional[str] = None
    status: Optional[str] = None
    input_data: Optional[Dict[str, Any]] = None
    output_data: Optional[Dict[str, Any]] = None
    """Model run: `{"outputImage": url}` (or outputVideo, outputAudio, outputText); app run:
    `{"app_id", "app_name", "node_outputs": {node_id: {...}}}`."""
    error_message: Optional[str] = None
    credits_charged: Optional[int] = None
    created_at: Optional[str] = None
    completed_at: Optional[str] = None
    webhook_delivered: Optional[bool] = None
    started_at: Optional[str] = None
    cancelled_at: Optional[str] = None
    credits_refunded: Optional[int] = None
    progress: Optional[float] = None
    retry_of: Optional[str] = None
    cancel_after_at: Optional[str] = None
    """Only when the run sent `Cancel-After`."""
    queue_position: Optional[int] = None
    """Only while pending: how many pending jobs are ahead."""
    model: Optional[str] = None
    """Run answers only: the platform's name for `model_id`."""
    output: Optional[Dict[str, Any]] = None
    """Run answers only: the platform's name for `output_data`."""
    app_name: Optional[str] = None
    """App run answers only."""

    @property
    def is_terminal(self) -> bool:
        """Whether the job has reached a status that never changes again."""
        return self.status in TERMINAL_STATUSES

    @property
    def output_urls(self) -> List[str]:
        """Every http(s) URL among the outputs (an app's node by node, in node order)."""
        data = self.output_data or {}
        outputs = list(data.get("node_outputs", {}).values()) if "node_outputs" in data else [data]
        urls: List[str] = []
        for out in outputs:
            if not isinstance(out, dict):
                continue
            for value in out.values():
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and item.startswith(("http://", "https://")):
                        urls.append(item)
        return urls


@dataclass
class ModelSetting(Record):
    """One setting a model takes in its `input`."""

    key: str = ""
    label: Optional[str] = None
    input_type: Optional[str] = _wire("inputType")
    default_value: Any = _wire("defaultValue")
    options: Optional[List[Any]] = None
    min: Optional[float] = None
    max: Optional[float] = None
    required: Optional[bool] = None


@dataclass
class Model(Record):
    """A model of the catalog, as `GET /api/v1/models` lists it."""

    _nested = {"settings": (True, ModelSetting)}

    id: str = ""
    name: Optional[str] = None
    modality: Optional[str] = None
    """image, video, audio, text or 3d."""
    cost: Optional[int] = None
    input_types: Optional[List[str]] = _wire("inputTypes")
    prompt_required: Optional[bool] = _wire("promptRequired")
    output_type: Optional[str] = _wire("outputType")
    description: Optional[str] = None
    settings: List[ModelSetting] = field(default_factory=list)
    sync: Optional[bool] = None
    """Whether a run answers with the finished job (within the server's synchronous window)."""


@dataclass
class AppInput(Record):
    """One input an app run sends in `inputs`, under its `id`."""

    id: str = ""
    type: Optional[str] = None
    label: Optional[str] = None
    required: Optional[bool] = None
    target_handle: Optional[str] = _wire("targetHandle")
    allow_multiple: Optional[bool] = _wire("allowMultiple")
    """The value is a list."""


@dataclass
class App(Record):
    """An app (a workflow of model nodes) the account may run, as `GET /api/v1/apps` lists it."""

    _nested = {"inputs": (True, AppInput)}

    id: str = ""
    object: str = "app"
    name: Optional[str] = None
    description: Optional[str] = None
    icon: Optional[str] = None
    thumbnail_url: Optional[str] = None
    is_template: Optional[bool] = None
    tags: List[str] = field(default_factory=list)
    inputs: List[AppInput] = field(default_factory=list)
    cost: Optional[int] = None


@dataclass
class AccountUsage(Record):
    credits_used_last_30d: Optional[int] = None
    total_requests_last_30d: Optional[int] = None
    total_jobs: Optional[int] = None


@dataclass
class AccountApiKeys(Record):
    active: Optional[int] = None


@dataclass
class Account(Record):
    """The key's account, as `GET /api/v1/account` answers."""

    _nested = {"usage": (False, AccountUsage), "api_keys": (False, AccountApiKeys)}

    object: str = "account"
    user_id: str = ""
    credits: Optional[int] = None
    subscription: Optional[str] = None
    usage: Optional[AccountUsage] = None
    api_keys: Optional[AccountApiKeys] = None


@dataclass
class LedgerEntry(Record):
    """One move of credits: a grant, a charge (negative) or a refund (positive)."""

    id: str = ""
    object: str = "ledger_entry"
    kind: Optional[str] = None
    amount: Optional[int] = None
    balance_after: Optional[int] = None
    job_id: Optional[str] = None
    reason: Optional[str] = None
    created_at: Optional[str] = None


@dataclass
class BulkCancelResult(Record):
    """The answer to `jobs.cancel_many`."""

    object: str = "bulk_cancel"
    cancelled: int = 0
    ids: List[str] = field(default_factory=list)
    credits_refunded: int = 0


@dataclass
class JobPage(Record):
    """One page of `GET /api/v1/jobs`, newest first; `has_more` says whether another follows."""

    _nested = {"data": (True, Job)}

    object: str = "list"
    data: List[Job] = field(default_factory=list)
    has_more: bool = False


@dataclass
class JobEvent:
    """One server-sent event of a job's stream.

    `event` is `status` (then `job` is the whole job), `progress` (`data` is `{"id", "progress"}`),
    `log` (`{"id", "seq", "line"}`) or `node` (`{"id", "node_id", "output"}`); `id` is the event's
    id (`end` on the last one).
    """

    event: str
    id: Optional[str]
    data: Any
    job: Optional[Job] = None


@dataclass
class WebhookEvent:
    """A verified webhook delivery: `event` is `job.completed`, `job.failed` or `job.cancelled`."""

    event: str
    job: Job
    raw: Dict[str, Any] = field(repr=False)
