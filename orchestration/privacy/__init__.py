"""Privacy: GDPR erasure, suppression at load, access export, and the pseudonymisation key.

* `salt`: the privacy salt, the pseudonymisation key and the `privacy` tables.
* `erasure`: `cdp forget` records a request (a salted hash, never the value); the next build
  erases the whole customer everywhere (with `scope`, what one request covers) and rewrites
  the warehouse file.
* `suppression`: the loader drops every message carrying a suppressed identifier.
* `export`: `cdp export`, everything held on a customer as one JSON file.
* `consent`: messages whose analytics consent is false.
* `values`: SQL for the identifier values of a message or of a quarantined line.

Identifier values are normalised as identity resolution stores them
(orchestration.identifiers) and hashed type-agnostically, ``sha256(salt || value)``.
The names below are the package's public API; callers import them from `orchestration.privacy`.
"""

from orchestration.privacy.consent import consent_excluded_by_day, consent_excluded_messages
from orchestration.privacy.erasure import (
    ErasureReport,
    apply_pending_erasures,
    compact_warehouse,
    erasures_need_full_refresh,
    identifier_in_graph,
    pending_requests,
    record_request,
)
from orchestration.privacy.export import export_customer, json_default, write_export
from orchestration.privacy.salt import (
    PRIVACY_DDL,
    SALT_ENV,
    SALT_FILE_ENV,
    PrivacyError,
    database_path,
    ensure_privacy_schema,
    hash_value,
    load_salt,
    privacy_counts,
    pseudonymisation_key,
    salt_file,
    salt_for,
)
from orchestration.privacy.suppression import mark_suppressed, suppression_salt

__all__ = [
    "PRIVACY_DDL",
    "SALT_ENV",
    "SALT_FILE_ENV",
    "ErasureReport",
    "PrivacyError",
    "apply_pending_erasures",
    "compact_warehouse",
    "consent_excluded_by_day",
    "consent_excluded_messages",
    "database_path",
    "ensure_privacy_schema",
    "erasures_need_full_refresh",
    "export_customer",
    "hash_value",
    "identifier_in_graph",
    "json_default",
    "load_salt",
    "mark_suppressed",
    "pending_requests",
    "privacy_counts",
    "pseudonymisation_key",
    "record_request",
    "salt_file",
    "salt_for",
    "suppression_salt",
    "write_export",
]
