"""Rasa custom actions: thin adapters from the rasa-sdk action server to :mod:`knowledge`.

Importing the package (the action server does at start-up) begins loading the FAQ service in a
background thread; see :func:`actions.runtime.warm_up_in_background`.
"""

from actions import runtime

runtime.warm_up_in_background()
