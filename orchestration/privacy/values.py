"""SQL: the identifier values a Segment message carries, and those free text mentions.

Both erasure (what to delete) and suppression at load (what to drop) find identifiers with
these queries, normalised as identity resolution stores them (orchestration.identifiers).
"""

from __future__ import annotations

from orchestration.identifiers import identity_phone_key_sql

# Identifier fields of a Segment message (DESIGN.md, Identity resolution), by normalisation.
_ID_PATHS = ("$.anonymousId", "$.userId", "$.previousId")
_EMAIL_PATHS = ("$.traits.email", "$.context.traits.email")
_PHONE_PATHS = ("$.traits.phone", "$.context.traits.phone")

# A quarantined line is erased (and, on a later load, suppressed) when it holds an erased
# value of at least this many characters as a token, a quoted string or a phone number; at
# erasure time such values are also matched as plain substrings. Shorter values ("x64", "en")
# would match unrelated text.
MIN_TEXT_CANDIDATE = 5
QUARANTINE_SCAN_CHARS = 1_000_000

MESSAGE_PATHS_SQL = "[" + ", ".join(f"'{p}'" for p in (*_ID_PATHS, *_EMAIL_PATHS,
                                                       *_PHONE_PATHS)) + "]"


def message_values_query(source: str, json_column: str, keys: str, where: str = "true") -> str:
    """SQL: one row (key columns..., value) per normalised identifier value carried by each
    message of `source`. The JSON is parsed once per row (a subquery: DuckDB would otherwise
    repeat the extraction for every reference)."""
    f = "cdp_fields"
    values = [f"nullif(trim({f}[{i}]), '')" for i in range(1, len(_ID_PATHS) + 1)]
    offset = len(_ID_PATHS)
    values += [f"nullif(lower(trim({f}[{i}])), '')"
               for i in range(offset + 1, offset + len(_EMAIL_PATHS) + 1)]
    offset += len(_EMAIL_PATHS)
    values += [identity_phone_key_sql(f"{f}[{i}]")
               for i in range(offset + 1, offset + len(_PHONE_PATHS) + 1)]
    return f"""
        select * exclude ({f}), unnest([{", ".join(values)}]) as value
        from (
            select {keys}, json_extract_string({json_column}, {MESSAGE_PATHS_SQL}) as {f}
            from {source}
            where {where}
        )
    """


def text_values_query(source: str, text_column: str, keys: str, where: str = "true") -> str:
    """SQL: one row (keys..., value) per candidate identifier value mentioned in free text (a
    quarantined line): its tokens, its quoted strings and the phone numbers in it, as written
    and lower-cased, at least MIN_TEXT_CANDIDATE characters long."""
    t = f"left({text_column}, {QUARANTINE_SCAN_CHARS})"
    return f"""
        select * exclude (cdp_tokens, cdp_quoted, cdp_phones),
               unnest(list_distinct(list_filter(flatten([
            cdp_tokens,
            list_transform(cdp_tokens, lambda x: rtrim(x, '.')),
            list_transform(cdp_tokens, lambda x: lower(rtrim(x, '.'))),
            list_transform(cdp_quoted, lambda x: trim(x)),
            list_transform(cdp_quoted, lambda x: lower(trim(x))),
            list_transform(cdp_quoted, lambda x: {identity_phone_key_sql('x')}),
            list_transform(cdp_phones, lambda x: {identity_phone_key_sql('x')})
        ]), lambda x: length(x) >= {MIN_TEXT_CANDIDATE}))) as value
        from (
            select {keys},
                   regexp_extract_all({t}, '[A-Za-z0-9_.@+-]+') as cdp_tokens,
                   regexp_extract_all({t}, '"((?:[^"\\\\]|\\\\.)*)"', 1) as cdp_quoted,
                   regexp_extract_all({t}, '[+]?[0-9][0-9 ().-]{{5,}}[0-9]') as cdp_phones
            from {source}
            where {text_column} is not null and {where}
        )
    """
