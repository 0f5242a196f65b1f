"""Changes to how the Rasa server works, applied by every input channel when it is built.

Rasa builds the channels named in ``credentials.yml`` before it loads the model and takes
messages, so this is the one place where the project's fixes to the stock ``rasa run`` take hold.
"""

from __future__ import annotations

from typing import Optional

from bot.channels.action_calls import (
    limit_action_calls,
    reuse_action_connections,
    send_action_secret,
    validate_action_responses_once,
)
from bot.graph_runner import run_graphs_without_dask
from bot.shortcuts import read_only_client_commands
from bot.sparse_features import join_sparse_features_directly


def tune_rasa_server(action_timeout: float, action_secret: Optional[str] = None) -> None:
    """Short action timeout, cheap checks, kept connections, lighter NLU, typed commands as text.

    Typed ``/intent{...}`` text is read as text, except the bot's own payloads (bot.shortcuts).

    Args:
        action_timeout: seconds to wait for one custom-action call instead of Rasa's 300.
        action_secret: sent with every action call (``FAQBOT_ACTION_SECRET``), if set.
    """
    if action_secret:
        send_action_secret(action_secret)
    limit_action_calls(action_timeout)
    validate_action_responses_once()
    reuse_action_connections()
    run_graphs_without_dask()
    join_sparse_features_directly()
    read_only_client_commands()
