"""Loads a Python v2 function app and indexes its functions, as the Python worker does (sdk-protocol.md §6.1).

The module (`function_app` by default) is imported under its real name with the app folder on `sys.path`;
exactly one `azure.functions.FunctionRegister` (a `FunctionApp` or `DFApp`) must be defined in it, and
`get_functions()` — which may be called only once — gives the functions with their bindings. Durable names are
registered case-insensitively: orchestrators under the binding's `orchestration` (else the function name),
activities under `activity`, entities under `entityName` (EXT `*TriggerAttributeBindingProvider`).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func

SUPPORTED_TRIGGERS = {"httpTrigger", "timerTrigger", "orchestrationTrigger", "activityTrigger",
                      "entityTrigger", "queueTrigger", "blobTrigger"}
SUPPORTED_BINDINGS = SUPPORTED_TRIGGERS | {"http", "durableClient", "queue", "blob", "table"}


def is_output(binding: dict[str, Any]) -> bool:
    """Whether a binding's direction is `out` (the decorators give an enum, function metadata a string)."""
    direction = binding.get("direction")
    return str(getattr(direction, "name", direction)).lower() == "out"


class AppLoadError(Exception):
    """The app cannot be served: it fails to import, has no or several apps, or uses unsupported bindings."""


class FunctionLoadError(Exception):
    """One function cannot be loaded (an unsupported binding): it is listed in error and the rest of the app runs,
    as the Functions host does when a function's binding cannot be loaded (`FunctionErrors`, "The function is
    in error" in Azure's portal and `func start`'s list)."""


@dataclass
class FunctionInfo:
    """A function as the host sees it: its trigger, its bindings and the callable the worker would invoke."""

    name: str
    trigger_type: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    callable: Callable[..., Any]
    is_async: bool
    accepts_context: bool

    @property
    def durable_name(self) -> str:
        key = {"orchestrationTrigger": "orchestration", "activityTrigger": "activity",
               "entityTrigger": "entityName"}.get(self.trigger_type)
        return str(self.trigger.get(key) or self.name) if key else self.name

    @property
    def output_names(self) -> list[str]:
        """The parameter names of the output bindings the worker passes an `Out` for (all but `$return`)."""
        return [b["name"] for b in self.bindings if is_output(b) and b["name"] != "$return"]

    @property
    def input_bindings(self) -> list[dict[str, Any]]:
        """The input bindings besides the trigger and the durable client (blob, table...): the host reads them."""
        return [b for b in self.bindings if not is_output(b) and b is not self.trigger and b["name"] !=
                self.trigger["name"] and b["type"] != "durableClient"]

    def output_of_type(self, binding_type: str) -> dict[str, Any] | None:
        """The first output binding of a type (an HTTP function's `http` output, `$return` or named)."""
        return next((b for b in self.bindings if is_output(b) and b["type"] == binding_type), None)

    @property
    def client_binding(self) -> str | None:
        """The parameter name of the durable client binding, if the function declares one."""
        return next((b["name"] for b in self.bindings if b["type"] == "durableClient"), None)


@dataclass
class FunctionIndex:
    """Every function of the app, plus case-insensitive lookups of the durable ones."""

    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # functions listed in error: name -> reason
    by_kind: dict[str, dict[str, FunctionInfo]] = field(default_factory=dict)

    KINDS = {"orchestrationTrigger": "orchestrator", "activityTrigger": "activity", "entityTrigger": "entity"}

    def add(self, info: FunctionInfo) -> None:
        self.functions[info.name] = info
        kind = self.KINDS.get(info.trigger_type)
        if kind:
            self.by_kind.setdefault(kind, {})[info.durable_name.casefold()] = info

    def lookup(self, kind: str, name: str) -> FunctionInfo | None:
        return self.by_kind.get(kind, {}).get(name.casefold())

    def resolve(self, kind: str, name: str) -> str | None:
        info = self.lookup(kind, name)
        return info.durable_name if info else None

    def known(self, kind: str) -> str:
        """The "Additional info" text of the extension's unknown-function error (DurableTaskExtension.cs)."""
        names = sorted(info.durable_name for info in self.by_kind.get(kind, {}).values())
        if not names:
            return f"No {kind} functions are currently registered!"
        return f"The following are the known {kind} functions: " + ", ".join(f"'{n}'" for n in names) + "."

    def of_type(self, trigger_type: str) -> list[FunctionInfo]:
        return [info for info in self.functions.values() if info.trigger_type == trigger_type]


def load_app(app_dir: Path, target: str = "function_app:app") -> FunctionIndex:
    """Import `module[:attribute]` from `app_dir` and index its functions; a v1 app is refused."""
    module_name, _, attribute = target.partition(":")
    refuse_v1_app(app_dir, module_name)
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise AppLoadError(f"The app module '{module_name}' failed to import: "
                           f"{type(error).__name__}: {error}") from error
    registers = [value for value in vars(module).values() if isinstance(value, func.FunctionRegister)]
    if attribute:
        app = getattr(module, attribute, None)
        if not isinstance(app, func.FunctionRegister):
            raise AppLoadError(f"'{target}' is not an azure.functions.FunctionApp (or DFApp).")
    elif len(registers) == 1:
        app = registers[0]
    else:
        raise AppLoadError(f"The module '{module_name}' must define exactly one FunctionApp; "
                           f"found {len(registers)}.")
    try:
        functions = app.get_functions()
    except Exception as error:
        raise AppLoadError(f"Indexing the app failed: {error}") from error
    index = FunctionIndex()
    for function in functions:
        try:
            index.add(_describe(function))
        except FunctionLoadError as error:
            index.errors[str(function.get_function_name())] = str(error)
    return index


V2_GUIDE = ("https://learn.microsoft.com/azure/azure-functions/functions-reference-python"
            "?pivots=python-mode-decorators")


def refuse_v1_app(app_dir: Path, module_name: str) -> None:
    """A v1-model app (one folder per function with a `function.json`) and no v2 module: say so, with the guide."""
    module_path = app_dir / (module_name.replace(".", "/") + ".py")
    folders = sorted(path.parent.name for path in app_dir.glob("*/function.json"))
    if folders and not module_path.exists():
        raise AppLoadError(
            f"This is a Python v1-model app (function.json in {', '.join(folders[:5])}"
            f"{', ...' if len(folders) > 5 else ''}); the local host runs only the v2 programming model "
            f"(decorators in {module_path.name}). Migrate the app to v2: {V2_GUIDE} "
            "(and https://learn.microsoft.com/azure/azure-functions/functions-python-migrate-v2-model).")


def _describe(function: Any) -> FunctionInfo:
    name = function.get_function_name()
    trigger = function.get_trigger()
    if trigger is None:
        raise AppLoadError(f"Function '{name}' does not have a trigger.")
    bindings = [binding.get_dict_repr() for binding in function.get_bindings()]
    unsupported = sorted({b["type"] for b in bindings} - SUPPORTED_BINDINGS)
    if unsupported:
        raise FunctionLoadError(f"Function '{name}' uses binding type(s) {', '.join(unsupported)}, which the local "
                           f"host does not support (supported: {', '.join(sorted(SUPPORTED_BINDINGS))}).")
    trigger_repr = next(b for b in bindings if b["type"] == trigger.get_binding_name())
    user_function = function.get_user_function()
    parameters = inspect.signature(user_function).parameters
    return FunctionInfo(
        name=name, trigger_type=trigger_repr["type"], trigger=trigger_repr, bindings=bindings,
        callable=user_function, is_async=inspect.iscoroutinefunction(user_function),
        accepts_context="context" in parameters and trigger_repr["type"] not in (
            "orchestrationTrigger", "entityTrigger"))
