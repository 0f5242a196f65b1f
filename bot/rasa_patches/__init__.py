"""Every change the project makes to Rasa's internals: checked, applied once, at start-up.

Rasa builds the channels named in ``credentials.yml`` before it loads the model and takes
messages; each of the project's channels calls :func:`apply_all` when it is built, so the first
one applies the changes and the others change nothing. Each change goes through one helper
(:mod:`bot.rasa_patches.guard`), which refuses with :class:`PatchMismatch`, naming the change,
when the installed Rasa is of another series than the one the change was written for (3.6), the
target no longer exists, its parameters (``inspect.signature``) differ from the recorded ones, or
the Rasa function that used it no longer does; it keeps the original. ``rasa run`` then prints
that one line and exits with status 1 instead of serving with a change silently ignored. The
project's subclasses that override private Rasa methods (tracker store, socket.io and REST
channels) are checked the same way; the conversation store also checks its own at construction.

The changes (figures from bench/README.md, Rasa-server CPU per message unless said otherwise;
where there is none the change is not about speed):

.. list-table::
   :header-rows: 1

   * - what
     - Rasa object
     - why
     - measured gain
   * - action-secret
     - ``RemoteAction.__init__``
     - every call carries ``FAQBOT_ACTION_SECRET``, which the action server requires
     - none (security)
   * - action-timeout
     - ``rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT``, read by ``RemoteAction.run``
     - a hung action server costs ``FAQBOT_ACTION_TIMEOUT`` seconds, not 300; Rasa has no
       setting for it
     - none (bounds a hung call)
   * - action-response-check
     - ``RemoteAction._validate_action_result``
     - ``jsonschema.validate`` re-checks the constant schema against the meta-schema on every
       reply; the validator is built once
     - 17.6 → 0.23 ms per custom-action call
   * - action-connections
     - ``EndpointConfig.session``, read by ``EndpointConfig.request``
     - Rasa opens a new aiohttp session and TCP connection per call; one session per event loop
       and endpoint configuration instead, bodies written with ujson
     - about 8% (connections) and 6% (ujson) of the Rasa server's time; with the store's
       statements built once 8.9/9.0/9.9 → 7.9/7.4/9.6 ms
   * - graph-runner
     - the name ``DaskGraphRunner`` in ``rasa.core.processor``, read by
       ``MessageProcessor._load_model``
     - dask builds and schedules a graph of a dozen nodes for every message; the sequential
       runner computes the same nodes in order
     - 60.8 → 65.2 msg/s, 16.8 → 15.9 ms
   * - graph-runner-base
     - ``DaskGraphRunner.run``, overridden by ``SequentialGraphRunner.run``, which uses the
       ``_graph_schema`` and ``_instantiated_nodes`` its ``__init__`` sets
     - the sequential runner relies on them
     - (graph-runner)
   * - sparse-feature-join
     - ``Features._combine_sparse_features``
     - ``scipy.sparse.hstack`` goes through the general block-matrix builder; two COO matrices
       are joined directly
     - small: 8.86/8.45/9.15 → 8.80/7.99/8.95 ms
   * - client-commands
     - ``RegexMessageHandler.process``
     - a typed ``/intent{...}`` would skip understanding; only the clients' own payloads do
       (:mod:`bot.shortcuts`)
     - none (safety)
   * - store-retrieve
     - ``SQLTrackerStore._retrieve``, overridden by ``ConfiguredTrackerStore._retrieve``
     - plain SQL, event classes from a table, a long session read as its recent turns
     - reply time at turns 271–300 over turns 1–30: 4.74× → 1.07× (see bench/README.md)
   * - store-event-classes
     - ``Event._from_parameters``, called by ``bot.stores.event_from_dict``
     - stored events are built without walking every subclass of ``Event``
     - (store-retrieve: a third of Rasa's retrieval time)
   * - widget-output
     - ``rasa.core.channels.socketio.SocketIOOutput._send_message``, overridden by
       ``bot.channels.socketio.SocketIOOutput``
     - one counted ``bot_uttered`` event per message (Rasa's crashes on ``custom`` payloads)
     - none (correctness)
   * - emergency-reply-early
     - ``CollectingOutputChannel._persist_message``, overridden by
       ``bot.channels.rest.ReplyCollector``
     - the REST reply goes out once the emergency reply is ready, not after a slow handoff
     - none (not measured; the wait is at most ``EMERGENCY_GRACE_SECONDS``)
   * - socketio-engine
     - python-socketio's ``AsyncServer._engineio_server_class``, overridden by
       ``bot.channels.socketio.SocketIOServer``
     - a long-poll request that breaks the protocol is answered with a 400 at once, not after
       Sanic's 60 s
     - none (correctness)

``tests/test_rasa_patches.py`` checks every target against the recorded signature.
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Tuple

from bot.rasa_patches.guard import Change, PatchMismatch, apply, check, original

__all__ = [
    "CHANGES",
    "Change",
    "PatchMismatch",
    "apply",
    "apply_all",
    "change",
    "check",
    "check_all",
    "original",
]

_PATCHES = "bot.rasa_patches"
_ACTION = "rasa.core.actions.action"

CHANGES: Tuple[Change, ...] = (
    Change(
        name="action-secret",
        target=f"{_ACTION}:RemoteAction.__init__",
        signature="(self, name, action_endpoint)",
        install=f"{_PATCHES}.action_calls:send_secret",
    ),
    Change(
        name="action-timeout",
        target=f"{_ACTION}:DEFAULT_REQUEST_TIMEOUT",
        signature=None,
        install=f"{_PATCHES}.action_calls:request_timeout",
        read_by=f"{_ACTION}:RemoteAction.run",
    ),
    Change(
        name="action-response-check",
        target=f"{_ACTION}:RemoteAction._validate_action_result",
        signature="(self, result)",
        install=f"{_PATCHES}.action_calls:validate_once",
    ),
    Change(
        name="action-connections",
        target="rasa.utils.endpoints:EndpointConfig.session",
        signature="(self)",
        install=f"{_PATCHES}.action_calls:shared_sessions",
        read_by="rasa.utils.endpoints:EndpointConfig.request",
    ),
    Change(
        name="graph-runner",
        target="rasa.core.processor:DaskGraphRunner",
        signature="(graph_schema, model_storage, execution_context, hooks=None)",
        install=f"{_PATCHES}.graph_runner:sequential",
        read_by="rasa.core.processor:MessageProcessor._load_model",
    ),
    Change(
        name="graph-runner-base",
        target="rasa.engine.runner.dask:DaskGraphRunner.run",
        signature="(self, inputs=None, targets=None)",
        override=f"{_PATCHES}.graph_runner:SequentialGraphRunner.run",
        read_by="rasa.engine.runner.dask:DaskGraphRunner.__init__",
        names=("_graph_schema", "_instantiated_nodes"),
    ),
    Change(
        name="sparse-feature-join",
        target="rasa.shared.nlu.training_data.features:Features._combine_sparse_features",
        signature="(self, additional_features)",
        install=f"{_PATCHES}.sparse_features:join_directly",
        read_by="rasa.shared.nlu.training_data.features:Features.combine_with_features",
    ),
    Change(
        name="client-commands",
        target="rasa.nlu.classifiers.regex_message_handler:RegexMessageHandler.process",
        signature="(self, messages, domain=None)",
        install=f"{_PATCHES}.client_commands:only_client_commands",
    ),
    Change(
        name="store-retrieve",
        target="rasa.core.tracker_store:SQLTrackerStore._retrieve",
        signature="(self, sender_id, fetch_events_from_all_sessions)",
        override="bot.stores:ConfiguredTrackerStore._retrieve",
        read_by="rasa.core.tracker_store:SQLTrackerStore.retrieve",
    ),
    Change(
        name="store-event-classes",
        target="rasa.shared.core.events:Event._from_parameters",
        signature="(cls, parameters)",
    ),
    Change(
        name="widget-output",
        target="rasa.core.channels.socketio:SocketIOOutput._send_message",
        signature="(self, socket_id, response)",
        override="bot.channels.socketio:SocketIOOutput._send_message",
        read_by="rasa.core.channels.socketio:SocketIOOutput.send_text_message",
    ),
    Change(
        name="emergency-reply-early",
        target="rasa.core.channels.channel:CollectingOutputChannel._persist_message",
        signature="(self, message)",
        override="bot.channels.rest:ReplyCollector._persist_message",
        read_by="rasa.core.channels.channel:CollectingOutputChannel.send_text_message",
    ),
    Change(
        name="socketio-engine",
        target="socketio.async_server:AsyncServer._engineio_server_class",
        signature="(self)",
        override="bot.channels.socketio:SocketIOServer._engineio_server_class",
        read_by="socketio.base_server:BaseServer.__init__",
    ),
)
_BY_NAME: Dict[str, Change] = {c.name: c for c in CHANGES}


def change(name: str) -> Change:
    """The change called ``name`` (see the table above)."""
    return _BY_NAME[name]


def check_all(names: Optional[Iterable[str]] = None) -> None:
    """Check the changes called ``names`` (all when ``None``) against the installed Rasa.

    Raises:
        PatchMismatch: The first change that does not fit.
    """
    for item in CHANGES if names is None else [change(n) for n in names]:
        check(item)


def apply_all(action_timeout: float, action_secret: Optional[str] = None) -> None:
    """Check every change, then apply them (once; the other channels' calls change nothing).

    Args:
        action_timeout: seconds to wait for one custom-action call instead of Rasa's 300.
        action_secret: sent with every action call (``FAQBOT_ACTION_SECRET``), if set.

    Raises:
        PatchMismatch: A change does not fit the installed Rasa; nothing was changed.
    """
    check_all()
    if action_secret:
        apply(change("action-secret"), action_secret)
    apply(change("action-timeout"), action_timeout)
    for name in (
        "action-response-check",
        "action-connections",
        "graph-runner",
        "sparse-feature-join",
        "client-commands",
    ):
        apply(change(name))
    # The others (overrides in the project's subclasses, and a private method the store calls)
    # replace nothing: check_all() above was their whole part.
