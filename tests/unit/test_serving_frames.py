"""The text frames the feed writes straight to a socket read back as the same message."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from service.serving import _LastFrame, _text_frame_header


def _parse(wire: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(wire)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame: Frame = done.value
        return frame
    raise AssertionError("the frame is incomplete")


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_a_direct_text_frame_carries_the_whole_message_at_every_length_boundary(
    length: int,
) -> None:
    data = b"x" * length
    frame = _parse(_text_frame_header(length) + data)
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, data)


def test_a_message_written_to_many_sockets_is_framed_once_and_the_next_one_afresh() -> None:
    first, second = b'{"id":"1","payload":1}', b'{"id":"1","payload":2}'
    framed = _LastFrame.of(first)
    assert _LastFrame.of(first) is framed  # the fan-out's same message: the same frame
    assert _parse(framed).data == first
    assert _parse(_LastFrame.of(second)).data == second  # same length, other bytes
    copy = first[:1] + first[1:]
    assert _parse(_LastFrame.of(copy)).data == first  # an equal copy, framed anew
