"""Topics of the dialogues and the agencies that answer them by default (DOMAIN.md).

Names are catalog message ids: shown through the translator, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.i18n import N_


@dataclass(frozen=True)
class Agency:
    code: str
    name: str


@dataclass(frozen=True)
class Topic:
    code: str
    name: str
    agency: str  # the agency that answers by default; the facilitator can reassign


AGENCIES: dict[str, Agency] = {
    a.code: a
    for a in (
        Agency("ldtbxh", N_("Labour, Invalids and Social Affairs Office")),
        Agency("kinhte", N_("Economy Office")),
        Agency("yte", N_("Health Office")),
        Agency("nhcsxh", N_("Social Policy Bank")),
        Agency("gddt", N_("Education and Training Office")),
        Agency("bhxh", N_("Social Insurance")),
        Agency("ubnd", N_("Ward / Commune People's Committee")),
    )
}

TOPICS: dict[str, Topic] = {
    t.code: t
    for t in (
        Topic("giamngheo", N_("Poverty reduction, livelihoods, vocational training"), "ldtbxh"),
        Topic("tindung", N_("Credit and loans"), "nhcsxh"),
        Topic("giaoduc", N_("Education"), "gddt"),
        Topic("yte", N_("Health and health insurance"), "yte"),
        Topic("datnha", N_("Residential land and housing"), "ubnd"),
        Topic("rasoat", N_("Survey of poor and near-poor households"), "ldtbxh"),
        Topic("kinhte", N_("Socio-economic planning"), "kinhte"),
        Topic("ngansach", N_("Commune budget"), "ubnd"),
        Topic("danchu", N_("Grassroots democracy"), "ubnd"),
        Topic("quyuoc", N_("Commune regulations"), "ubnd"),
        Topic("khac", N_("Other"), "ubnd"),
    )
}
