"""Background work (notification delivery, deadline sweep, retention purge) on procrastinate.

Why procrastinate (docs/deploy.md §Background work): production already runs PostgreSQL,
and procrastinate keeps its queue there, so nothing else is deployed; jobs are claimed with
``FOR UPDATE SKIP LOCKED``, workers send heartbeats and the jobs of a dead worker are retried;
periodic tasks are deferred once per tick however many workers run. huey, RQ, dramatiq and
Celery need Redis or RabbitMQ beside the database, and huey and RQ lose a job whose worker
is killed mid-run unless more machinery is added. With SQLite (``make serve``) the same
tasks run in-process on procrastinate's in-memory connector: their state is in our tables,
so nothing is lost when the process stops.
"""
