"""Seed flowcharts of the national referral mechanisms of the Netherlands, Belgium, Luxembourg
and Hungary, from public sources only.

The general steps follow the handbook and flowcharts of the Ravot project (Referral of and
assistance for victims of human trafficking in Europe, run from February 2014 to January 2016
by Hungary's Ministry of the Interior, the Dutch Ministry of Security and Justice and the
Belgian NGO Payoke) and the Benelux brochure on the referral mechanisms of Belgium, Luxembourg
and the Netherlands. The Dutch route for minors follows public information on guardianship by
Nidos and protected reception. Every step names its source; none holds invented contact
details, durations or legal articles: a field is left empty where the sources do not say it.
They are an orientation, not legal advice, and an editor keeps them current.
"""

from __future__ import annotations

import datetime as dt
import uuid

from service.socialmap.flowchart import Condition, Edge, Graph, SourceRef, Step
from service.socialmap.mechanisms import MechanismData

__all__ = ["referral_mechanisms"]

CONSULTED = dt.date(2026, 11, 29)
RAVOT = SourceRef(
    "Ravot project (Referral of and assistance for victims of human trafficking in Europe): "
    "handbook and flowcharts of the national referral mechanisms of Hungary, the Netherlands "
    "and Belgium",
    "2016",
    CONSULTED,
)
BENELUX = SourceRef(
    "Benelux brochure on the referral mechanisms for victims of human trafficking of Belgium, "
    "Luxembourg and the Netherlands",
    None,
    CONSULTED,
)
NIDOS = SourceRef(
    "Public information of Nidos on the guardianship of unaccompanied minors in the Netherlands",
    None,
    CONSULTED,
)
NOTE_EN = (
    "A general outline from public sources. Check the current national rules and contacts "
    "before acting on it."
)
NOTE_NL = (
    "Een algemeen overzicht op basis van openbare bronnen. Controleer de actuele regels en "
    "contactpersonen voordat u ermee aan de slag gaat."
)

ADULT = Condition(minor=False)
MINOR = Condition(minor=True)
EU = Condition(eu_citizen=True)
NON_EU = Condition(eu_citizen=False)
ADULT_EU = Condition(minor=False, eu_citizen=True)
ADULT_NON_EU = Condition(minor=False, eu_citizen=False)
COOPERATES = Condition(cooperates_with_police=True)
DOES_NOT_COOPERATE = Condition(cooperates_with_police=False)
ANYONE = Condition()


def _step(
    key: str,
    title: tuple[str, str],
    body: str,
    description: tuple[str, str],
    source: SourceRef = RAVOT,
    organisation: uuid.UUID | None = None,
    duration: str | None = None,
) -> Step:
    return Step(
        key=key,
        title_en=title[0],
        title_nl=title[1],
        description_en=description[0],
        description_nl=description[1],
        responsible_body=body,
        responsible_organisation_id=organisation,
        typical_duration=duration,
        legal_basis=None,
        source=source,
    )


def _netherlands(org: dict[str, uuid.UUID]) -> Graph:
    steps = (
        _step(
            "signal", ("Signal", "Signaal"),
            "Police, or any professional who notices signs of human trafficking",
            ("Signs of possible human trafficking are reported to the police. At the slightest "
             "indication of trafficking the police inform the person of their rights as a "
             "possible victim.",
             "Signalen van mogelijke mensenhandel worden bij de politie gemeld. Bij de geringste "
             "aanwijzing van mensenhandel informeert de politie de persoon over diens rechten "
             "als mogelijk slachtoffer."),
        ),
        _step(
            "registration", ("Registration", "Aanmelding"), "CoMensha",
            ("Possible victims are reported to CoMensha, the national coordination centre "
             "against human trafficking, which registers them.",
             "Mogelijke slachtoffers worden aangemeld bij CoMensha, het landelijk "
             "coördinatiecentrum tegen mensenhandel, dat hen registreert."),
            organisation=org["comensha"],
        ),
        _step(
            "minor-guardianship",
            ("Guardianship and protected reception for minors",
             "Voogdij en beschermde opvang voor minderjarigen"),
            "Nidos (guardianship) and protected reception for minors",
            ("An unaccompanied minor who may be a victim gets a guardian from Nidos, the Dutch "
             "guardianship body, and is received in protected reception, apart from adults. "
             "Every decision about the child, return included, weighs the child's best "
             "interests.",
             "Een alleenstaande minderjarige die mogelijk slachtoffer is, krijgt een voogd van "
             "Nidos, de Nederlandse voogdij-instelling, en wordt beschermd opgevangen, apart "
             "van volwassenen. Bij elke beslissing over het kind, ook over terugkeer, staat "
             "het belang van het kind voorop."),
            source=NIDOS, organisation=org["nidos"],
        ),
        _step(
            "reflection-period", ("Reflection period", "Bedenktijd"),
            "Police and the Immigration and Naturalisation Service (IND)",
            ("A possible victim without lawful residence is offered a reflection period of up "
             "to three months to decide whether to report the crime.",
             "Een mogelijk slachtoffer zonder rechtmatig verblijf krijgt een bedenktijd van "
             "maximaal drie maanden om te beslissen of hij of zij aangifte doet."),
            duration="up to three months",
        ),
        _step(
            "shelter-and-care", ("Shelter and care", "Opvang en zorg"),
            "CoMensha and the shelters (COSM shelters during the reflection period)",
            ("CoMensha finds a place in a shelter; a victim without lawful residence in the "
             "reflection period goes to a categorical shelter for victims (COSM).",
             "CoMensha zoekt een plaats in de opvang; een slachtoffer zonder rechtmatig "
             "verblijf gaat tijdens de bedenktijd naar een categorale opvang voor slachtoffers "
             "(COSM)."),
            organisation=org["comensha"],
        ),
        _step(
            "residence-permit",
            ("Temporary residence permit for victims", "Tijdelijke verblijfsvergunning"),
            "Immigration and Naturalisation Service (IND)",
            ("A report or cooperation with the investigation opens the temporary residence "
             "permit for victims. When the prosecutor drops the case or the proceedings end "
             "without another permit, the right to stay ends and departure becomes an "
             "obligation.",
             "Aangifte of medewerking aan het onderzoek geeft recht op de tijdelijke "
             "verblijfsvergunning voor slachtoffers. Seponeert de officier van justitie de zaak "
             "of eindigt de strafzaak zonder andere vergunning, dan eindigt het recht op "
             "verblijf en moet de persoon vertrekken."),
        ),
        _step(
            "return", ("Return", "Terugkeer"),
            "Dienst Terugkeer en Vertrek (DT&V) and IOM, with the shelter",
            ("When the right to stay ends, or the client wants to return, the client first gets "
             "the chance to leave independently with help from IOM, DT&V or the shelter; forced "
             "return by DT&V comes only when the client does not leave and does not accept "
             "help.",
             "Eindigt het recht op verblijf, of wil de cliënt terug, dan krijgt de cliënt eerst "
             "de kans zelfstandig te vertrekken met hulp van IOM, DT&V of de opvang; gedwongen "
             "terugkeer door DT&V volgt pas als de cliënt niet vertrekt en geen hulp "
             "aanvaardt."),
            organisation=org["dtv"],
        ),
        _step(
            "minor-return", ("Return of a minor", "Terugkeer van een minderjarige"),
            "Nidos (guardian), with DT&V or IOM",
            ("A minor returns only with the guardian's involvement, after a best-interests "
             "assessment and an assessment of the family in the country of origin; a child is "
             "not returned to a family assessed as unsafe without a receiving organisation.",
             "Een minderjarige keert alleen terug met betrokkenheid van de voogd, na een "
             "beoordeling van het belang van het kind en van de familie in het land van "
             "herkomst; een kind gaat niet terug naar een onveilig beoordeelde familie zonder "
             "opvangende organisatie."),
            source=NIDOS, organisation=org["nidos"],
        ),
    )  # fmt: skip
    edges = (
        Edge("signal", "registration", ANYONE),
        Edge("registration", "minor-guardianship", MINOR),
        Edge("registration", "reflection-period", ADULT_NON_EU),
        Edge("registration", "shelter-and-care", ADULT_EU),
        Edge("reflection-period", "shelter-and-care", ANYONE),
        Edge("shelter-and-care", "residence-permit", Condition(False, False, (), True)),
        Edge("shelter-and-care", "return", ANYONE),
        Edge("residence-permit", "return", ANYONE),
        Edge("minor-guardianship", "residence-permit", Condition(True, False, (), True)),
        Edge("minor-guardianship", "minor-return", ANYONE),
        Edge("residence-permit", "minor-return", MINOR),
    )
    return Graph("signal", steps, edges)


def _belgium(org: dict[str, uuid.UUID]) -> Graph:
    steps = (
        _step(
            "detection", ("Detection", "Detectie"),
            "Frontline services (police, inspection services, social and health workers)",
            ("Frontline services detect signs of human trafficking and refer a possible victim "
             "to one of the specialised centres.",
             "Eerstelijnsdiensten herkennen signalen van mensenhandel en verwijzen een mogelijk "
             "slachtoffer naar een van de gespecialiseerde centra."),
        ),
        _step(
            "reception", ("Reception and guidance", "Opvang en begeleiding"),
            "Specialised centres: Payoke (Antwerp), PAG-ASA (Brussels), Sürya (Liège)",
            ("A specialised centre receives the victim, offers shelter and guidance, and "
             "supports the victim through the procedure.",
             "Een gespecialiseerd centrum vangt het slachtoffer op, biedt onderdak en "
             "begeleiding en ondersteunt het slachtoffer tijdens de procedure."),
            organisation=org["payoke"],
        ),
        _step(
            "reflection-period", ("Reflection period", "Bedenktijd"),
            "Immigration Office, at the request of a specialised centre",
            ("A victim without lawful residence gets a reflection period to recover and decide "
             "whether to make statements.",
             "Een slachtoffer zonder rechtmatig verblijf krijgt een bedenktijd om te herstellen "
             "en te beslissen of het verklaringen aflegt."),
        ),
        _step(
            "victim-status", ("Victim status", "Slachtofferstatuut"),
            "Public prosecutor and the Immigration Office",
            ("A victim who makes statements or files a complaint, breaks off contact with the "
             "suspected exploiters and is guided by a specialised centre can obtain the victim "
             "status, with a right to stay tied to the proceedings.",
             "Een slachtoffer dat verklaringen aflegt of klacht indient, het contact met de "
             "vermoedelijke uitbuiters verbreekt en begeleid wordt door een gespecialiseerd "
             "centrum, kan het slachtofferstatuut krijgen, met een verblijfsrecht dat aan de "
             "procedure is gekoppeld."),
        ),
    )  # fmt: skip
    edges = (
        Edge("detection", "reception", ANYONE),
        Edge("reception", "reflection-period", NON_EU),
        Edge("reception", "victim-status", Condition(eu_citizen=True, cooperates_with_police=True)),
        Edge("reflection-period", "victim-status", COOPERATES),
    )
    return Graph("detection", steps, edges)


def _luxembourg() -> Graph:
    steps = (
        _step(
            "identification", ("Identification", "Identificatie"), "Grand Ducal Police",
            ("Signs of human trafficking are reported to the police, who identify victims.",
             "Signalen van mensenhandel worden gemeld bij de politie, die slachtoffers "
             "identificeert."),
            source=BENELUX,
        ),
        _step(
            "assistance", ("Assistance", "Hulpverlening"),
            "Specialised victim assistance services",
            ("Specialised services offer the victim shelter and psychosocial, medical and legal "
             "support.",
             "Gespecialiseerde diensten bieden het slachtoffer onderdak en psychosociale, "
             "medische en juridische steun."),
            source=BENELUX,
        ),
        _step(
            "reflection-and-residence",
            ("Reflection period and residence", "Bedenktijd en verblijf"),
            "Immigration authorities",
            ("A victim without lawful residence gets a reflection period, and can obtain a "
             "residence permit when cooperating with the authorities.",
             "Een slachtoffer zonder rechtmatig verblijf krijgt een bedenktijd en kan een "
             "verblijfsvergunning krijgen bij medewerking met de autoriteiten."),
            source=BENELUX,
        ),
    )  # fmt: skip
    edges = (
        Edge("identification", "assistance", ANYONE),
        Edge("assistance", "reflection-and-residence", NON_EU),
    )
    return Graph("identification", steps, edges)


def _hungary() -> Graph:
    steps = (
        _step(
            "identification", ("Identification", "Identificatie"),
            "Designated identifying bodies (such as the police, consular services, victim "
            "support and child protection services)",
            ("A possible victim is identified by one of the bodies designated to do so.",
             "Een mogelijk slachtoffer wordt geïdentificeerd door een van de daartoe "
             "aangewezen instanties."),
        ),
        _step(
            "victim-support", ("Victim support", "Slachtofferhulp"), "Victim support services",
            ("The victim is informed about the support available and referred to it.",
             "Het slachtoffer wordt geïnformeerd over de beschikbare hulp en daarnaar "
             "verwezen."),
        ),
        _step(
            "shelter", ("Shelter", "Opvang"), "Shelters for victims of human trafficking",
            ("The victim can be placed in a shelter for victims of human trafficking.",
             "Het slachtoffer kan worden opgevangen in een opvang voor slachtoffers van "
             "mensenhandel."),
        ),
        _step(
            "reflection-and-residence",
            ("Reflection period and residence", "Bedenktijd en verblijf"),
            "Immigration authority",
            ("A victim who is a third-country national can get a reflection period and a "
             "residence permit.",
             "Een slachtoffer van buiten de EU kan een bedenktijd en een verblijfsvergunning "
             "krijgen."),
        ),
    )  # fmt: skip
    edges = (
        Edge("identification", "victim-support", ANYONE),
        Edge("victim-support", "shelter", ANYONE),
        Edge("shelter", "reflection-and-residence", NON_EU),
    )
    return Graph("identification", steps, edges)


def _mechanism(title: tuple[str, str], graph: Graph) -> MechanismData:
    return MechanismData(
        title_en=title[0],
        title_nl=title[1],
        notes_en=NOTE_EN,
        notes_nl=NOTE_NL,
        graph=graph,
        last_verified_on=CONSULTED,
    )


def referral_mechanisms(org: dict[str, uuid.UUID]) -> dict[str, MechanismData]:
    """The seed mechanisms by country; ``org`` gives the ids of seeded organisations."""
    return {
        "NL": _mechanism(
            ("National referral mechanism of the Netherlands",
             "Nationaal verwijsmechanisme van Nederland"),
            _netherlands(org),
        ),
        "BE": _mechanism(
            ("National referral mechanism of Belgium", "Nationaal verwijsmechanisme van België"),
            _belgium(org),
        ),
        "LU": _mechanism(
            ("National referral mechanism of Luxembourg",
             "Nationaal verwijsmechanisme van Luxemburg"),
            _luxembourg(),
        ),
        "HU": _mechanism(
            ("National referral mechanism of Hungary",
             "Nationaal verwijsmechanisme van Hongarije"),
            _hungary(),
        ),
    }  # fmt: skip
