"""National referral mechanisms as flowcharts: steps joined by edges that carry conditions.

Pure code: no I/O. A mechanism is a directed acyclic graph with one start step. Every edge may
name conditions on the client (minor or adult, EU citizen or third-country national, forms of
exploitation, willing to cooperate with the police or not); a condition left out holds for
everyone. ``route`` walks the graph for one client: from the start, it follows the matching
edge that names the most conditions (the most specific), the first such edge on a tie, until no
edge matches. A condition about a fact the caller did not give does not match, so a route never
assumes something about the client.

``validate`` turns raw input (GraphQL or seed) into a ``Graph`` or a list of ``Problem``s, every
problem at once, without repeating the offending values.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.domain.vocabulary import ExploitationForm
from service.socialmap.model import InvalidValue, Problem, text_value

__all__ = [
    "MAX_EDGES",
    "MAX_STEPS",
    "ClientFacts",
    "Condition",
    "Edge",
    "Graph",
    "SourceRef",
    "Step",
    "from_json",
    "route",
    "to_json",
    "validate",
]

MAX_STEPS = 60
MAX_EDGES = 150
MAX_TITLE = 200
MAX_TEXT = 4000
MAX_BODY = 500
MAX_DURATION = 200
MAX_DOCUMENT = 500
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_PUBLISHED = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a step's content comes from: a public document and its date.

    ``published`` is the document's date as precise as it is known (``YYYY``, ``YYYY-MM`` or
    ``YYYY-MM-DD``), or ``None`` when the document states none; ``consulted_on`` is when an
    editor last read it.
    """

    document: str
    published: str | None
    consulted_on: dt.date


@dataclass(frozen=True, slots=True)
class Step:
    key: str
    title_en: str
    title_nl: str | None
    description_en: str
    description_nl: str | None
    responsible_body: str
    responsible_organisation_id: uuid.UUID | None
    typical_duration: str | None
    legal_basis: str | None
    source: SourceRef


@dataclass(frozen=True, slots=True)
class Condition:
    """Who an edge applies to; ``None`` (or an empty tuple) holds for everyone."""

    minor: bool | None = None
    eu_citizen: bool | None = None
    exploitation_forms: tuple[ExploitationForm, ...] = ()
    cooperates_with_police: bool | None = None

    @property
    def specificity(self) -> int:
        return sum(
            (
                self.minor is not None,
                self.eu_citizen is not None,
                bool(self.exploitation_forms),
                self.cooperates_with_police is not None,
            )
        )


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    condition: Condition


@dataclass(frozen=True, slots=True)
class Graph:
    start: str
    steps: tuple[Step, ...]
    edges: tuple[Edge, ...]

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)


@dataclass(frozen=True, slots=True)
class ClientFacts:
    """What a case worker knows of the client; ``None`` for a fact not known or not given."""

    minor: bool | None = None
    eu_citizen: bool | None = None
    exploitation_form: ExploitationForm | None = None
    cooperates_with_police: bool | None = None


def _holds(condition: Condition, facts: ClientFacts) -> bool:
    def same(wanted: bool | None, known: bool | None) -> bool:
        return wanted is None or (known is not None and wanted == known)

    return (
        same(condition.minor, facts.minor)
        and same(condition.eu_citizen, facts.eu_citizen)
        and same(condition.cooperates_with_police, facts.cooperates_with_police)
        and (
            not condition.exploitation_forms
            or (
                facts.exploitation_form is not None
                and facts.exploitation_form in condition.exploitation_forms
            )
        )
    )


def route(graph: Graph, facts: ClientFacts) -> list[Step]:
    """The steps that apply to a client with ``facts``, from the start, in order."""
    path = [graph.step(graph.start)]
    while True:
        here = path[-1].key
        matching = [e for e in graph.edges if e.source == here and _holds(e.condition, facts)]
        if not matching:
            return path
        best = max(e.condition.specificity for e in matching)
        chosen = next(e for e in matching if e.condition.specificity == best)
        path.append(graph.step(chosen.target))  # acyclic: validated, so this ends


# --- validation -----------------------------------------------------------------------------


def _text(raw: Any, limit: int, label: str, *, required: bool) -> str | None:
    value = text_value(raw, limit, label)
    if value is None and required:
        raise InvalidValue("REQUIRED", f"{label} is required")
    return value


def _bool(raw: Any, label: str) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    raise InvalidValue("INVALID_VALUE", f"{label} must be true, false or null")


def _forms(raw: Any) -> tuple[ExploitationForm, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple) or len(raw) > len(ExploitationForm):
        raise InvalidValue("INVALID_VALUE", "exploitation forms must be a list of forms")
    chosen = set()
    for item in raw:
        try:
            chosen.add(ExploitationForm(item))
        except ValueError:
            allowed = ", ".join(f.value for f in ExploitationForm)
            raise InvalidValue(
                "UNKNOWN_EXPLOITATION_FORM", f"exploitation forms must be among {allowed}"
            ) from None
    return tuple(f for f in ExploitationForm if f in chosen)


def _source(raw: Any, today: dt.date) -> SourceRef:
    if not isinstance(raw, Mapping):
        raise InvalidValue("REQUIRED", "every step names its source (document and date)")
    document = _text(raw.get("document"), MAX_DOCUMENT, "source document", required=True)
    published = _text(raw.get("published"), 10, "source date", required=False)
    if published is not None and not _PUBLISHED.match(published):
        raise InvalidValue("INVALID_DATE", "source date must be YYYY, YYYY-MM or YYYY-MM-DD")
    if published is not None and published > today.isoformat()[: len(published)]:
        raise InvalidValue("DATE_IN_FUTURE", "source date cannot be in the future")
    consulted = raw.get("consulted_on")
    if isinstance(consulted, str):
        try:
            consulted = dt.date.fromisoformat(consulted)
        except ValueError:
            raise InvalidValue("INVALID_DATE", "consulted on must be a date") from None
    if not isinstance(consulted, dt.date):
        raise InvalidValue("REQUIRED", "every source says when it was consulted")
    if consulted > today:
        raise InvalidValue("DATE_IN_FUTURE", "consulted on cannot be in the future")
    assert document is not None
    return SourceRef(document, published, consulted)


def _step(raw: Any, today: dt.date) -> Step:
    if not isinstance(raw, Mapping):
        raise InvalidValue("INVALID_VALUE", "a step must be an object")
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidValue(
            "INVALID_STEP_KEY", "a step key is 1 to 40 lower-case letters, digits or dashes"
        )
    org = raw.get("responsible_organisation_id")
    if org is not None and not isinstance(org, uuid.UUID):
        try:
            org = uuid.UUID(str(org))
        except ValueError:
            raise InvalidValue("INVALID_ID", "responsible organisation is not an id") from None
    title = _text(raw.get("title_en"), MAX_TITLE, "title", required=True)
    description = _text(raw.get("description_en"), MAX_TEXT, "description", required=True)
    body = _text(raw.get("responsible_body"), MAX_BODY, "responsible body", required=True)
    assert title is not None
    assert description is not None
    assert body is not None
    return Step(
        key=key,
        title_en=title,
        title_nl=_text(raw.get("title_nl"), MAX_TITLE, "Dutch title", required=False),
        description_en=description,
        description_nl=_text(
            raw.get("description_nl"), MAX_TEXT, "Dutch description", required=False
        ),
        responsible_body=body,
        responsible_organisation_id=org,
        typical_duration=_text(
            raw.get("typical_duration"), MAX_DURATION, "typical duration", required=False
        ),
        legal_basis=_text(raw.get("legal_basis"), MAX_BODY, "legal basis", required=False),
        source=_source(raw.get("source"), today),
    )


def _edge(raw: Any) -> Edge:
    if not isinstance(raw, Mapping):
        raise InvalidValue("INVALID_VALUE", "an edge must be an object")
    ends = raw.get("source"), raw.get("target")
    if not all(isinstance(k, str) for k in ends):
        raise InvalidValue("REQUIRED", "an edge names the step it leaves and the step it enters")
    cond = raw.get("condition") or {}
    if not isinstance(cond, Mapping):
        raise InvalidValue("INVALID_VALUE", "an edge's condition must be an object")
    return Edge(
        source=str(ends[0]),
        target=str(ends[1]),
        condition=Condition(
            minor=_bool(cond.get("minor"), "minor"),
            eu_citizen=_bool(cond.get("eu_citizen"), "EU citizen"),
            exploitation_forms=_forms(cond.get("exploitation_forms")),
            cooperates_with_police=_bool(
                cond.get("cooperates_with_police"), "cooperates with the police"
            ),
        ),
    )


def _shape_problems(graph: Graph) -> list[Problem]:
    problems: list[Problem] = []
    keys = [s.key for s in graph.steps]
    known = set(keys)
    if len(known) != len(keys):
        problems.append(Problem("steps", "DUPLICATE_STEP_KEY", "step keys must be unique"))
    if graph.start not in known:
        problems.append(Problem("start", "UNKNOWN_STEP", "start must be the key of a step"))
    for i, edge in enumerate(graph.edges):
        if edge.source not in known or edge.target not in known:
            problems.append(
                Problem(f"edges.{i}", "UNKNOWN_STEP", "an edge must join two steps of this graph")
            )
        elif edge.source == edge.target:
            problems.append(Problem(f"edges.{i}", "CYCLE", "an edge cannot return to its step"))
    if problems:
        return problems
    seen: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(key: str) -> bool:  # True when a cycle is reachable from ``key``
        stack: list[tuple[str, list[str]]] = [
            (key, [e.target for e in graph.edges if e.source == key])
        ]
        seen[key] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                seen[node] = 2
                stack.pop()
                continue
            nxt = todo.pop()
            if seen.get(nxt) == 1:
                return True
            if nxt not in seen:
                seen[nxt] = 1
                stack.append((nxt, [e.target for e in graph.edges if e.source == nxt]))
        return False

    if visit(graph.start):
        problems.append(Problem("edges", "CYCLE", "the flowchart must not loop back"))
    elif set(seen) != known:
        problems.append(
            Problem("steps", "UNREACHABLE_STEP", "every step must be reachable from the start")
        )
    return problems


def validate(raw: Mapping[str, Any], today: dt.date) -> tuple[Graph | None, list[Problem]]:
    """Check a whole flowchart; the graph, or every problem found."""
    problems: list[Problem] = []
    steps_raw, edges_raw = raw.get("steps") or [], raw.get("edges") or []
    if not isinstance(steps_raw, list | tuple) or not 1 <= len(steps_raw) <= MAX_STEPS:
        return None, [Problem("steps", "INVALID_VALUE", f"give 1 to {MAX_STEPS} steps")]
    if not isinstance(edges_raw, list | tuple) or len(edges_raw) > MAX_EDGES:
        return None, [Problem("edges", "INVALID_VALUE", f"give at most {MAX_EDGES} edges")]
    steps: list[Step] = []
    for i, item in enumerate(steps_raw):
        try:
            steps.append(_step(item, today))
        except InvalidValue as exc:
            problems.append(Problem(f"steps.{i}", exc.rule, exc.reason))
    edges: list[Edge] = []
    for i, item in enumerate(edges_raw):
        try:
            edges.append(_edge(item))
        except InvalidValue as exc:
            problems.append(Problem(f"edges.{i}", exc.rule, exc.reason))
    start = raw.get("start")
    if not isinstance(start, str):
        problems.append(Problem("start", "REQUIRED", "start names the first step"))
    if problems:
        return None, problems
    assert isinstance(start, str)
    graph = Graph(start, tuple(steps), tuple(edges))
    shape = _shape_problems(graph)
    return (None, shape) if shape else (graph, [])


# --- stored form ----------------------------------------------------------------------------


def to_json(graph: Graph) -> dict[str, Any]:
    return {
        "start": graph.start,
        "steps": [
            {
                "key": s.key,
                "title_en": s.title_en,
                "title_nl": s.title_nl,
                "description_en": s.description_en,
                "description_nl": s.description_nl,
                "responsible_body": s.responsible_body,
                "responsible_organisation_id": (
                    str(s.responsible_organisation_id) if s.responsible_organisation_id else None
                ),
                "typical_duration": s.typical_duration,
                "legal_basis": s.legal_basis,
                "source": {
                    "document": s.source.document,
                    "published": s.source.published,
                    "consulted_on": s.source.consulted_on.isoformat(),
                },
            }
            for s in graph.steps
        ],
        "edges": [
            {
                "source": e.source,
                "target": e.target,
                "condition": {
                    "minor": e.condition.minor,
                    "eu_citizen": e.condition.eu_citizen,
                    "exploitation_forms": [f.value for f in e.condition.exploitation_forms],
                    "cooperates_with_police": e.condition.cooperates_with_police,
                },
            }
            for e in graph.edges
        ],
    }


def from_json(raw: Mapping[str, Any]) -> Graph:
    """Rebuild a stored graph (written by ``to_json``); the stored form is trusted."""
    steps = tuple(
        Step(
            key=s["key"],
            title_en=s["title_en"],
            title_nl=s.get("title_nl"),
            description_en=s["description_en"],
            description_nl=s.get("description_nl"),
            responsible_body=s["responsible_body"],
            responsible_organisation_id=(
                uuid.UUID(s["responsible_organisation_id"])
                if s.get("responsible_organisation_id")
                else None
            ),
            typical_duration=s.get("typical_duration"),
            legal_basis=s.get("legal_basis"),
            source=SourceRef(
                s["source"]["document"],
                s["source"].get("published"),
                dt.date.fromisoformat(s["source"]["consulted_on"]),
            ),
        )
        for s in raw["steps"]
    )
    edges = tuple(
        Edge(
            e["source"],
            e["target"],
            Condition(
                minor=e["condition"].get("minor"),
                eu_citizen=e["condition"].get("eu_citizen"),
                exploitation_forms=tuple(
                    ExploitationForm(f) for f in e["condition"].get("exploitation_forms") or ()
                ),
                cooperates_with_police=e["condition"].get("cooperates_with_police"),
            ),
        )
        for e in raw["edges"]
    )
    return Graph(raw["start"], steps, edges)
