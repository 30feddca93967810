"""Audiences and activation: definitions, exports to destinations, customer-match hashing.

An audience is a dbt model `marts.audience__<name>` (customer_id, entered_at) whose YAML
declares `config.meta.audience` (condition, consent_category, destinations, traits); see the
README, "Audiences and activation". dbt decides who is a member (condition met and latest
consent for the category given) and records who entered and left
(`marts.audience_membership_history`, `marts.audience_sizes`). After each build this package
writes, for every destination of every audience, into `<export dir>/<destination>/` the
members (CSV and Parquet) and the hashed customer-match file.

* `definitions`: Audience, read from the dbt manifest; the phone country code var.
* `export`: the export itself, customer-match rows, the suppression guard.
* `files`: atomic mode-0600 writes and removal of files no longer exported.

The export folder is CDP_EXPORT_DIR, else `exports` next to the warehouse (data/exports for the
default warehouse). The names below are the package's public API.
"""

from orchestration.audiences.definitions import (
    AUDIENCE_PREFIX,
    DEFAULT_CONSENT_CATEGORY,
    DEFAULT_TRAITS,
    Audience,
    AudienceError,
    audience_from_node,
    load_audiences,
    phone_country_code,
)
from orchestration.audiences.export import (
    CUSTOMER_MATCH_HEADER,
    AudienceExport,
    ExportReport,
    customer_match_row,
    export_audiences,
    latest_sizes,
    member_counts,
    sha256_hex,
)
from orchestration.audiences.files import (
    CUSTOMER_MATCH_CSV,
    EXPORT_SUFFIXES,
    MEMBERS_CSV,
    MEMBERS_PARQUET,
    atomic_write,
    discard_exports,
    export_dir_for,
)

__all__ = [
    "AUDIENCE_PREFIX",
    "CUSTOMER_MATCH_CSV",
    "CUSTOMER_MATCH_HEADER",
    "DEFAULT_CONSENT_CATEGORY",
    "DEFAULT_TRAITS",
    "EXPORT_SUFFIXES",
    "MEMBERS_CSV",
    "MEMBERS_PARQUET",
    "Audience",
    "AudienceError",
    "AudienceExport",
    "ExportReport",
    "atomic_write",
    "audience_from_node",
    "customer_match_row",
    "discard_exports",
    "export_audiences",
    "export_dir_for",
    "latest_sizes",
    "load_audiences",
    "member_counts",
    "phone_country_code",
    "sha256_hex",
]
