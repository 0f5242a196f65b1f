"""Rasa custom actions: thin adapters from the rasa-sdk action server to :mod:`knowledge`.

Importing the package (the action server does at start-up) begins loading the FAQ service in a
background thread (see :func:`actions.runtime.warm_up_in_background`), starts the handoff
delivery thread (which picks up work a previous run left: see :func:`actions.staff.start_delivery`)
redacts contact details from the log output, and makes the server refuse calls without the
shared secret (:mod:`actions.guard`).
"""

from actions import guard, runtime, staff
from knowledge.config import Settings
from knowledge.redact import install_log_redaction

install_log_redaction()
guard.require_secret(Settings.from_env().action_secret)
runtime.warm_up_in_background()
staff.start_delivery()
