"""English and Dutch names of the countries the social map works with most.

Codes are ISO 3166-1 alpha-2 (see ``service.domain.codes``). The table covers the EU/EEA, the
United Kingdom and Switzerland, and the countries of origin met most in Dutch shelters; any
other valid code is still accepted everywhere, it just has no names here (and so a text search
for its name finds nothing until a name is added). ``aliases`` are other common spellings a
search should also find.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["COUNTRY_NAMES", "CountryName", "names_of"]


@dataclass(frozen=True, slots=True)
class CountryName:
    en: str
    nl: str
    aliases: tuple[str, ...] = ()

    def all(self) -> tuple[str, ...]:
        return (self.en, self.nl, *self.aliases)


_N = CountryName

COUNTRY_NAMES = MappingProxyType(
    {
        # EU member states
        "AT": _N("Austria", "Oostenrijk"),
        "BE": _N("Belgium", "België"),
        "BG": _N("Bulgaria", "Bulgarije"),
        "CY": _N("Cyprus", "Cyprus"),
        "CZ": _N("Czechia", "Tsjechië", ("Czech Republic",)),
        "DE": _N("Germany", "Duitsland"),
        "DK": _N("Denmark", "Denemarken"),
        "EE": _N("Estonia", "Estland"),
        "ES": _N("Spain", "Spanje"),
        "FI": _N("Finland", "Finland"),
        "FR": _N("France", "Frankrijk"),
        "GR": _N("Greece", "Griekenland"),
        "HR": _N("Croatia", "Kroatië"),
        "HU": _N("Hungary", "Hongarije"),
        "IE": _N("Ireland", "Ierland"),
        "IT": _N("Italy", "Italië"),
        "LT": _N("Lithuania", "Litouwen"),
        "LU": _N("Luxembourg", "Luxemburg"),
        "LV": _N("Latvia", "Letland"),
        "MT": _N("Malta", "Malta"),
        "NL": _N("Netherlands", "Nederland", ("The Netherlands",)),
        "PL": _N("Poland", "Polen"),
        "PT": _N("Portugal", "Portugal"),
        "RO": _N("Romania", "Roemenië"),
        "SE": _N("Sweden", "Zweden"),
        "SI": _N("Slovenia", "Slovenië"),
        "SK": _N("Slovakia", "Slowakije"),
        # rest of the EEA, and neighbours
        "IS": _N("Iceland", "IJsland"),
        "LI": _N("Liechtenstein", "Liechtenstein"),
        "NO": _N("Norway", "Noorwegen"),
        "GB": _N("United Kingdom", "Verenigd Koninkrijk"),
        "CH": _N("Switzerland", "Zwitserland"),
        # Europe outside the EU
        "UA": _N("Ukraine", "Oekraïne"),
        "MD": _N("Moldova", "Moldavië"),
        "BY": _N("Belarus", "Belarus", ("Wit-Rusland",)),
        "RU": _N("Russia", "Rusland"),
        "AL": _N("Albania", "Albanië"),
        "RS": _N("Serbia", "Servië"),
        "BA": _N("Bosnia and Herzegovina", "Bosnië en Herzegovina"),
        "MK": _N("North Macedonia", "Noord-Macedonië"),
        "ME": _N("Montenegro", "Montenegro"),
        "TR": _N("Türkiye", "Turkije", ("Turkey",)),
        "GE": _N("Georgia", "Georgië"),
        "AM": _N("Armenia", "Armenië"),
        "AZ": _N("Azerbaijan", "Azerbeidzjan"),
        # Africa
        "NG": _N("Nigeria", "Nigeria"),
        "GH": _N("Ghana", "Ghana"),
        "SL": _N("Sierra Leone", "Sierra Leone"),
        "GN": _N("Guinea", "Guinee"),
        "CM": _N("Cameroon", "Kameroen"),
        "UG": _N("Uganda", "Oeganda"),
        "KE": _N("Kenya", "Kenia"),
        "ER": _N("Eritrea", "Eritrea"),
        "ET": _N("Ethiopia", "Ethiopië"),
        "SO": _N("Somalia", "Somalië"),
        "SD": _N("Sudan", "Soedan"),
        "MA": _N("Morocco", "Marokko"),
        "DZ": _N("Algeria", "Algerije"),
        "TN": _N("Tunisia", "Tunesië"),
        "EG": _N("Egypt", "Egypte"),
        "ST": _N("São Tomé and Príncipe", "Sao Tomé en Principe"),
        "CV": _N("Cabo Verde", "Kaapverdië", ("Cape Verde",)),
        "AO": _N("Angola", "Angola"),
        "CD": _N("Democratic Republic of the Congo", "Democratische Republiek Congo"),
        # Asia
        "SY": _N("Syria", "Syrië"),
        "IQ": _N("Iraq", "Irak"),
        "IR": _N("Iran", "Iran"),
        "AF": _N("Afghanistan", "Afghanistan"),
        "PK": _N("Pakistan", "Pakistan"),
        "IN": _N("India", "India"),
        "BD": _N("Bangladesh", "Bangladesh"),
        "LK": _N("Sri Lanka", "Sri Lanka"),
        "NP": _N("Nepal", "Nepal"),
        "CN": _N("China", "China"),
        "VN": _N("Vietnam", "Vietnam", ("Viet Nam",)),
        "TH": _N("Thailand", "Thailand"),
        "PH": _N("Philippines", "Filipijnen"),
        "ID": _N("Indonesia", "Indonesië"),
        "MN": _N("Mongolia", "Mongolië"),
        "KG": _N("Kyrgyzstan", "Kirgizië"),
        # Americas
        "BR": _N("Brazil", "Brazilië"),
        "CO": _N("Colombia", "Colombia"),
        "DO": _N("Dominican Republic", "Dominicaanse Republiek"),
        "SR": _N("Suriname", "Suriname"),
        "VE": _N("Venezuela", "Venezuela"),
        "PY": _N("Paraguay", "Paraguay"),
    }
)


def names_of(code: str) -> CountryName | None:
    """The names of a country, or ``None`` when the table has none for ``code``."""
    return COUNTRY_NAMES.get(code)
