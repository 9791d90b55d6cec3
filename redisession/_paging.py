"""Pure steps of paged reads (no IO): a big window, archive or export is read ``PAGE``
elements per call, by seq, so no single command blocks Redis for long and appends between
pages cannot shift them (lua/read_page.lua).

A paged read is consistent when what it stitched together is what the session held at the
last page: elements trimmed while it paged are dropped (seq below the last page's head), and
the count must match the last page's total, else the read starts again (a clear, a summary or
an import changed the session in place).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack

from . import defaults
from ._codec import decode_elements, iter_bodies
from ._ops import Snapshot, hash_fields, parse_meta, write_tag
from .errors import SessionCorrupted
from .models import Session

PAGE = defaults.PAGE
"""Read at call time, so a test may set a small one."""
RESTARTS = 3
"""Paged reads started again before the last try reads in one call (correct, but as slow as
the session is big): only a session changed in place on every page gets there."""


def seq_of(element: bytes) -> int:
    """The seq in a stored element's header, without decoding its body."""
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(element[:32])
    return int(unpacker.unpack()[0])


@dataclass
class Page:
    """One reply of read_page.lua."""

    session: Session
    meta: Any
    """The meta hash as the script returned it (for export)."""
    pttl: int
    head: int
    total: int
    elements: list[bytes]


NUMERIC_META = ("v", "seq", "n", "tokens", "total_messages", "total_tokens", "total_trimmed",
                "ttl", "created", "active")
"""Meta fields every read parses as integers (`parse_meta`)."""


def _problem(meta: Any) -> str:
    """What is wrong, worded like the scripts' ``RS_CORRUPTED`` (``meta n is 'abc', not a
    number``): the first missing or non-numeric meta field, else an undecodable message."""
    try:
        fields = hash_fields(meta)
    except (TypeError, ValueError, IndexError):
        return "meta cannot be read"
    for name in NUMERIC_META:
        value = fields.get(name)
        if value is None:
            return f"meta {name} is missing"
        if not value.lstrip("-").isdigit():
            return f"meta {name} is {value!r}, not a number"
    return "a stored message cannot be decoded"


def _corrupted(sid: str, meta: Any) -> SessionCorrupted:
    return SessionCorrupted(sid, _problem(meta), on_read=True)


def check_count(sid: str, got: int, expected: int) -> None:
    """Refuse a complete window read whose length is not meta ``n`` (``expected``): the
    window list was evicted or cut behind the scripts' back, and a read would show a session
    with messages and none of them."""
    if got != expected:
        raise SessionCorrupted(sid, f"the window holds {got} messages, meta n says {expected}",
                               on_read=True)


def parse_page(sid: str, reply: Sequence[Any]) -> Page | None:
    if not reply:
        return None
    try:
        session = parse_meta(reply[0], int(reply[1]))
    except (KeyError, ValueError, TypeError) as e:  # a meta the scripts would refuse too
        raise _corrupted(sid, reply[0]) from e
    return Page(session, reply[0], int(reply[1]), int(reply[2]), int(reply[3]), list(reply[4:]))


def snapshot(sid: str, meta: Any, pttl: Any, elements: Sequence[bytes],
             partial: bool = False) -> Snapshot:
    """A read's `Snapshot` (with the write tag); `SessionCorrupted` when it cannot be read."""
    try:
        return Snapshot(parse_meta(meta, int(pttl)), decode_elements(elements), partial,
                        w=write_tag(meta))
    except (KeyError, ValueError, TypeError) as e:
        raise _corrupted(sid, meta) from e


class Bodies:
    """A whole window's stored elements, read and checked against meta ``n``; iterating
    decodes their bodies one at a time (`_codec.iter_bodies`), `SessionCorrupted` when one
    does not decode. What ``_read_bodies`` returns."""

    def __init__(self, sid: str, elements: list[bytes]) -> None:
        self.sid, self.elements = sid, elements

    def __len__(self) -> int:
        return len(self.elements)

    def __iter__(self) -> Iterator[list[Any]]:
        try:
            yield from iter_bodies(self.elements)
        except (ValueError, TypeError) as e:  # the meta was read: what `_problem` says then
            raise SessionCorrupted(self.sid, "a stored message cannot be decoded",
                                   on_read=True) from e


def window_bodies(sid: str, meta: Any, pttl: Any, elements: list[bytes]) -> Bodies:
    """`snapshot` of a whole window read, as `Bodies` instead of `Message` models, checked
    against meta ``n`` (`check_count`); `SessionCorrupted` when the meta cannot be read."""
    try:
        session = parse_meta(meta, int(pttl))
    except (KeyError, ValueError, TypeError) as e:
        raise _corrupted(sid, meta) from e
    check_count(sid, len(elements), session.message_count)
    return Bodies(sid, elements)


def meta_count(values: Sequence[Any]) -> int | None:
    """Meta ``n`` from an HMGET of `NUMERIC_META`, or None unless every field is there and
    a number (the caller then reads the whole meta, which says what is wrong)."""
    for value in values:
        if value is None or not value.lstrip(b"-").isdigit():
            return None
    return int(values[NUMERIC_META.index("n")])


class Stitch:
    """Elements of consecutive pages, oldest first; ``after`` is where the next page starts."""

    def __init__(self, elements: Sequence[bytes]) -> None:
        self.elements = list(elements)

    @property
    def after(self) -> int:
        return seq_of(self.elements[-1])

    def add(self, page: Page) -> bool:
        """Take one page; True when it was the last one. Pages hold seqs above ``after`` only,
        so the elements stay in order; a page that does not start at ``after + 1`` follows a
        gap (archive and window apart) or a trim (what came next is gone: `final` drops what
        the session no longer holds, and the cache's merge checks a delta)."""
        self.elements += page.elements
        return len(page.elements) < PAGE

    def final(self, last: Page) -> list[bytes] | None:
        """The elements the session held at ``last``, or None when they do not add up."""
        keep = [e for e in self.elements if seq_of(e) >= last.head]
        return keep if len(keep) == last.total else None


def tokens_of(element: bytes) -> int:
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(element[:32])
    return int(unpacker.unpack()[1])


def budget_met(elements: Sequence[bytes], budget: int) -> bool:
    """True when the newest ``elements`` already hold more than ``budget`` tokens: a context
    of that budget never reaches further back (``select_context`` stops there)."""
    return sum(tokens_of(e) for e in elements) > budget
