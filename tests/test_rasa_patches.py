"""Changes to Rasa's internals: every target as recorded, refused when it differs, applied once."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest
import rasa.core.actions.action as rasa_actions
from rasa.core.actions.action import RemoteAction
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_patches import (
    CHANGES,
    Change,
    PatchMismatch,
    apply,
    apply_all,
    change,
    check,
    check_all,
    guard,
    original,
)
from bot.rasa_patches.action_calls import SECRET_HEADER, _SharedSession
from bot.rasa_patches.guard import WRITTEN_FOR, signature_text

ROOT = Path(__file__).resolve().parent.parent
HERE = "tests.test_rasa_patches"


class _Greeter:
    """A stand-in for a Rasa class, so that applying and refusing touch nothing of Rasa's."""

    def greet(self, name: str) -> str:
        return f"hello {name}"


_TIMEOUT = 300  # a stand-in for a Rasa module constant


def _reads_timeout() -> float:
    return _TIMEOUT * 1.0


def _louder(original: Callable[..., str]) -> Callable[..., str]:
    def greet(self: _Greeter, name: str) -> str:
        return original(self, name).upper()

    return greet


def _value(original: float, seconds: float) -> float:
    return seconds


GREET = Change(
    name="test-greet",
    target=f"{HERE}:_Greeter.greet",
    signature="(self, name)",
    install=f"{HERE}:_louder",
)
TIMEOUT = Change(
    name="test-timeout",
    target=f"{HERE}:_TIMEOUT",
    signature=None,
    install=f"{HERE}:_value",
    read_by=f"{HERE}:_reads_timeout",
)


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The stand-ins as defined, and a registry of applied changes of this test's own."""
    monkeypatch.setattr(guard, "_applied", dict(guard._applied))
    monkeypatch.setattr(_Greeter, "greet", _Greeter.__dict__["greet"])
    monkeypatch.setattr(sys.modules[__name__], "_TIMEOUT", _TIMEOUT)
    yield


@pytest.fixture
def rasa_as_is(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Rasa's patched attributes and the registry are put back as they were after the test."""
    monkeypatch.setattr(guard, "_applied", dict(guard._applied))
    for item in CHANGES:
        if item.install is not None:
            holder, attribute, value = guard._lookup(item, item.target)
            monkeypatch.setattr(holder, attribute, value)
    yield


@pytest.mark.parametrize("item", CHANGES, ids=[c.name for c in CHANGES])
def test_every_target_has_the_signature_the_change_was_written_for(item: Change) -> None:
    check(item)
    target = original(item)
    if item.signature is None:
        assert not callable(target)
    else:
        assert signature_text(target) == item.signature


def test_the_changes_were_written_for_the_installed_rasa() -> None:
    from rasa.version import __version__

    assert __version__ == WRITTEN_FOR
    assert len({c.name for c in CHANGES}) == len(CHANGES)
    for item in CHANGES:
        for path in (item.install, item.override):
            if path is not None:
                guard._lookup(item, path)  # every replacement and override can be found


def test_a_mismatched_signature_is_refused_naming_the_change(isolated: None) -> None:
    wrong = dataclasses.replace(GREET, signature="(self, name, loudly=False)")
    with pytest.raises(PatchMismatch, match="'test-greet'.*takes \\(self, name\\)") as refused:
        apply(wrong)
    assert "\n" not in str(refused.value)
    assert _Greeter().greet("asha") == "hello asha"  # nothing was changed
    for item in (change("action-response-check"), change("store-retrieve")):
        other = dataclasses.replace(item, signature="(self, something_else)")
        with pytest.raises(PatchMismatch, match=f"'{item.name}'"):
            check(other)


def test_a_renamed_target_or_a_name_no_longer_read_is_refused(isolated: None) -> None:
    renamed = dataclasses.replace(GREET, target=f"{HERE}:_Greeter.say_hello")
    with pytest.raises(PatchMismatch, match="_Greeter.say_hello no longer exists"):
        apply(renamed)
    unread = dataclasses.replace(TIMEOUT, read_by=f"{HERE}:_value")
    with pytest.raises(PatchMismatch, match="'test-timeout'.*no longer uses _TIMEOUT"):
        apply(unread, 4.0)
    assert _TIMEOUT == 300
    not_reading = dataclasses.replace(
        change("action-timeout"), read_by="rasa.core.actions.action:RemoteAction.name"
    )
    with pytest.raises(PatchMismatch, match="'action-timeout'.*no longer uses"):
        check(not_reading)


def test_an_override_with_other_parameters_or_of_another_class_is_refused() -> None:
    item = change("widget-output")
    with pytest.raises(PatchMismatch, match="'widget-output'.*no longer overrides"):
        check(dataclasses.replace(item, override=f"{HERE}:_Greeter.greet"))
    with pytest.raises(PatchMismatch, match="takes \\(self, socket_id, response\\)"):
        check(dataclasses.replace(item, signature="(self, socket_id, response, extra)"))


def test_another_rasa_series_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "rasa_version", lambda: "3.7.0")
    with pytest.raises(PatchMismatch, match="written for Rasa 3.6.21, Rasa 3.7.0 is installed"):
        check_all()
    assert issubclass(PatchMismatch, RasaException)  # `rasa run` prints it as one line


def test_applying_twice_is_a_no_op_and_the_original_is_kept(isolated: None) -> None:
    defined = _Greeter.__dict__["greet"]
    apply(GREET)
    replacement = _Greeter.__dict__["greet"]
    assert replacement is not defined
    assert _Greeter().greet("asha") == "HELLO ASHA"
    apply(GREET)
    assert _Greeter.__dict__["greet"] is replacement
    assert original(GREET) is defined
    assert _Greeter().greet("asha") == "HELLO ASHA"  # not made louder twice


def test_a_parameter_change_is_made_again_from_the_kept_original(isolated: None) -> None:
    module = sys.modules[__name__]
    apply(TIMEOUT, 4.0)
    apply(TIMEOUT, 4.0)
    assert module._TIMEOUT == 4.0
    apply(TIMEOUT, 7.5)
    assert module._TIMEOUT == 7.5 and original(TIMEOUT) == 300


def test_the_project_changes_are_applied_once_and_keep_rasas_originals(rasa_as_is: None) -> None:
    apply_all(4.0, "a-secret")
    installed = {c.name: guard._lookup(c, c.target)[2] for c in CHANGES if c.install}
    apply_all(4.0, "a-secret")
    assert installed == {c.name: guard._lookup(c, c.target)[2] for c in CHANGES if c.install}
    assert rasa_actions.DEFAULT_REQUEST_TIMEOUT == 4.0
    assert original(change("action-timeout")) == 300
    for name in ("action-response-check", "action-connections", "client-commands"):
        assert original(change(name)) is not installed[name]
        assert signature_text(original(change(name))) == change(name).signature
    apply_all(9.0, "another-secret")  # other parameters: made again from Rasa's originals
    assert rasa_actions.DEFAULT_REQUEST_TIMEOUT == 9.0
    assert original(change("action-secret")) is not RemoteAction.__init__
    endpoint = EndpointConfig("http://127.0.0.1:9")
    RemoteAction("action_x", endpoint)
    assert endpoint.headers == {SECRET_HEADER: "another-secret"}


def test_a_channel_refuses_to_build_when_a_target_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.channels.rest import RestInput

    monkeypatch.delattr(RemoteAction, "_validate_action_result")
    with pytest.raises(PatchMismatch, match="'action-response-check'.*no longer exists"):
        RestInput()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


BROKEN_RASA = """
import sys
from rasa.core.actions.action import RemoteAction
del RemoteAction._validate_action_result  # as if Rasa had renamed it
from rasa.__main__ import main
sys.argv = ["rasa", "run", "--enable-api", "--credentials", sys.argv[1], "--port", sys.argv[2]]
main()
"""


def test_the_server_refuses_to_start_with_one_line_naming_the_change(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.yml"
    credentials.write_text("bot.channels.rest.RestInput: {}\n", encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "FAQBOT_TRACKER_URL": f"sqlite:///{tmp_path / 'c.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", BROKEN_RASA, str(credentials), str(_free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = done.stdout + done.stderr
    lines = [line for line in output.splitlines() if "PatchMismatch" in line]
    assert done.returncode == 1, output
    assert len(lines) == 1 and "'action-response-check'" in lines[0], output
    assert "Traceback" not in output


def _sessions_on_two_loops() -> List[Any]:
    endpoint = EndpointConfig("http://127.0.0.1:9/webhook", headers={"X-Test": "1"})

    async def get() -> Any:
        async with endpoint.session() as session:
            return session

    first = asyncio.run(get())
    second = asyncio.run(get())
    return [first, second]


def test_sessions_of_a_closed_event_loop_are_closed_and_dropped() -> None:
    apply(change("action-connections"))
    first, second = _sessions_on_two_loops()
    pool = _SharedSession.pool
    assert first is not second
    assert first.closed and not second.closed  # closed when the next loop made its session
    assert all(first not in sessions.values() for sessions in pool._by_loop.values())
    assert len(pool) >= 1


def test_one_session_per_endpoint_configuration_on_a_loop() -> None:
    apply(change("action-connections"))

    async def sessions() -> List[Any]:
        one = EndpointConfig("http://127.0.0.1:9/a", headers={"X-Test": "1"})
        same = EndpointConfig("http://127.0.0.1:9/b", headers={"X-Test": "1"})
        other = EndpointConfig("http://127.0.0.1:9/a", headers={"X-Test": "2"})
        found = []
        for endpoint in (one, same, other, one):
            async with endpoint.session() as session:
                found.append(session)
        one.headers = {**one.headers, "X-More": "yes"}
        async with one.session() as session:
            found.append(session)
        return found

    one, same, other, again, changed = asyncio.run(sessions())
    assert one is same is again
    assert other is not one and changed is not one
    assert dict(changed.headers)["X-More"] == "yes"
