"""ISO code sets used by the domain, kept in code so validation needs no I/O.

- ``COUNTRY_CODES``: every officially assigned ISO 3166-1 alpha-2 code (249 codes).
- ``LANGUAGE_CODES``: every ISO 639-1 code (184 codes). This includes ``bh`` (Bihari), a
  collective code the registration authority has since deprecated; it stays valid so that data
  recorded with it keeps validating.
- ``EU_EEA_COUNTRIES``: the territory of the EU plus Iceland, Liechtenstein and Norway, the
  area within which the GDPR lets personal data move without a transfer mechanism. The EU's
  territory includes parts of member states that ISO codes separately
  (``EU_TERRITORIES_WITH_OWN_CODE``): the outermost regions of France (Guadeloupe, French
  Guiana, Martinique, Reunion, Mayotte, Saint-Martin; TFEU art. 349 and 355(1)) and the Aland
  Islands (Finland; TFEU art. 355(4)). The Azores, Madeira, the Canary Islands, Ceuta and
  Melilla have no ISO code of their own (they are ``PT`` and ``ES``). Overseas countries and
  territories (TFEU art. 355(2), Annex II: Greenland, New Caledonia, French Polynesia, Aruba,
  Curacao, Saint Barthelemy, ...) are *not* EU territory, nor are the Faroe Islands, nor
  Svalbard and Jan Mayen (outside the EEA Agreement). Greece is ``GR`` here (ISO), not ``EL``
  (the EU's own abbreviation).

Codes are case-sensitive: countries in capitals (``NL``), languages in lower case (``nl``).
"""

from __future__ import annotations

__all__ = [
    "COUNTRY_CODES",
    "EU_EEA_COUNTRIES",
    "EU_MEMBER_STATES",
    "EU_TERRITORIES_WITH_OWN_CODE",
    "LANGUAGE_CODES",
    "is_country",
    "is_language",
]


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


COUNTRY_CODES: frozenset[str] = _codes(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
    """
)

LANGUAGE_CODES: frozenset[str] = _codes(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu
    hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb
    lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om
    or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw
    ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
    """
)

EU_MEMBER_STATES: frozenset[str] = _codes(
    """
    AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK
    """
)

# Parts of the EU's territory that ISO 3166-1 codes apart from their member state.
EU_TERRITORIES_WITH_OWN_CODE: frozenset[str] = _codes("GF GP MQ RE YT MF AX")

EU_EEA_COUNTRIES: frozenset[str] = (
    EU_MEMBER_STATES | EU_TERRITORIES_WITH_OWN_CODE | {"IS", "LI", "NO"}
)


def is_country(code: str) -> bool:
    """True when ``code`` is an assigned ISO 3166-1 alpha-2 code written in capitals."""
    return code in COUNTRY_CODES


def is_language(code: str) -> bool:
    """True when ``code`` is an ISO 639-1 code written in lower case."""
    return code in LANGUAGE_CODES
