"""The one helper every change to Rasa's internals goes through: checked, applied once, kept.

A :class:`Change` names its target (``"module:Qualified.name"``) and the target's parameters as
they were when the change was written. :func:`check` refuses, with :class:`PatchMismatch`, when
the installed Rasa is of another series, the target is gone, its parameters differ, the
project's override of it no longer overrides it, or the Rasa function that used it no longer
does (a renamed constant or private method would otherwise be silently ignored). :func:`apply`
checks, keeps the original, and installs the replacement once.
"""

from __future__ import annotations

import importlib
import inspect
import types
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Optional, Tuple

from rasa.shared.exceptions import RasaException

# The Rasa release every change was written for. Another patch release of the same series is
# accepted target by target (by signature); another series is refused outright.
WRITTEN_FOR = "3.6.21"


class PatchMismatch(RasaException):
    """A change to Rasa's internals does not fit the installed Rasa: the server must not start.

    A :class:`~rasa.shared.exceptions.RasaException`, so the ``rasa`` command (and
    ``scripts/rasa_cli.py``) prints it as one line and exits with status 1.
    """

    def __init__(self, change: "Change", problem: str) -> None:
        """Name the change and what no longer fits."""
        super().__init__(
            f"the change '{change.name}' to Rasa's internals does not fit the installed "
            f"Rasa: {problem} (see bot/rasa_patches)"
        )
        self.change = change


@dataclass(frozen=True)
class Change:
    """One change to Rasa's internals, or a subclass's override of one, as it was written.

    Attributes:
        name: What the change is called in messages and in the table of :mod:`bot.rasa_patches`.
        target: ``"module:Qualified.name"`` of the object replaced, overridden or relied on.
        signature: The target's parameters when the change was written (:func:`signature_text`),
            or ``None`` for a value that is not called (a constant).
        install: ``"module:function"`` making the replacement from the original and the
            parameters given to :func:`apply`; ``None`` when nothing is replaced (only checked).
        override: ``"module:Qualified.name"`` of the project's method that overrides the target
            in a subclass; it must have the same parameters.
        read_by: ``"module:Qualified.name"`` of the Rasa function that must still use ``names``.
        names: The names ``read_by`` must use; the target's own name when empty.
    """

    name: str
    target: str
    signature: Optional[str]
    install: Optional[str] = None
    override: Optional[str] = None
    read_by: Optional[str] = None
    names: Tuple[str, ...] = ()


@dataclass(frozen=True)
class _Applied:
    original: Any
    params: Tuple[Any, ...]
    replacement: Any


_applied: Dict[str, _Applied] = {}
_MISSING = object()


def rasa_version() -> str:
    """The installed Rasa's version."""
    from rasa.version import __version__

    return str(__version__)


def signature_text(obj: Any) -> str:
    """``inspect.signature`` of ``obj`` without annotations: ``"(self, result)"``.

    Names, kinds and defaults of the parameters are what a change depends on; annotations are
    left out, as their text differs between Python versions for the same code.
    """
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    signature = inspect.signature(obj)
    parameters = [
        p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()
    ]
    return str(signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty))


def _lookup(change: Change, path: str) -> Tuple[Any, str, Any]:
    """``(holder, attribute, value)`` of ``path``, the value from the holder's own namespace."""
    module_name, _, qualname = path.partition(":")
    try:
        holder: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise PatchMismatch(change, f"{module_name} cannot be imported ({exc})") from exc
    *parents, attribute = qualname.split(".")
    for part in parents:
        holder = getattr(holder, part, _MISSING)
        if holder is _MISSING:
            break
    value = vars(holder).get(attribute, _MISSING) if holder is not _MISSING else _MISSING
    if value is _MISSING:
        raise PatchMismatch(change, f"{path} no longer exists")
    return holder, attribute, value


def _code_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_names(const)


def check(change: Change) -> None:
    """Refuse when ``change`` does not fit the installed Rasa (see the module docstring).

    Raises:
        PatchMismatch: Naming the change and what differs.
    """
    installed = rasa_version()
    if installed.split(".")[:2] != WRITTEN_FOR.split(".")[:2]:
        raise PatchMismatch(
            change, f"written for Rasa {WRITTEN_FOR}, Rasa {installed} is installed"
        )
    holder, _, value = _lookup(change, change.target)
    done = _applied.get(change.name)
    if done is not None:
        value = done.original
    if change.signature is None:
        if callable(value):
            raise PatchMismatch(change, f"{change.target} is now callable, not a value")
    else:
        try:
            found: Optional[str] = signature_text(value)
        except (TypeError, ValueError):  # not a function or class any more
            found = None
        if found != change.signature:
            raise PatchMismatch(
                change,
                f"{change.target} takes {found or 'no call'}, the change was written for "
                f"{change.signature}",
            )
    if change.override is not None:
        owner, _, mine = _lookup(change, change.override)
        if not (inspect.isclass(owner) and inspect.isclass(holder) and issubclass(owner, holder)):
            raise PatchMismatch(change, f"{change.override} no longer overrides {change.target}")
        if signature_text(mine) != change.signature:
            raise PatchMismatch(
                change, f"{change.override} takes {signature_text(mine)}, not {change.signature}"
            )
    if change.read_by is not None:
        _, _, reader = _lookup(change, change.read_by)
        function = getattr(reader, "__func__", reader)
        code = getattr(function, "__code__", None)
        used = set(_code_names(code)) if code is not None else set()
        names = change.names or (change.target.partition(":")[2].split(".")[-1],)
        missing = [name for name in names if name not in used]
        if missing:
            raise PatchMismatch(change, f"{change.read_by} no longer uses {', '.join(missing)}")


def apply(change: Change, *params: Any) -> None:
    """Check ``change``, then install its replacement made with ``params`` (once).

    Applying again with the same parameters changes nothing; with other parameters (another
    timeout) the replacement is made again from the kept original. A change without ``install``
    is only checked.

    Raises:
        PatchMismatch: The change does not fit the installed Rasa; nothing was changed.
    """
    check(change)
    if change.install is None:
        return
    done = _applied.get(change.name)
    if done is not None and done.params == params:
        return
    holder, attribute, current = _lookup(change, change.target)
    first = done.original if done is not None else current
    _, _, make = _lookup(change, change.install)
    replacement = make(first, *params)
    setattr(holder, attribute, replacement)
    _applied[change.name] = _Applied(first, params, replacement)


def original(change: Change) -> Any:
    """What ``change`` replaced (its target as Rasa defines it), whether applied or not."""
    done = _applied.get(change.name)
    if done is not None:
        return done.original
    return _lookup(change, change.target)[2]
