"""`signin_webhooks` exports WebhookSystem and every type a host program meets through it: what
the system's methods and its parts' methods take and return, and the values inside those. The
list is derived here from the signatures, never copied."""

from __future__ import annotations

import builtins
import collections.abc
import dataclasses
import inspect
import re
import typing
from collections.abc import Callable, Iterator

import msgspec

import signin_webhooks
from signin_webhooks import SigninWebhooksError, WebhookSystem

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GENERIC = set(dir(typing)) | set(dir(collections.abc)) | set(dir(builtins))


def _named_types(annotation: object, scope: dict[str, object]) -> Iterator[tuple[str, object]]:
    """The package's own classes and type aliases that an annotation names."""
    for name in _IDENTIFIER.findall(annotation if isinstance(annotation, str) else ""):
        found = scope.get(name)
        if inspect.isclass(found) and found.__module__.startswith("signin_webhooks."):
            yield found.__name__, found
        elif typing.get_origin(found) is not None and name not in _GENERIC:
            yield name, found  # an alias such as Resolver = Callable[[str, int], list[str]]


def _signatures(cls: type) -> Iterator[tuple[str, Callable[..., object]]]:
    """The public methods and properties of a class, `__init__` included."""
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") and name != "__init__":
            continue
        if isinstance(member, property) and member.fget is not None:
            yield name, member.fget
        elif inspect.isfunction(member):
            yield name, member


def _is_value(cls: object) -> bool:
    return inspect.isclass(cls) and (
        issubclass(cls, msgspec.Struct) or dataclasses.is_dataclass(cls)
    )


def reachable() -> dict[str, object]:
    """Every type named in the signatures of the system, of the parts its `construct_*`
    methods build, and of the values they exchange (their fields and methods)."""
    found: dict[str, object] = {"WebhookSystem": WebhookSystem}
    walked: set[object] = set()
    todo: list[object] = [WebhookSystem]
    while todo:
        cls = todo.pop()
        if cls in walked or not inspect.isclass(cls):
            continue
        walked.add(cls)
        annotations: list[tuple[str, object, dict[str, object]]] = []
        for name, function in _signatures(cls):
            scope = function.__globals__
            annotations += [(name, a, scope) for a in function.__annotations__.values()]
        if _is_value(cls):
            scope = vars(inspect.getmodule(cls))
            annotations += [("", a, scope) for a in inspect.get_annotations(cls).values()]
        for method, annotation, scope in annotations:
            for name, named in _named_types(annotation, scope):
                found[name] = named
                if method.startswith("construct_") or _is_value(named):
                    todo.append(named)  # a part, or a value: what it takes and gives counts
    return found


def test_every_type_a_host_meets_through_the_system_is_exported() -> None:
    missing = sorted(set(reachable()) - set(signin_webhooks.__all__))
    assert not missing, f"add to signin_webhooks.__all__: {missing}"
    for name, named in reachable().items():
        assert getattr(signin_webhooks, name) is named, name


def test_the_package_exports_nothing_else_but_its_errors_and_the_test_clock() -> None:
    """Beyond what the signatures reach: the errors a host catches, and subclasses of reached
    types that a host passes in (ManualClock for a SystemClock)."""
    reached = reachable()
    for name in signin_webhooks.__all__:
        exported = getattr(signin_webhooks, name)
        assert (
            name in reached
            or (inspect.isclass(exported) and issubclass(exported, SigninWebhooksError))
            or any(
                inspect.isclass(exported) and inspect.isclass(r) and issubclass(exported, r)
                for r in reached.values()
            )
        ), f"{name} is exported but no signature reaches it"


def test_one_all_in_order_holding_every_public_name_of_the_package() -> None:
    public = [  # dir(): the exports are imported on first use, so not all are in vars() yet
        name
        for name in dir(signin_webhooks)
        if not name.startswith("_") and not inspect.ismodule(getattr(signin_webhooks, name))
    ]
    assert signin_webhooks.__all__ == sorted(public, key=str.casefold)
