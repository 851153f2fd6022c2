"""Test app for tests/e2e/test_timer_time_zone.py: a timer at 09:00 every day that starts a `Morning`
orchestration, so each firing leaves an instance whose created time is the (virtual) moment it fired."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.timer_trigger(schedule="0 0 9 * * *", arg_name="timer", run_on_startup=False)
@app.durable_client_input(client_name="client")
async def NineAM(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    await client.start_new("Morning", None, timer.schedule_status)


@app.orchestration_trigger(context_name="context")
def Morning(context: df.DurableOrchestrationContext):
    return context.get_input()
