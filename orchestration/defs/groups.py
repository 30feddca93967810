"""The asset groups: the layers of the flow, in order. The README and docs/architecture.md name
the same list (tests/unit/test_ops_definitions.py holds them to it)."""

# raw/events, raw/load_log, privacy/pseudonymisation_key and privacy/erased_memberships
INGESTION = "ingestion"
STAGING = "staging"  # dbt_project/models/staging and the seeds
INTERMEDIATE = "intermediate"  # dbt_project/models/intermediate
MARTS = "marts"  # dbt_project/models/marts
PUBLISHING = "publishing"  # published/marts, the read-only copy for BI
ACTIVATION = "activation"  # activation/audience_exports

LAYERS = (INGESTION, STAGING, INTERMEDIATE, MARTS, PUBLISHING, ACTIVATION)
