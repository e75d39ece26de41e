"""The system's own facts: every change of state other than a published Sign In event.

Each type carries a schema version `v`, so a log written today stays readable after upgrades:
a decoder meeting an old version upgrades its fields before building the current type.
"""

from __future__ import annotations

import msgspec


class InternalEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of internal events; subclasses name themselves with `tag=`."""

    v: int = 1

    def redacted(self) -> InternalEvent:
        """This event as an audit may show it: types holding secrets override this."""
        return self

    @classmethod
    def type_name(cls) -> str:
        tag = cls.__struct_config__.tag
        assert isinstance(tag, str), f"{cls.__name__} has no tag"  # every fact is tagged
        return tag


class _Tag(msgspec.Struct):
    type: str


_encoder = msgspec.json.Encoder()
_tag_decoder = msgspec.json.Decoder(_Tag)
_decoders: dict[str, msgspec.json.Decoder[InternalEvent]] = {}


def encode_internal(event: InternalEvent) -> bytes:
    return _encoder.encode(event)


def decode_internal(body: bytes) -> InternalEvent:
    tag = _tag_decoder.decode(body).type
    decoder = _decoders.get(tag)
    if decoder is None:
        types = {cls.type_name(): cls for cls in _subclasses(InternalEvent)}
        decoder = _decoders[tag] = msgspec.json.Decoder(types[tag])
    return decoder.decode(body)


def _subclasses(cls: type[InternalEvent]) -> list[type[InternalEvent]]:
    found: list[type[InternalEvent]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found
