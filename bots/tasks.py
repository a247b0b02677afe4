"""Background tasks of the bot registry (django.tasks, queued in the database by django-tasks-db).

Workers run them: inside the server process by default (`manage.py serve`), or as
separate `manage.py db_worker` processes sharing the queue. Every task here is safe
to run twice or on two workers at once; the database decides who does the work.

Three queues, so that time-critical work never waits behind a slow webhook receiver:

- TIMERS ("default"): tasks due at a moment, such as the agent-assignment timeout.
  Each is a short database transaction.
- DELIVERIES ("deliveries"): webhook deliveries, each POST taking up to
  DESK_WEBHOOK_TIMEOUT_SECONDS.
- MEDIA ("media"): work on files that nobody waits for: thumbnails, and the copies of
  remote media when DESK_FETCH_REMOTE_MEDIA is on (`desk.files`).

The embedded worker keeps a thread for TIMERS alone (bots/worker.py); scaled out, a
`db_worker --queue-name default` process does the same (docs/deploy.md). Timers keep
the "default" name that every task had before the split, so rows queued by an older
release run where they belong; a delivery queued there is handed over to DELIVERIES.

Tasks that change tickets live with tickets, beside the service they run
(`desk.services`, `desk.assignment`), on the TIMERS queue.
"""

from django.tasks import TaskContext, task

from bots import delivery

TIMERS = "default"
DELIVERIES = "deliveries"
MEDIA = "media"


@task(queue_name=DELIVERIES, takes_context=True)
def deliver_webhooks(context: TaskContext, bot_pk: int) -> None:
    """POST the bot's undelivered events to its webhook, in order."""
    if context.task_result.task.queue_name != DELIVERIES:
        # Queued on the timers' queue by a release from before the split: never make
        # a timer wait behind it.
        deliver_webhooks.enqueue(bot_pk)
        return
    delivery.deliver(bot_pk)
