"""Replaying recorded orchestration histories against an app's current orchestrator code: would this code break
the instances that are in flight?

Each record (the shared archive/export format, `durable-instance/1`: `status` and `history`) is replayed the
way the local host runs an episode, with the real Durable SDK: the orchestrator is called with the recorded
history (`EpisodeRunner._context`, the same trigger JSON the host sends), and the actions it returns are
matched against the history by the host's `Sequencer`, which applies DTFx's determinism rules (the
extension's `OutOfProcOrchestrationShim` replay: scheduled events matched by sequence id, kind and name).
The verdict per instance is:

- `ok`: the code replays the history; what it would do next (new work) is listed;
- `non-deterministic`: at sequence id N the history recorded one task and the code now schedules another (or
  nothing): deploying this code fails the instance with DTFx's "Non-Deterministic workflow detected";
- `failed`: the orchestrator raised during replay (and the instance had not failed that way), or the code
  refers to a function the app no longer has.

What it cannot catch: activity behaviour (activities are not run; their recorded results are replayed), and
non-deterministic code that happens to replay the same on this history (e.g. a branch on the clock or a
random number that took the same path). A changed timer duration is not a break for DTFx (it keeps the
recorded fire time); it is reported as a note. The host is imported lazily: only this module's `Replayer` needs
it, and only `durable replay` builds one. Each `Replayer` imports the app afresh (`fresh_app_import`), so a
process can replay twice, or replay two app folders whose modules share names.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durable_local.manage.errors import CliError, UsageError

if TYPE_CHECKING:
    from durable_local.host.indexing import FunctionIndex

EXPORT_FORMAT = "durable-instance/1"
RECORD_SUFFIXES = (".json", ".jsonl")
OK, NON_DETERMINISTIC, FAILED = "ok", "non-deterministic", "failed"
HTTP_API_CAVEAT = (
    "history from the HTTP API's view (no sequence ids, no OrchestratorStarted rows): rebuilt, best effort"
)


@dataclass
class Verdict:
    """What replaying one instance found."""

    instance_id: str
    name: str | None
    runtime_status: str | None
    outcome: str
    message: str = ""
    sequence_id: int | None = None
    recorded: str | None = None
    now: str | None = None
    next_work: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {
            "instanceId": data["instance_id"],
            "name": data["name"],
            "runtimeStatus": data["runtime_status"],
            "outcome": data["outcome"],
            "message": data["message"],
            "sequenceId": data["sequence_id"],
            "recorded": data["recorded"],
            "now": data["now"],
            "nextWork": data["next_work"],
            "notes": data["notes"],
            "source": data["source"],
        }


# -- records ----------------------------------------------------------------------------------------------
def check_record(record: Any, where: str) -> dict[str, Any]:
    """A `durable-instance/1` record with a status object and a history list, or a clear error naming `where`."""
    if not isinstance(record, dict) or record.get("format") != EXPORT_FORMAT:
        raise CliError(f'{where}: not a {EXPORT_FORMAT} record (its "format" field must be {EXPORT_FORMAT!r})')
    status, history = record.get("status"), record.get("history")
    if not isinstance(status, dict) or not isinstance(status.get("instanceId"), str):
        raise CliError(f'{where}: the record\'s "status" must be an object with an instanceId')
    if not isinstance(history, list) or not all(isinstance(item, dict) for item in history):
        raise CliError(f'{where}: the record\'s "history" must be a list of event objects')
    if record.get("historyKind") not in ("raw", "http-api"):
        raise CliError(f'{where}: "historyKind" must be "raw" or "http-api"')
    return record


def _records_of_file(path: Path) -> Iterator[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from error
    if path.suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield check_record(_json(line, f"{path}:{number}"), f"{path}:{number}")
    else:
        yield check_record(_json(text, str(path)), str(path))


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"{where} is not valid JSON ({error.msg} at line {error.lineno})") from error


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of a `.json` file (one), a `.jsonl` file (one per line) or a folder of them (sorted)."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in RECORD_SUFFIXES)
        if not files:
            raise UsageError(f"{path} holds no .json or .jsonl files")
        return [record for file in files for record in _records_of_file(file)]
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    if path.suffix not in RECORD_SUFFIXES:
        raise UsageError(f"{path}: give a .json file (one record), a .jsonl file (one per line) or a folder")
    return list(_records_of_file(path))


# -- the HTTP API's history view, rebuilt as raw events (best effort) ------------------------------------
_COMPLETIONS = {
    "TaskCompleted": ("TaskScheduled", "TaskCompleted"),
    "TaskFailed": ("TaskScheduled", "TaskFailed"),
    "SubOrchestrationInstanceCompleted": ("SubOrchestrationInstanceCreated", "SubOrchestrationInstanceCompleted"),
    "SubOrchestrationInstanceFailed": ("SubOrchestrationInstanceCreated", "SubOrchestrationInstanceFailed"),
}


def raw_from_http_view(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Raw-like events from the `showHistory` view: scheduling rows restored (ids allocated in scheduling
    order), an OrchestratorStarted before each episode's events. Right for sequential code; code that fans out
    or interleaves timers and events may be judged wrongly, which the output says."""
    from durable_local.host.history import EventType

    scheduled: list[tuple[str, dict[str, Any]]] = []
    for item in events:
        kind = str(item.get("EventType"))
        if kind in _COMPLETIONS:
            scheduled.append((str(item.get("ScheduledTime") or item.get("Timestamp") or ""), item))
        elif kind in ("TaskScheduled", "SubOrchestrationInstanceCreated", "TimerCreated"):
            scheduled.append((str(item.get("Timestamp") or ""), item))
    scheduled.sort(key=lambda pair: pair[0])
    ids = {id(item): number for number, (_, item) in enumerate(scheduled)}
    timers = [item for _, item in scheduled if item.get("EventType") == "TimerCreated"]
    raw: list[tuple[str, int, dict[str, Any]]] = []
    for order, item in enumerate(events):
        kind = str(item.get("EventType"))
        stamp = str(item.get("Timestamp") or "")
        if kind in _COMPLETIONS:
            first, second = _COMPLETIONS[kind]
            sid = ids[id(item)]
            when = str(item.get("ScheduledTime") or stamp)
            raw.append(
                (
                    when,
                    order,
                    {
                        "EventType": EventType[first],
                        "EventId": sid,
                        "Timestamp": when,
                        "Name": item.get("FunctionName"),
                        "Version": "",
                        "Input": item.get("Input"),
                    },
                )
            )
            result = item.get("Result")
            done = {
                "EventType": EventType[second],
                "EventId": -1,
                "Timestamp": stamp,
                "TaskScheduledId": sid,
                "Result": None if result is None else json.dumps(result),  # the view parsed the JSON text
            }
            if "Reason" in item:
                done.update(Reason=item.get("Reason"), Details=item.get("Details"))
            raw.append((stamp, order, done))
        elif kind in ("TaskScheduled", "SubOrchestrationInstanceCreated", "TimerCreated"):
            raw.append(
                (stamp, order, {"Version": "", **_strip(item), "EventType": EventType[kind], "EventId": ids[id(item)]})
            )
        elif kind == "TimerFired":
            fire_at = item.get("FireAt")
            match = next((t for t in timers if t.get("FireAt") == fire_at), None)
            timer_id = ids[id(match)] if match is not None else -1
            raw.append(
                (stamp, order, {**_strip(item), "EventType": EventType.TimerFired, "EventId": -1, "TimerId": timer_id})
            )
        elif kind in EventType.__members__:
            row = {**_strip(item), "EventType": EventType[kind], "EventId": -1}
            if kind == "ExecutionStarted":
                row["Name"] = row.pop("FunctionName", None)
                row.setdefault("Version", "")
            raw.append((stamp, order, row))
    raw.sort(key=lambda triple: (triple[0], triple[1]))
    rebuilt: list[dict[str, Any]] = []
    last_stamp = None
    for stamp, _, row in raw:
        if stamp != last_stamp:
            rebuilt.append(
                {"EventType": EventType.OrchestratorStarted, "EventId": -1, "Timestamp": stamp, "IsPlayed": False}
            )
            last_stamp = stamp
        rebuilt.append(row)
    return rebuilt


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key not in ("EventType", "ScheduledTime")}


# -- replay -----------------------------------------------------------------------------------------------
def _describe_event(item: dict[str, Any]) -> str:
    from durable_local.host.history import EventType

    kind = EventType(item["EventType"])
    if kind == EventType.TaskScheduled:
        return f"activity '{item.get('Name')}'"
    if kind == EventType.TimerCreated:
        return f"timer firing at {item.get('FireAt')}"
    if kind == EventType.SubOrchestrationInstanceCreated:
        return f"sub-orchestration '{item.get('Name')}'"
    return f"entity operation '{item.get('Name')}'"


def _describe_work(work: Any) -> str:
    if work is None:
        return "nothing at this sequence id"
    if work.kind == "activity":
        return f"activity '{work.name}'"
    if work.kind == "timer":
        return f"timer firing at {work.fire_at.isoformat() if work.fire_at else '?'}"
    if work.kind == "suborchestration":
        return f"sub-orchestration '{work.name}'"
    return f"entity operation '{work.name}'"


def _normalized(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events with integer `EventType` (names accepted), as the host stores them."""
    from durable_local.host.history import EventType

    events = []
    for item in history:
        kind = item.get("EventType")
        if isinstance(kind, str):
            if kind not in EventType.__members__:
                raise CliError(f"unknown history EventType {kind!r}")
            item = {**item, "EventType": int(EventType[kind])}
        events.append(item)
    return events


def _is_app_module(module: Any, folder: Path) -> bool:
    """A module loaded from the app folder, not from an environment or this project's package inside it."""
    location = getattr(module, "__file__", None)
    if location is None:  # a namespace package: its search path (read before any module is forgotten)
        spec = getattr(module, "__spec__", None)
        location = next(iter(getattr(spec, "submodule_search_locations", None) or []), None)
    if not location:
        return False
    path = Path(location).resolve()
    not_app = (Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(__file__).resolve().parents[1])
    return path.is_relative_to(folder) and not any(path.is_relative_to(other) for other in not_app)


_loaded_app_folders: set[Path] = set()


@contextmanager
def fresh_app_import(app_dir: Path, module_name: str) -> Iterator[None]:
    """Make the next import of `module_name` load the app in `app_dir` anew, as a new process would.

    Python caches imported modules: importing the app a second time would hand back the module already loaded,
    whose `FunctionApp` refuses to index its functions twice ("does not have a unique function name"), and
    another app folder's `function_app` or `blueprints` would shadow this one's. So the modules loaded from this
    and every app folder loaded before (and any module of that name) are forgotten first, and `app_dir` goes
    first on `sys.path` while the app is imported.
    """
    folder = app_dir.resolve()
    _loaded_app_folders.add(folder)
    top = module_name.split(".")[0]
    stale = [name for name, module in list(sys.modules.items())
             if name == top or name.startswith(top + ".")
             or any(_is_app_module(module, loaded) for loaded in _loaded_app_folders)]
    for name in stale:
        del sys.modules[name]
    if str(folder) in sys.path:
        sys.path.remove(str(folder))
    sys.path.insert(0, str(folder))
    yield


class Replayer:
    """An app folder's orchestrators, loaded once, replaying records one at a time."""

    def __init__(self, app_dir: Path, app_target: str | None = None, settings: dict[str, str] | None = None) -> None:
        from durable_local.host.indexing import AppLoadError, load_app  # the host, lazily

        for name, value in (settings or {}).items():
            os.environ.setdefault(name, value)
        os.environ.setdefault("AzureWebJobsScriptRoot", str(app_dir))
        target = app_target or os.environ.get("PYTHON_SCRIPT_FILE_NAME", "function_app").removesuffix(".py")
        try:
            with fresh_app_import(app_dir, target.partition(":")[0]):
                self.index: FunctionIndex = load_app(app_dir.resolve(),
                                                     target if ":" in target else f"{target}:app")
        except AppLoadError as error:
            raise CliError(f"cannot load the app in {app_dir}: {error}") from error

    def replay(self, record: dict[str, Any]) -> Verdict:
        status = record["status"]
        verdict = Verdict(
            status["instanceId"],
            status.get("name"),
            status.get("runtimeStatus"),
            OK,
            source=str(record.get("source") or ""),
        )
        try:
            history = _normalized(record["history"])
            if record.get("historyKind") == "http-api":
                history = raw_from_http_view(record["history"])
                verdict.notes.append(HTTP_API_CAVEAT)
            self._replay(history, verdict)
        except CliError as error:
            verdict.outcome, verdict.message = FAILED, error.message
        return verdict

    def _replay(self, history: list[dict[str, Any]], verdict: Verdict) -> None:
        from durable_local.host import invoke
        from durable_local.host.episodes import EpisodeRunner
        from durable_local.host.history import EventType
        from durable_local.host.records import Instance, RuntimeStatus
        from durable_local.host.sequencer import NonDeterminismError, OrchestrationFailure

        started = next((e for e in history if e.get("EventType") == EventType.ExecutionStarted), None)
        if started is None:
            raise CliError("the history has no ExecutionStarted event")
        name = str(started.get("Name") or verdict.name or "")
        verdict.name = verdict.name or name
        info = self.index.lookup("orchestrator", name)
        if info is None:
            raise CliError(f"the app has no orchestrator '{name}'; {self.index.known('orchestrator')}")
        execution_id = str((started.get("OrchestrationInstance") or {}).get("ExecutionId") or "")
        sent = [{**e, "IsPlayed": e["EventType"] != EventType.OrchestratorStarted} for e in history]
        instance = Instance(verdict.instance_id, name, execution_id, RuntimeStatus.Running, 0, 0)
        context = EpisodeRunner._context(instance, started, sent)
        outcome = EpisodeRunner._outcome(invoke.call_orchestrator(info, context))
        sequencer = _recording_sequencer_class()(
            instance_id=verdict.instance_id,
            execution_id=execution_id,
            resolve=self.index.resolve,
            known=self.index.known,
        )
        if outcome.state is not None:
            try:
                replay = sequencer.run(outcome.state.get("actions") or [], sent)
            except NonDeterminismError as error:
                recorded, work = sequencer.last
                verdict.outcome, verdict.message = NON_DETERMINISTIC, str(error)
                verdict.sequence_id = recorded.get("EventId")
                verdict.recorded, verdict.now = _describe_event(recorded), _describe_work(work)
                return
            except OrchestrationFailure as error:
                raise CliError(str(error)) from error
            verdict.next_work = [f"{work.sequence_id}: {_describe_work(work)}" for work in replay.new_work]
        verdict.notes.extend(sequencer.notes)
        if outcome.error is not None:
            recorded_failure = any(
                e.get("EventType") == EventType.ExecutionCompleted and e.get("OrchestrationStatus") == 3
                for e in history
            )
            if not recorded_failure:
                raise CliError(f"the orchestrator raised during replay: {outcome.error}")
            verdict.notes.append("replays to the failure the instance recorded")


@functools.cache
def _recording_sequencer_class() -> type:
    """The host's Sequencer, remembering the last scheduled event it matched (for the report) and noting timers
    whose fire time the code now computes differently (DTFx keeps the recorded one). Built on first use, so
    that importing this module does not import the host."""
    from durable_local.host.history import EventType, parse_time
    from durable_local.host.sequencer import Sequencer

    class RecordingSequencer(Sequencer):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.last: tuple[dict[str, Any], Any] = ({}, None)
            self.notes: list[str] = []

        def _match_scheduled(self, item: dict[str, Any]) -> None:
            work = self._pending.get(item["EventId"])
            self.last = (item, work)
            super()._match_scheduled(item)
            if item["EventType"] == EventType.TimerCreated and work is not None and work.fire_at and item.get("FireAt"):
                recorded: datetime = parse_time(item["FireAt"])
                if recorded != work.fire_at:
                    self.notes.append(
                        f"timer {item['EventId']}: the code now asks for {work.fire_at.isoformat()}, the history "
                        f"recorded {recorded.isoformat()}; an in-flight instance keeps the recorded time"
                    )

    return RecordingSequencer
