"""Carbon intensity from a generation mix: the one table of life-cycle factors.

A grid's production-based intensity is ``sum_f(generation_f x factor_f) / sum_f(generation_f)``
over its production types. The embedded dataset is derived this way from ENTSO-E's generation
per production type (``scripts/derive_embedded_data.py``) and the live ENTSO-E source computes
the same from the API (``providers.entsoe``), so both read these tables and cannot drift apart.
Production-based means imports are not traced: a grid that imports much coal power reads
cleaner than a flow-traced source (Electricity Maps) says it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "LIFECYCLE_G_PER_KWH",
    "PRODUCTION_TYPES",
    "PSR_TYPES",
    "factor_g_per_kwh",
    "mix_intensity_g_per_kwh",
]

# Life-cycle emission factors in gCO2eq/kWh: the defaults Electricity Maps uses (config
# defaults.yaml of electricitymaps-contrib, "lifecycle"), which are the medians of IPCC AR5 WG3
# Annex III, Table A.III.2 (Schlömer et al. 2014) except oil (UK POST 2014, "Carbon footprint of
# electricity generation") and unknown (Electricity Maps' assumption of conventional thermal).
LIFECYCLE_G_PER_KWH: Mapping[str, float] = MappingProxyType(
    {
        "biomass": 230.0,  # IPCC AR5: biomass, dedicated
        "coal": 820.0,  # IPCC AR5: coal, pulverised
        "gas": 490.0,  # IPCC AR5: gas, combined cycle
        "geothermal": 38.0,  # IPCC AR5
        "hydro": 24.0,  # IPCC AR5
        "nuclear": 12.0,  # IPCC AR5
        "oil": 650.0,  # UK POST 2014, as Electricity Maps
        "solar": 45.0,  # IPCC AR5 (PV utility 48 / rooftop 41), as Electricity Maps
        "wind": 11.0,  # IPCC AR5: onshore 11 (offshore 12), as Electricity Maps
        "unknown": 700.0,  # Electricity Maps: assumed conventional thermal
    }
)

# ENTSO-E production type -> factor category; the grouping of Electricity Maps' ENTSO-E parser
# (coal-derived gas, oil shale and peat with coal; waste with biomass; marine, other renewable
# and other as unknown). None: left out of the intensity, numerator and denominator: pumped
# storage and other storage give back energy generated earlier by the rest of the mix, which
# would be counted twice.
PRODUCTION_TYPES: Mapping[str, str | None] = MappingProxyType(
    {
        "Biomass": "biomass",
        "Fossil Brown coal/Lignite": "coal",
        "Fossil Coal-derived gas": "coal",
        "Fossil Gas": "gas",
        "Fossil Hard coal": "coal",
        "Fossil Oil": "oil",
        "Fossil Oil shale": "coal",
        "Fossil Peat": "coal",
        "Geothermal": "geothermal",
        "Hydro Pumped Storage": None,
        "Hydro Run-of-river and poundage": "hydro",
        "Hydro Water Reservoir": "hydro",
        "Marine": "unknown",
        "Nuclear": "nuclear",
        "Other": "unknown",
        "Other renewable": "unknown",
        "Solar": "solar",
        "Waste": "biomass",
        "Wind Offshore": "wind",
        "Wind Onshore": "wind",
        "Energy storage": None,
    }
)

# The ENTSO-E code list's PSR types (``psrType`` in the API) by their production-type names.
PSR_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "B01": "Biomass",
        "B02": "Fossil Brown coal/Lignite",
        "B03": "Fossil Coal-derived gas",
        "B04": "Fossil Gas",
        "B05": "Fossil Hard coal",
        "B06": "Fossil Oil",
        "B07": "Fossil Oil shale",
        "B08": "Fossil Peat",
        "B09": "Geothermal",
        "B10": "Hydro Pumped Storage",
        "B11": "Hydro Run-of-river and poundage",
        "B12": "Hydro Water Reservoir",
        "B13": "Marine",
        "B14": "Nuclear",
        "B15": "Other renewable",
        "B16": "Solar",
        "B17": "Waste",
        "B18": "Wind Offshore",
        "B19": "Wind Onshore",
        "B20": "Other",
        "B25": "Energy storage",
    }
)


def factor_g_per_kwh(production_type: str) -> float | None:
    """The life-cycle factor of a production type; ``None`` for types left out (storage).

    Raises ``KeyError`` for a name the table does not know: a new type must be given a factor
    on purpose, never silently counted as zero.
    """
    category = PRODUCTION_TYPES[production_type]
    return None if category is None else LIFECYCLE_G_PER_KWH[category]


def mix_intensity_g_per_kwh(generation_mwh: Mapping[str, float]) -> float | None:
    """The intensity of one interval's generation by production type, ``None`` if none counts."""
    emitted = 0.0
    total = 0.0
    for production_type, energy in generation_mwh.items():
        factor = factor_g_per_kwh(production_type)
        if factor is None:
            continue
        energy = max(energy, 0.0)
        emitted += energy * factor
        total += energy
    return emitted / total if total > 0 else None
