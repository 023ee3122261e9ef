"""The text frames the feed writes straight to a socket read back as the same message."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from service.serving import _text_frame_header


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
