"""Changes to how the Rasa server works, applied by every input channel when it is built.

Rasa builds the channels named in ``credentials.yml`` before it loads the model and takes
messages, so this is the one place where the project's fixes to the stock ``rasa run`` take hold.
"""

from __future__ import annotations

from bot.channels.action_calls import (
    limit_action_calls,
    reuse_action_connections,
    validate_action_responses_once,
)
from bot.graph_runner import run_graphs_without_dask
from bot.sparse_features import join_sparse_features_directly


def tune_rasa_server(action_timeout: float) -> None:
    """Short action timeout, cheap action-response checks, kept connections; lighter NLU steps.

    Args:
        action_timeout: seconds to wait for one custom-action call instead of Rasa's 300.
    """
    limit_action_calls(action_timeout)
    validate_action_responses_once()
    reuse_action_connections()
    run_graphs_without_dask()
    join_sparse_features_directly()
