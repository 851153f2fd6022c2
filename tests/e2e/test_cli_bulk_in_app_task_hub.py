"""`durable bulk ... --in-app` acts through the app, which acts on its own task hub only: asked for another hub
(`--task-hub-name`), it refuses and changes nothing, rather than acting on the app's hub instead."""

from __future__ import annotations

from _app import APP_DIR, app_settings, unique
from _cli import Cli

from durable_local.testing import DURABLE_API, LocalHost

OTHER_HUB = "OldHub"


def test_in_app_bulk_purge_for_another_task_hub_is_refused_and_purges_nothing(azurite, tmp_path):
    store = tmp_path / "store.sqlite"
    prefix = unique("inapp-hub")
    seeded = [{"instanceId": f"{prefix}-{n}", "name": "HelloWorld", "runtimeStatus": "Completed"} for n in range(3)]
    env = app_settings(azurite.connection_string)
    with LocalHost(APP_DIR, store=store, task_hub=OTHER_HUB, env=env) as old:
        old.seed(seeded)
    with LocalHost(APP_DIR, store=store, env=env) as host:
        host.seed(seeded)
        durable = Cli(APP_DIR, host.base_url)
        selection = ["--instance-id-prefix", prefix, "--task-hub-name", OTHER_HUB, "--in-app"]

        dry = durable("bulk", "purge", *selection, "--dry-run")
        run = durable("bulk", "purge", *selection, "--yes")

        for result in (dry, run):
            assert result.code == 1, result.out + result.err
            assert f"act on its own task hub 'DurableFunctionsHub', not '{OTHER_HUB}'" in result.err
        for item in seeded:
            assert host.get(f"{DURABLE_API}/instances/{item['instanceId']}").status == 200
        # without --in-app the CLI acts on the hub it was given, through the Durable HTTP API
        direct = durable("bulk", "purge", "--instance-id-prefix", prefix, "--task-hub-name", OTHER_HUB, "--yes",
                         "-o", "json")
        assert direct.code == 0, direct.err
        assert direct.json()["done"] == 3
        for item in seeded:
            assert host.get(f"{DURABLE_API}/instances/{item['instanceId']}").status == 200
