"""Looking an instance up before acting on it, so the app answers 404 and 409 itself."""

import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from blueprints._http import conflict, not_found
from blueprints._status import status_name


async def require_instance(client: df.DurableOrchestrationClient, instance_id: str,
                           **options: bool) -> DurableOrchestrationStatus:
    """The status of `instance_id`; 404 when the task hub has no such instance."""
    status = await client.get_status(instance_id, **options)
    if not status:
        raise not_found(f"no instance with ID '{instance_id}' in this task hub")
    return status


async def require_state(client: df.DurableOrchestrationClient, instance_id: str, operation: str,
                        allowed: frozenset[str]) -> DurableOrchestrationStatus:
    """The status of `instance_id`, which must be in one of the `allowed` runtime statuses (else 409)."""
    status = await require_instance(client, instance_id)
    current = status_name(status)
    if current not in allowed:
        raise conflict(f"cannot {operation} instance '{instance_id}': it is {current}, and only "
                       f"{', '.join(sorted(allowed))} instances allow that")
    return status
