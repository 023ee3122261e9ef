"""A faster ``dataclasses.replace`` for the frozen state records that ``evolve`` copies.

``dataclasses.replace`` walks the class's fields and checks each one on every call, then runs
``__init__``, which sets each field through ``object.__setattr__``: for a case state of 36
fields that is most of what folding an event costs, and a command folds its whole stream.
``replacer(cls)`` writes, once per class, a function that takes the changed fields as
keywords and fills a new instance slot by slot from them and the old one. The instance equals
the one ``dataclasses.replace`` makes, field for field; a class where filling slots would
skip work its ``__init__`` does (an ``__init__`` of its own, ``__post_init__``, fields
outside ``__init__``, no slots; ``fills_slots``) gets ``dataclasses.replace`` itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")


class _Unchanged:
    """The default of every keyword: the field keeps its value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unchanged>"


_UNCHANGED = _Unchanged()


class _Probe:
    __slots__ = ("slot",)


_SLOT_TYPE = type(_Probe.__dict__["slot"])  # the member descriptor a slot is


def fills_slots(cls: type) -> bool:
    """Whether an instance of ``cls`` is exactly its fields' values in its slots, so that
    setting each slot builds what ``__init__`` would: a dataclass with slots and the
    ``__init__`` that ``dataclasses`` wrote, no ``__post_init__``, every field an argument of
    ``__init__`` and held in a slot of the class itself. (``service.events.types.slot_filler``
    builds decoded events on the same condition.)"""
    if not dataclasses.is_dataclass(cls):
        return False
    init = getattr(cls, "__init__", None)
    return (
        "__slots__" in cls.__dict__
        and not hasattr(cls, "__post_init__")
        and getattr(getattr(init, "__code__", None), "co_filename", None) == "<string>"
        and all(
            f.init and isinstance(cls.__dict__.get(f.name), _SLOT_TYPE)
            for f in dataclasses.fields(cls)
        )
    )


def replacer(cls: type[_T]) -> Callable[..., _T]:
    """``dataclasses.replace`` for instances of exactly ``cls`` (see the module text).

    The generated text holds only the class's field names (identifiers). Another class's
    instance, or an unknown keyword, raises ``TypeError`` as ``dataclasses.replace`` does.
    """
    if not fills_slots(cls):

        def replace(obj: _T, /, **changes: Any) -> _T:
            if type(obj) is not cls:
                raise TypeError(f"expected a {cls.__name__}, got {type(obj).__name__}")
            return dataclasses.replace(obj, **changes)  # type: ignore[type-var]

        return replace
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    namespace: dict[str, Any] = {
        "_r_cls": cls,
        "_r_new": object.__new__,
        "_r_same": _UNCHANGED,
        "_r_type": type,
    }
    body = []
    for i, f in enumerate(fields):
        namespace[f"_r_set_{i}"] = cls.__dict__[f.name].__set__
        body.append(
            f"    _r_set_{i}(_r_obj, _r_old.{f.name} if {f.name} is _r_same else {f.name})\n"
        )
    keywords = ", ".join(f"{f.name}=_r_same" for f in fields)
    text = (
        f"def replace(_r_old, /, *, {keywords}):\n"
        "    if _r_type(_r_old) is not _r_cls:\n"
        "        raise TypeError('expected a ' + _r_cls.__name__ + ', got '"
        " + _r_type(_r_old).__name__)\n"
        "    _r_obj = _r_new(_r_cls)\n"
        f"{''.join(body)}"
        "    return _r_obj\n"
    )
    exec(text, namespace)  # noqa: S102
    fast: Callable[..., _T] = namespace["replace"]
    return fast
