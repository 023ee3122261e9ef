"""The feed bench's clients: which messages keep their own arrival stamp.

A read is stamped with the arrival of the last segment it reads, so a message is stamped with
its own arrival only when nothing of a later frame came in the same read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from bench.feed_clients import take_frames

# Messages in each of the three length forms (7-bit, 16-bit, 64-bit); control frames as long
# as they may be.
_SHAPES = st.tuples(
    st.just(Opcode.TEXT), st.integers(0, 300) | st.integers(65_536, 65_700)
) | st.tuples(st.sampled_from([Opcode.PING, Opcode.CLOSE]), st.integers(0, 125))


def _server_frame(opcode: Opcode, payload: bytes) -> bytes:
    return Frame(opcode, payload).serialize(mask=False)


def test_message_followed_by_a_ping_in_the_same_read_is_marked_with_the_ping() -> None:
    buffer = bytearray(_server_frame(Opcode.TEXT, b'{"type":"next"}'))
    buffer += _server_frame(Opcode.PING, b"abcd")
    taken = list(take_frames(buffer))
    assert taken == [(Opcode.TEXT, b'{"type":"next"}', Opcode.PING), (Opcode.PING, b"abcd", None)]
    assert buffer == bytearray()


def test_message_after_a_ping_keeps_its_own_stamp() -> None:
    buffer = bytearray(_server_frame(Opcode.PING, b"abcd"))
    buffer += _server_frame(Opcode.TEXT, b'{"type":"next"}')
    taken = list(take_frames(buffer))
    assert taken[-1] == (Opcode.TEXT, b'{"type":"next"}', None)


def test_first_bytes_of_a_later_frame_mark_the_message() -> None:
    ping = _server_frame(Opcode.PING, b"abcd")
    buffer = bytearray(_server_frame(Opcode.TEXT, b"x")) + ping[:1]
    assert list(take_frames(buffer)) == [(Opcode.TEXT, b"x", Opcode.PING)]
    assert buffer == bytearray(ping[:1])


@given(
    shapes=st.lists(_SHAPES, min_size=1, max_size=6),
    cuts=st.lists(st.floats(min_value=0, max_value=1), max_size=5),
)
def test_any_stream_in_any_reads_yields_each_frame_once_with_what_followed_it(
    shapes: list[tuple[Opcode, int]], cuts: list[float]
) -> None:
    frames = [(kind, bytes([index]) * size) for index, (kind, size) in enumerate(shapes)]
    stream = b"".join(_server_frame(k, p) for k, p in frames)
    ends = sorted({round(c * len(stream)) for c in cuts} | {len(stream)})
    buffer = bytearray()
    taken: list[tuple[int, bytes, int | None]] = []
    read_from = 0
    for end in ends:
        buffer += stream[read_from:end]
        read_from = end
        taken += take_frames(buffer)
        # Whatever is left is less than one whole frame.
        assert not list(take_frames(bytearray(buffer)))
    assert buffer == bytearray()
    assert [(o, p) for o, p, _ in taken] == [(k.value, p) for k, p in frames]
    # The last frame of the stream is followed by nothing; any other frame is followed by the
    # next one's kind when that one's first byte came in the same read, by nothing otherwise.
    assert taken[-1][2] is None
    offsets = [0]
    for kind, payload in frames:
        offsets.append(offsets[-1] + len(_server_frame(kind, payload)))
    for index, (_, _, after) in enumerate(taken[:-1]):
        frame_end = offsets[index + 1]
        read_end = next(e for e in ends if e >= frame_end)
        expected = frames[index + 1][0].value if read_end > frame_end else None
        assert after == expected
