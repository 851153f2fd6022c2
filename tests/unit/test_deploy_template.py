"""The `azd up` template (azure.yaml, infra/) held to the app, since no Bicep compiler runs here: every setting the
app reads is an app setting in the Bicep and a value in local.settings.json.example, azure.yaml deploys the app
folder, `.funcignore` keeps everything else out of the package, and the template keeps the secure shape of
Microsoft's quickstart (Flex Consumption, a user-assigned identity, no shared keys, Entra-only telemetry)."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path

import pytest

from blueprints._audit import PLATFORM_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
API = INFRA / "app" / "api.bicep"
APP_SOURCES = [ROOT / "function_app.py", *sorted((ROOT / "blueprints").glob("*.py"))]
SETTING_READERS = {"setting", "number_setting"}
CONNECTION_READERS = {"resolve", "first_configured", "table_service", "blob_service", "is_configured"}
SETTING_REFERENCE = re.compile(r"^%([A-Za-z_][A-Za-z0-9_]*)%$")


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        owner = func.value
        prefix = f"{owner.attr}." if isinstance(owner, ast.Attribute) else f"{getattr(owner, 'id', '')}."
        return prefix + func.attr
    return getattr(func, "id", "")


def _module_tuples(tree: ast.Module) -> dict[str, tuple[str, ...]]:
    """Module-level `NAME = ("A", "B")` constants, to follow `first_configured(*NAME)`."""
    found: dict[str, tuple[str, ...]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
            values = [e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = tuple(values)
    return found


def settings_the_app_reads() -> tuple[set[str], list[tuple[str, ...]]]:
    """(plain settings, connection chains) read anywhere in the app: `setting("X", ...)`,
    `number_setting("X", ...)`, `os.environ.get("X")` / `os.environ["X"]`, `%X%` in a decorator argument, and
    the connection names given to the storage helpers (a chain: the first configured one is used)."""
    settings: set[str] = set()
    connections: list[tuple[str, ...]] = []
    for path in APP_SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tuples = _module_tuples(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                settings |= _settings_read_by_call(node)
                chain = _connection_chain(node, tuples)
                if chain:
                    connections.append(chain)
            elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):
                if node.value.attr == "environ" and isinstance(node.slice, ast.Constant):
                    settings.add(str(node.slice.value))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                settings |= _settings_referenced_by_decorators(node)
    return settings, connections


def _settings_read_by_call(node: ast.Call) -> set[str]:
    """`setting("X", ...)`, `os.environ.get("X")` and the like: {"X"}."""
    first = node.args[0] if node.args else None
    if _call_name(node) in SETTING_READERS | {"environ.get", "os.environ.get", "getenv", "os.getenv"} and (
        isinstance(first, ast.Constant) and isinstance(first.value, str)
    ):
        return {first.value}
    return set()


def _connection_chain(node: ast.Call, tuples: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The connection names a storage helper call is given, `*NAME` tuples followed; empty for other calls."""
    if _call_name(node).split(".")[-1] not in CONNECTION_READERS:
        return ()
    chain: list[str] = []
    for arg in node.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            chain.append(arg.value)
        elif isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Name):
            chain.extend(tuples.get(arg.value.id, ()))
    return tuple(chain)


def _settings_referenced_by_decorators(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """`%X%` in any string of a function's decorators (e.g. a timer schedule): {"X"}."""
    found: set[str] = set()
    for decorator in node.decorator_list:
        for inner in ast.walk(decorator):
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                match = SETTING_REFERENCE.match(inner.value)
                if match:
                    found.add(match.group(1))
    return found


def bicep_object(path: Path, variable: str) -> str:
    """The text of `var {variable} = ... {` up to its closing brace at the same indentation."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^var {variable} = [^\n]*\{{\n(.*?)^\}}", text, re.MULTILINE | re.DOTALL)
    assert match, f"{path.name} has no var {variable}"
    return match.group(1)


def bicep_keys(body: str) -> set[str]:
    return set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*):", body, re.MULTILINE))


def deployed_app_settings() -> set[str]:
    """Every app setting name the template gives the function app (both Durable backends)."""
    keys = bicep_keys(bicep_object(API, "baseAppSettings"))
    for variable in ("appSettings", "azureStorageBackendSettings", "schedulerBackendSettings"):
        keys |= bicep_keys(bicep_object(MAIN, variable))
    return keys


def example_values() -> dict[str, str]:
    return json.loads((ROOT / "local.settings.json.example").read_text(encoding="utf-8"))["Values"]


def _connection_present(name: str, keys: set[str] | dict[str, str]) -> bool:
    return name in keys or any(key.startswith(name + "__") for key in keys)


def test_the_scan_finds_the_settings_the_app_is_known_to_read():
    settings, connections = settings_the_app_reads()
    assert {"PURGE_SCHEDULE", "RETENTION_DAYS", "PAYLOAD_TABLE_NAME", "CONFIG_TABLE_NAME",
            "WEBSITE_AUTH_ENABLED"} <= settings
    assert ("APP_STORAGE_CONNECTION", "AzureWebJobsStorage") in connections


def test_every_setting_the_app_reads_is_a_deployed_app_setting():
    settings, connections = settings_the_app_reads()
    settings -= set(PLATFORM_SETTINGS)  # App Service sets these itself
    deployed = deployed_app_settings()
    assert sorted(settings - deployed) == []
    for chain in connections:
        assert any(_connection_present(name, deployed) for name in chain), chain


def test_every_setting_the_app_reads_is_in_the_local_settings_example():
    settings, connections = settings_the_app_reads()
    settings -= set(PLATFORM_SETTINGS)
    values = example_values()
    assert sorted(settings - set(values)) == []
    for chain in connections:
        assert any(_connection_present(name, values) for name in chain), chain


def test_azure_yaml_deploys_the_app_folder_as_a_python_function_app():
    text = (ROOT / "azure.yaml").read_text(encoding="utf-8")
    service = re.search(r"^services:\n  api:\n((?:    .*\n)+)", text, re.MULTILINE)
    assert service, text
    fields = dict(re.findall(r"^    (\w+): (.+)$", service.group(1), re.MULTILINE))
    assert fields == {"project": "./", "language": "python", "host": "function"}
    app_dir = (ROOT / fields["project"]).resolve()
    for name in ("function_app.py", "host.json", "requirements.txt", "blueprints"):
        assert (app_dir / name).exists(), name


def test_funcignore_keeps_the_local_host_tests_infra_and_tooling_out_of_the_package():
    ignored = {line.strip() for line in (ROOT / ".funcignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {"src/", "tests/", "bench/", "scripts/", "infra/", "azure.yaml", "docs/", "node_modules/",
            "local.settings.json", "pyproject.toml"} <= ignored
    assert not ignored & {"function_app.py", "blueprints/", "host.json", "requirements.txt"}


def test_every_parameter_azd_passes_is_declared_in_main_bicep():
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    declared = set(re.findall(r"^param (\w+) ", MAIN.read_text(), re.MULTILINE))
    assert set(parameters) <= declared
    assert parameters["durableBackend"]["value"] == "${DURABLE_BACKEND=AzureStorage}"


def test_every_local_module_the_template_uses_exists():
    for path in INFRA.rglob("*.bicep"):
        for module in re.findall(r"^module \w+ '([^']+)'", path.read_text(), re.MULTILINE):
            if not module.startswith("br/"):
                assert (path.parent / module).is_file(), f"{path.name}: {module}"


def test_template_has_no_keys_flex_consumption_and_a_user_assigned_identity():
    main, api = MAIN.read_text(), API.read_text()
    assert "allowSharedKeyAccess: false" in main
    assert "name: 'FC1'" in main and "tier: 'FlexConsumption'" in main
    assert "disableLocalAuth: true" in main
    assert "'ClientId=${identityClientId};Authorization=AAD'" in api
    base = bicep_keys(bicep_object(API, "baseAppSettings"))
    assert {f"AzureWebJobsStorage__{k}" for k in ("credential", "clientId", "blobServiceUri", "queueServiceUri",
                                                     "tableServiceUri")} <= base
    everything = "\n".join(p.read_text() for p in INFRA.rglob("*.bicep"))
    assert not re.search(r"AccountKey|listKeys\(|connectionString\(", everything, re.IGNORECASE)
    assert "AzureWebJobsStorage:" not in everything  # no connection string for the host either


def test_roles_cover_blob_queue_table_monitoring_and_the_scheduler():
    rbac = (INFRA / "app" / "rbac.bicep").read_text()
    for role in ("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
                 "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "3913510d-42f4-4e42-8a64-420c390055eb",
                 "0ad04412-c4d5-4796-b79c-f76d14c8d402"):
        assert role in rbac


def test_python_version_is_one_the_project_supports():
    allowed = re.search(r"@allowed\(\[([^\]]*)\]\)\nparam pythonVersion", MAIN.read_text())
    assert allowed
    versions = re.findall(r"'(3\.\d+)'", allowed.group(1))
    minimum = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    floor = tuple(int(p) for p in minimum.removeprefix(">=").split("."))
    assert versions and all(tuple(int(p) for p in v.split(".")) >= floor for v in versions)


def test_durable_task_scheduler_is_one_parameter_away():
    main = MAIN.read_text()
    scheduler = bicep_object(MAIN, "schedulerBackendSettings")
    assert "'Endpoint=${scheduler.outputs.endpoint};Authentication=ManagedIdentity;ClientID=" in scheduler
    assert "AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'" in scheduler
    assert ("AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: "
            "'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'") in scheduler
    assert "var useScheduler = durableBackend == 'DurableTaskScheduler'" in main
    assert "module scheduler 'app/dts.bicep' = if (useScheduler)" in main
    # The scheduler's autopurge follows RETENTION_DAYS, longer when the archive is on.
    assert re.search(r"schedulerRetentionDays = .*empty\(archiveContainer\) \? int\(retentionDays\) : "
                     r"int\(retentionDays\) \+ archiveGraceDays", main)
    dts = (INFRA / "app" / "dts.bicep").read_text()
    assert "Microsoft.DurableTask/schedulers@" in dts and "'taskHubs'" in dts and "'retentionPolicies'" in dts


def test_one_host_json_serves_both_backends():
    host = json.loads((ROOT / "host.json").read_text())
    assert "storageProvider" not in host["extensions"]["durableTask"]
    default_hub = re.search(r"^param taskHubName string = '(\w+)'", MAIN.read_text(), re.MULTILINE)
    assert default_hub and default_hub.group(1) == host["extensions"]["durableTask"]["hubName"]


def test_flex_consumption_keeps_an_always_ready_instance_for_durable():
    api = API.read_text()
    assert "{ name: 'durable', instanceCount: durableAlwaysReadyInstances }" in api
    assert re.search(r"^param durableAlwaysReadyInstances string = '1'", MAIN.read_text(), re.MULTILINE)


@pytest.mark.parametrize("path", sorted(INFRA.rglob("*.json")), ids=lambda p: p.name)
def test_infra_json_files_parse(path):
    assert isinstance(json.loads(path.read_text()), dict)
