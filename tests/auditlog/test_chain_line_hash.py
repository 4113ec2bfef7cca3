"""verify_lines hashes a canonical line without encoding the record again: the same hash as record_hash,
for any record, and the slow path whenever the shortcut cannot be sure."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gate.chain import GENESIS, Head, _hash_of_canonical_line, canonical, record_hash, seal, verify_lines

keys = st.text(min_size=1, max_size=8)
values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
                      max_leaves=12)


@given(st.dictionaries(keys, values, max_size=6))
def test_the_line_hash_is_record_hash_for_any_record(fields):
    line, sealed = seal(fields, Head(0, GENESIS))
    raw = line.rstrip(b"\n")
    assert _hash_of_canonical_line(raw, sealed["hash"]) == record_hash(sealed) == sealed["hash"]


def test_a_hash_that_also_occurs_inside_the_record_takes_the_slow_path():
    line, sealed = seal({"note": "x"}, Head(0, GENESIS))
    echoed = {**sealed, "nested": {"hash": sealed["hash"]}}
    raw = canonical(echoed)
    assert _hash_of_canonical_line(raw, sealed["hash"]) is None
    assert _hash_of_canonical_line(raw, None) is None


def test_a_record_edited_after_sealing_is_still_caught():
    line, sealed = seal({"result": {"outcome": "block"}}, Head(0, GENESIS))
    edited = line.replace(b'"block"', b'"approve"').rstrip(b"\n")
    check = verify_lines([edited])
    assert not check.ok and "does not match its hash" in str(check.problems[0])
