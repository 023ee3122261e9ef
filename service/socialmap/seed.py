"""Seed data of the social map: real organisations, referral mechanisms, and a demo set.

``REAL_ORGANISATIONS`` holds only public facts that are certain: name, kind, country, city or
region (left empty where unsure), plus services only where they are what the organisation
plainly is (a shelter shelters; IOM and DT&V organise return). No addresses, phone numbers or
e-mail addresses are invented. ``REFERRAL_MECHANISMS`` holds the national referral
mechanisms as flowcharts (``seed_mechanisms``), each step naming its public source.

``DEMO_ORGANISATIONS`` is fictional: every record has ``demo = true``, a name ending in
"(demo)" and contact details under ``example.org`` (a domain reserved for examples). It is
loaded only on request (``safe-future seed --demo``, and by the tests), never in production.

Seeding is idempotent and never overwrites: an organisation that exists already (same id, or
same name and country) is left as it is, so an editor's later corrections survive a re-seed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import TextClause

from service.socialmap import mechanisms, repository, seed_mechanisms
from service.socialmap.history import Actor
from service.socialmap.mechanisms import MechanismData
from service.socialmap.model import ContactChannel, OrganisationData
from service.socialmap.vocabulary import ContactChannelKind as C
from service.socialmap.vocabulary import OrganisationKind as K
from service.socialmap.vocabulary import ReturnSupportLevel as R
from service.socialmap.vocabulary import Service as S
from service.socialmap.vocabulary import TargetGroup as T

__all__ = [
    "DEMO_ORGANISATIONS",
    "REAL_ORGANISATIONS",
    "REFERRAL_MECHANISMS",
    "SeedResult",
    "organisation_id",
    "seed",
    "statements",
]

NAMESPACE = uuid.UUID("8f690e1c-26da-4c19-bdcd-672c7a114d76")
PUBLIC_SOURCE = "Safe Future context (public information)"
DEMO_SOURCE = "Fictional demo data set: not a real organisation"
DEMO_NOTE = "Fictional organisation for development and tests. Do not contact."


def organisation_id(key: str) -> uuid.UUID:
    """The stable id of a seeded organisation, by its seed key (e.g. ``comensha``)."""
    return uuid.uuid5(NAMESPACE, key)


REAL_ORGANISATIONS: dict[str, OrganisationData] = {
    "hvo-querido": OrganisationData(
        "HVO Querido", K.SHELTER, "NL", city="Amsterdam", services=(S.SHELTER,),
        source=PUBLIC_SOURCE,
    ),
    "humanitas-pmw": OrganisationData(
        "Humanitas PMW", K.SHELTER, "NL", city="Rotterdam", services=(S.SHELTER,),
        source=PUBLIC_SOURCE,
    ),
    "jade-zorggroep": OrganisationData(
        "Jade Zorggroep", K.SHELTER, "NL", region="Friesland", services=(S.SHELTER,),
        source=PUBLIC_SOURCE,
    ),
    "moviera": OrganisationData(
        "Moviera", K.SHELTER, "NL", region="Utrecht", services=(S.SHELTER,),
        source=PUBLIC_SOURCE,
    ),
    "het-kopland": OrganisationData(
        "Het Kopland", K.SHELTER, "NL", city="Groningen", services=(S.SHELTER,),
        source=PUBLIC_SOURCE,
    ),
    "blijf-groep": OrganisationData(
        "Blijf Groep", K.SHELTER, "NL", region="Amsterdam region", services=(S.SHELTER,),
        source=PUBLIC_SOURCE,
    ),
    "comensha": OrganisationData(
        "CoMensha", K.COORDINATION_CENTRE, "NL", city="Amersfoort", source=PUBLIC_SOURCE
    ),
    "dtv": OrganisationData(
        "Dienst Terugkeer en Vertrek", K.GOVERNMENT, "NL",
        services=(S.RETURN_COUNSELLING, S.TRAVEL_ASSISTANCE),
        source=PUBLIC_SOURCE, return_support=R.HANDS_ON_GUIDANCE,
    ),
    "payoke": OrganisationData(
        "Payoke", K.NGO, "BE", city="Antwerp", services=(S.SHELTER,), source=PUBLIC_SOURCE
    ),
    "nidos": OrganisationData(
        "Nidos", K.NGO, "NL", city="Utrecht", target_groups=(T.MINORS,),
        description_en="The Dutch guardianship body for unaccompanied minors.",
        description_nl="De Nederlandse voogdij-instelling voor alleenstaande minderjarigen.",
        source=PUBLIC_SOURCE,
    ),
    "iom-nl": OrganisationData(
        "IOM Netherlands", K.INTERNATIONAL_ORGANISATION, "NL", city="The Hague",
        services=(S.RETURN_COUNSELLING, S.TRAVEL_ASSISTANCE, S.RECEPTION_ON_ARRIVAL),
        source=PUBLIC_SOURCE, return_support=R.HANDS_ON_GUIDANCE,
    ),
}  # fmt: skip


REFERRAL_MECHANISMS: dict[str, MechanismData] = seed_mechanisms.referral_mechanisms(
    {key: organisation_id(key) for key in REAL_ORGANISATIONS}
)


def _demo(
    name: str,
    kind: K,
    country: str,
    city: str,
    services: tuple[S, ...],
    groups: tuple[T, ...],
    languages: tuple[str, ...],
    domain: str,
    return_support: R | None = None,
) -> OrganisationData:
    return OrganisationData(
        name=f"{name} (demo)",
        kind=kind,
        country=country,
        city=city,
        services=tuple(s for s in S if s in services),
        target_groups=tuple(t for t in T if t in groups),
        languages=tuple(sorted(languages)),
        contact_channels=(
            ContactChannel(C.EMAIL, f"info@{domain}.example.org"),
            ContactChannel(C.WEBSITE, f"https://{domain}.example.org"),
        ),
        referral_notes=DEMO_NOTE,
        source=DEMO_SOURCE,
        return_support=return_support,
    )


DEMO_ORGANISATIONS: dict[str, OrganisationData] = {
    "demo-lagos-network": _demo(
        "Lagos Return and Reintegration Network", K.NGO, "NG", "Lagos",
        (S.RETURN_COUNSELLING, S.RECEPTION_ON_ARRIVAL, S.PSYCHOSOCIAL_SUPPORT,
         S.EDUCATION_AND_VOCATIONAL_TRAINING),
        (T.WOMEN, T.MINORS), ("en", "yo"), "lagos-network",
    ),
    "demo-lagos-legal": _demo(
        "Lagos Legal Aid Clinic", K.NGO, "NG", "Lagos", (S.LEGAL_AID,), (T.ALL,), ("en",),
        "lagos-legal",
    ),
    "demo-benin-city": _demo(
        "Benin City Women's Shelter", K.SHELTER, "NG", "Benin City",
        (S.SHELTER, S.MEDICAL_CARE, S.PSYCHOSOCIAL_SUPPORT), (T.WOMEN,), ("en",),
        "benin-city-shelter",
    ),
    "demo-iasi": _demo(
        "Casa Speranței Iași", K.NGO, "RO", "Iași",
        (S.RECEPTION_ON_ARRIVAL, S.SHELTER, S.PSYCHOSOCIAL_SUPPORT, S.LEGAL_AID),
        (T.WOMEN, T.FAMILIES), ("ro", "en"), "casa-sperantei",
    ),
    "demo-bucharest": _demo(
        "Centrul de Reintegrare București", K.NGO, "RO", "București",
        (S.RETURN_COUNSELLING, S.INCOME_SUPPORT, S.EDUCATION_AND_VOCATIONAL_TRAINING),
        (T.ALL,), ("ro",), "reintegrare-bucuresti",
    ),
    "demo-sofia": _demo(
        "Sofia Return Support Centre", K.NGO, "BG", "Sofia",
        (S.RETURN_COUNSELLING, S.RECEPTION_ON_ARRIVAL, S.LEGAL_AID), (T.ALL,), ("bg", "en"),
        "sofia-return",
    ),
    "demo-kyiv": _demo(
        "Kyiv Family Tracing Service", K.NGO, "UA", "Kyiv",
        (S.FAMILY_TRACING, S.PSYCHOSOCIAL_SUPPORT), (T.FAMILIES, T.MINORS), ("uk", "ru", "en"),
        "kyiv-tracing",
    ),
    "demo-hanoi": _demo(
        "Trung tâm Hỗ trợ Hồi hương Hà Nội", K.NGO, "VN", "Hà Nội",
        (S.RETURN_COUNSELLING, S.RECEPTION_ON_ARRIVAL, S.EDUCATION_AND_VOCATIONAL_TRAINING),
        (T.ALL,), ("vi", "en"), "hoi-huong-hanoi",
    ),
    "demo-sao-paulo": _demo(
        "Centro de Acolhimento São Paulo", K.SHELTER, "BR", "São Paulo",
        (S.SHELTER, S.MEDICAL_CARE, S.LEGAL_AID), (T.WOMEN, T.LGBTIQ), ("pt",),
        "acolhimento-sp",
    ),
    "demo-sao-tome": _demo(
        "Associação São Tomé Solidária", K.NGO, "ST", "São Tomé",
        (S.RECEPTION_ON_ARRIVAL, S.INCOME_SUPPORT, S.FAMILY_TRACING), (T.ALL,), ("pt",),
        "sao-tome-solidaria",
    ),
    "demo-kampala": _demo(
        "Kampala Reception Centre", K.NGO, "UG", "Kampala",
        (S.RECEPTION_ON_ARRIVAL, S.SHELTER, S.MEDICAL_CARE), (T.WOMEN, T.MINORS), ("en", "lg"),
        "kampala-reception",
    ),
    "demo-terugkeer-info": _demo(
        "Terugkeer Informatiepunt", K.NGO, "NL", "Utrecht", (S.RETURN_COUNSELLING,), (T.ALL,),
        ("nl", "en"), "terugkeer-info", R.GENERAL_INFORMATION,
    ),
}  # fmt: skip

SEED_ACTOR = Actor(subject="safe-future seed", organisation="system")


def statements(
    *, demo: bool, actor: Actor = SEED_ACTOR
) -> Iterator[tuple[str, TextClause, dict[str, Any]]]:
    """What seeding executes: (kind, statement, parameters), each a no-op when present.

    Plain statements, so that a migration (synchronous) and the command line (asynchronous)
    run exactly the same thing.
    """
    for key, data in REAL_ORGANISATIONS.items():
        params = repository.create_params(organisation_id(key), data, actor)
        yield "organisation", repository.CREATE_IF_ABSENT, params
    for country, mechanism in REFERRAL_MECHANISMS.items():
        params = mechanisms.mechanism_params(country, mechanism, actor)
        yield "mechanism", mechanisms.CREATE_MECHANISM_IF_ABSENT, params
    if demo:
        for key, data in DEMO_ORGANISATIONS.items():
            params = repository.create_params(organisation_id(key), data, actor, demo=True)
            yield "demo", repository.CREATE_IF_ABSENT, params


@dataclass(frozen=True, slots=True)
class SeedResult:
    organisations: int
    mechanisms: int
    demo_organisations: int


async def seed(engine: AsyncEngine, *, demo: bool, actor: Actor = SEED_ACTOR) -> SeedResult:
    """Load the seed (and the demo set with ``demo``) in one transaction; what was new."""
    created = {"organisation": 0, "mechanism": 0, "demo": 0}
    async with engine.begin() as conn:
        for kind, statement, params in statements(demo=demo, actor=actor):
            if (await conn.execute(statement, params)).first() is not None:
                created[kind] += 1
    return SeedResult(created["organisation"], created["mechanism"], created["demo"])
