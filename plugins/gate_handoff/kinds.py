"""What each operations record must say beyond its schema, and which of its dates dates the record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gate import EvidenceError
from gate.collector import Loaded
from gate_handoff.records import at, newest

# Coverage a record declares may differ from the coverage its attendance lists show by rounding only.
COVERAGE_TOLERANCE = 0.005


def refine_handoff(data: dict[str, Any], doc: Loaded, prefix: tuple[str, ...]) -> dict[str, Any]:
    """A file can never verify its own sign-offs: only gate_github, from GitHub reviews, can."""
    signoffs = data.get("signoffs")
    if isinstance(signoffs, list):
        for index, signoff in enumerate(signoffs):
            if isinstance(signoff, Mapping) and "verified" in signoff:
                raise EvidenceError(at(doc, prefix + ("signoffs", index, "verified"),
                                       "a hand-off file cannot mark a sign-off verified; gate verifies "
                                       "sign-offs"
                                       " against approving reviews on GitHub (collector github_reviews)"))
    return data


@dataclass(frozen=True)
class Rotation:
    """The on-call rotation as its own file says it is now (the training collector's ``rotation``)."""

    names: tuple[str, ...]
    origin: str


def read_rotation(spec: Any, value: str) -> Rotation:
    """``options.rotation``: a YAML file inside the workspace holding ``on_call: [names]`` or the list."""
    from gate.collector import entry_error, read_document

    found = spec.resolve(value)
    if len(found) != 1:
        raise entry_error(spec, "options.rotation", f"{value!r} names {len(found)} files; expected the one"
                                                    " file that lists the on-call rotation")
    doc = read_document(found[0], value)
    names = doc.data.get("on_call") if isinstance(doc.data, Mapping) else doc.data
    if not isinstance(names, list) or not names or not all(isinstance(p, str) and p.strip() for p in names):
        raise EvidenceError(f"{value}: field 'on_call': expected a non-empty list of the names on the"
                            " rotation")
    return Rotation(tuple(names), value)


def refine_training(data: dict[str, Any], doc: Loaded, prefix: tuple[str, ...],
                    rotation: Rotation | None = None) -> dict[str, Any]:
    """Coverage from attendance: `on_call` (the rotation) and each session's `attendees`.

    When the record lists both, gate computes on_call_coverage itself (share of the rotation that attended
    a session showing the model being wrong); a declared on_call_coverage must agree with it. With a
    rotation file (``rotation``), the rotation is that file's, as it is now: a declared coverage was
    about an earlier rotation, so the computed one replaces it, and attendance must be listed.
    """
    data = dict(data)
    on_call = data.pop("on_call", None)
    if rotation is not None:
        on_call = list(rotation.names)
        data.pop("on_call_coverage", None)
    sessions = data.get("sessions")
    attended: set[str] = set()
    listed = False
    if isinstance(sessions, list):
        cleaned = []
        for index, session in enumerate(sessions):
            if isinstance(session, Mapping) and "attendees" in session:
                listed = True
                session = dict(session)
                people = session.pop("attendees")
                if not isinstance(people, list) or not all(isinstance(p, str) and p.strip() for p in people):
                    raise EvidenceError(at(doc, prefix + ("sessions", index, "attendees"),
                                           "expected a list of names"))
                if session.get("showed_model_wrong") is True:
                    attended.update(_person(p) for p in people)
            cleaned.append(session)
        data["sessions"] = cleaned
    if rotation is not None and not listed:
        raise EvidenceError(at(doc, prefix + ("sessions",), f"the on-call rotation is read from"
                               f" {rotation.origin} (options.rotation), so coverage is computed against it:"
                               " each session needs its 'attendees'"))
    if on_call is None:
        if listed and "on_call_coverage" not in data:
            raise EvidenceError(at(doc, prefix + ("sessions",), "attendees are listed but the record has no"
                                   " 'on_call' rotation to compute on_call_coverage against"))
        return data
    if not isinstance(on_call,
                      list) or not on_call or not all(isinstance(p, str) and p.strip() for p in on_call):
        raise EvidenceError(at(doc, prefix + ("on_call",),
                               "expected a non-empty list of the names on the rotation"))
    if not listed:
        return data
    rotation = {_person(p) for p in on_call}
    computed = round(len(rotation & attended) / len(rotation), 4)
    declared = data.get("on_call_coverage")
    numeric = isinstance(declared, (int, float)) and not isinstance(declared, bool)
    if numeric and abs(declared - computed) > COVERAGE_TOLERANCE:
        raise EvidenceError(at(doc, prefix + ("on_call_coverage",),
                               f"declares {declared} but the attendance lists show {computed}"
                               f" ({len(rotation & attended)} of {len(rotation)} on the rotation attended a"
                               " session showing the model being wrong)"))
    data["on_call_coverage"] = computed
    return data


def _person(name: str) -> str:
    return " ".join(name.split()).casefold()


def drill_date(data: Mapping[str, Any]) -> Any:
    return data.get("date")


def training_date(data: Mapping[str, Any]) -> Any:
    return newest(s.get("date") for s in data.get("sessions") or [] if isinstance(s, Mapping))


def handoff_date(data: Mapping[str, Any]) -> Any:
    return newest(s.get("date") for s in data.get("signoffs") or [] if isinstance(s, Mapping))


def human_review_date(data: Mapping[str, Any]) -> Any:
    return newest(t.get("last_calibrated") for t in data.get("thresholds") or [] if isinstance(t, Mapping))
