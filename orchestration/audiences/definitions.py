"""Audience definitions: dbt models `marts.audience__<name>` whose YAML declares
`config.meta.audience` (condition, consent_category, destinations, traits), read from the dbt
manifest, and the default country of phone numbers for customer match."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestration import settings
from orchestration.identifiers import DEFAULT_PHONE_COUNTRY_CODE

AUDIENCE_PREFIX = "audience__"
DEFAULT_CONSENT_CATEGORY = "Advertising"
DEFAULT_TRAITS = ("user_id", "email", "first_name", "last_name")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DESTINATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")


class AudienceError(RuntimeError):
    """An audience cannot be exported; the message names the audience and the cause."""


@dataclass(frozen=True)
class Audience:
    """One audience, as declared in its dbt YAML (config.meta.audience)."""

    name: str
    description: str = ""
    condition: str = ""
    consent_category: str = DEFAULT_CONSENT_CATEGORY
    destinations: tuple[str, ...] = ()
    traits: tuple[str, ...] = DEFAULT_TRAITS

    @property
    def model(self) -> str:
        return AUDIENCE_PREFIX + self.name

    @property
    def relation(self) -> str:
        return f"marts.{self.model}"



def phone_country_code() -> str:
    """var audience_phone_country_code: the country of phone numbers written without one."""
    code = str(settings.dbt_vars().get("audience_phone_country_code") or DEFAULT_PHONE_COUNTRY_CODE)
    code = code.strip().lstrip("+")
    if not code.isdigit() or not 1 <= len(code) <= 3:
        raise AudienceError(f"var audience_phone_country_code {code!r} is not a country code")
    return code


def audience_from_node(node: Mapping[str, Any]) -> Audience | None:
    """The audience a manifest node declares, None for a model without meta.audience."""
    config_meta = (node.get("config") or {}).get("meta") or {}
    spec = config_meta.get("audience", (node.get("meta") or {}).get("audience"))
    if spec is None:
        return None
    model = node.get("name", "")
    if not model.startswith(AUDIENCE_PREFIX) or not _NAME.match(model[len(AUDIENCE_PREFIX):]):
        raise AudienceError(f"{model}: an audience model is named audience__<lower_case_name>")
    if not isinstance(spec, Mapping) or not str(spec.get("condition") or "").strip():
        raise AudienceError(f"{model}: meta.audience needs a condition")
    destinations = spec.get("destinations") or []
    if isinstance(destinations, str):
        destinations = [destinations]
    for destination in destinations:
        if not _DESTINATION.match(str(destination)):
            raise AudienceError(
                f"{model}: destination {destination!r} is not a folder name (letters, digits, "
                "_ . -)"
            )
    traits = spec.get("traits")
    traits = DEFAULT_TRAITS if traits is None else ([traits] if isinstance(traits, str) else traits)
    for trait in traits:
        if not _COLUMN.match(str(trait)) or trait in ("customer_id", "entered_at"):
            raise AudienceError(f"{model}: trait {trait!r} is not a customer_360 column name")
    category = spec.get("consent_category") or settings.dbt_vars().get(
        "audience_consent_category", DEFAULT_CONSENT_CATEGORY
    )
    return Audience(
        name=model[len(AUDIENCE_PREFIX):],
        description=" ".join(str(node.get("description") or "").split()),
        condition=" ".join(str(spec["condition"]).split()),
        consent_category=str(category),
        destinations=tuple(dict.fromkeys(str(d) for d in destinations)),
        traits=tuple(dict.fromkeys(str(t) for t in traits)),
    )


def load_audiences(manifest: Mapping[str, Any] | None = None) -> list[Audience]:
    """Every audience of the dbt project, by name (from target/manifest.json, parsed if stale)."""
    if manifest is None:
        from orchestration.defs.dbt_project import ensure_manifest

        manifest = json.loads(ensure_manifest().read_text())
    audiences = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model" and node.get("package_name") == "cdp":
            audience = audience_from_node(node)
            if audience is not None:
                audiences.append(audience)
    return sorted(audiences, key=lambda a: a.name)
