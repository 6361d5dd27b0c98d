"""Linli (邻里): a Telegram bot that runs the service work of a residential community."""

import os

# python-telegram-bot 22 gives durations (RetryAfter.retry_after, …) as timedelta once opted in;
# without it every such read emits a deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "1")
