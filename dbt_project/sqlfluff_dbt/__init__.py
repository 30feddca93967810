"""dbt's Jinja context, as far as sqlfluff's jinja templater needs it to render our models.

sqlfluff's `jinja` templater (see `.sqlfluff`, `library_path`) puts every public name of this
module into the context of each file it lints. With `apply_dbt_builtins` it already knows
`ref`, `source`, `config`, `var`, `this` and `is_incremental`; the models also call
`cdp.<macro>(...)` (this project's macros, which `load_macros_from_path` loads under their bare
names), `dbt.<macro>(...)` (dbt's cross-database macros), `adapter.dispatch(...)`, `target`,
`modules`, `exceptions` and `model`. Without them a call renders as a placeholder word and
every model that is mostly a macro (staging, audiences, the time spine) fails to parse.

The stand-ins render what dbt-duckdb renders, with `execute` false (dbt's parse phase): no
query runs, so an incremental model's days-to-process list is empty. Nothing here is used by
dbt itself; it only lets the linter see SQL close to what dbt compiles, without a warehouse
or the dbt templater (which needs a dbt package we do not depend on).
"""

import datetime as _datetime
import re as _re
from collections.abc import Callable as _Callable
from pathlib import Path as _Path
from typing import Any as _Any

import yaml as _yaml
from jinja2 import TemplateRuntimeError as _TemplateRuntimeError
from jinja2 import pass_context as _pass_context
from jinja2.runtime import Context as _Context

# dbt's parse phase: macros skip run_query and the graph (see macros/incremental.sql).
execute = False
project_name = "cdp"
graph: dict[str, dict[str, _Any]] = {"nodes": {}, "sources": {}}
run_started_at = _datetime.datetime(2000, 1, 1, tzinfo=_datetime.UTC)


_DBT_PROJECT_YML = _Path(__file__).resolve().parents[2] / "dbt_project.yml"
_PROJECT_VARS: dict[str, _Any] = _yaml.safe_load(_DBT_PROJECT_YML.read_text()).get("vars") or {}


def var(name: str, default: _Any = None) -> _Any:
    """dbt's `var()`: the value in dbt_project.yml, else the default given.

    A value that is itself a Jinja expression (identity_resolver) gives way to the default,
    which the macros that read it pass in the DuckDB form.
    """
    value = _PROJECT_VARS.get(name, default)
    if isinstance(value, str) and "{{" in value:
        return default
    return value


class _Namespace:
    """`<package>.<macro>`: the macro of that name from the linted file's context."""

    unsafe_callable = False
    alters_data = False

    def __getattr__(self, name: str) -> _Callable[..., _Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        @_pass_context
        def call(context: _Context, *args: _Any, **kwargs: _Any) -> _Any:
            return context[name](*args, **kwargs)

        return call


cdp = _Namespace()


class _Dbt:
    """dbt's cross-database macros in the form dbt-duckdb renders them."""

    unsafe_callable = False
    alters_data = False

    @staticmethod
    def type_string() -> str:
        return "varchar"

    @staticmethod
    def type_bigint() -> str:
        return "bigint"

    @staticmethod
    def type_int() -> str:
        return "integer"

    @staticmethod
    def type_timestamp() -> str:
        return "timestamp"

    @staticmethod
    def type_numeric() -> str:
        return "numeric(28, 6)"

    @staticmethod
    def type_float() -> str:
        return "float"

    @staticmethod
    def type_boolean() -> str:
        return "boolean"

    @staticmethod
    def concat(fields: list[str]) -> str:
        return f"concat({', '.join(str(field) for field in fields)})"

    @staticmethod
    def length(expression: str) -> str:
        return f"length({expression})"

    @staticmethod
    def right(string_text: str, length_expression: str) -> str:
        return f"right({string_text}, {length_expression})"

    @staticmethod
    def hash(field: str) -> str:
        return f"md5(cast({field} as varchar))"

    @staticmethod
    def safe_cast(field: str, type: str) -> str:
        return f"try_cast({field} as {type})"

    @staticmethod
    def dateadd(datepart: str, interval: _Any, from_date_or_timestamp: str) -> str:
        return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"

    @staticmethod
    def datediff(first_date: str, second_date: str, datepart: str) -> str:
        return f"date_diff('{datepart}', {first_date}, {second_date})"

    @staticmethod
    def date_spine(datepart: str, start_date: str, end_date: str) -> str:
        return (
            f"select cast(range as date) as date_{datepart}\n"
            f"    from range({start_date}, {end_date}, interval 1 {datepart})"
        )


dbt = _Dbt()


class _Adapter:
    """`adapter.dispatch(name, package)`: duckdb__name, else default__name, else name."""

    unsafe_callable = False
    alters_data = False

    @staticmethod
    @_pass_context
    def dispatch(context: _Context, name: str, macro_namespace: str = "cdp") -> _Any:
        for candidate in (f"duckdb__{name}", f"default__{name}", name):
            macro = context.get(candidate)
            if macro is not None:
                return macro
        return getattr(dbt, name)

    @staticmethod
    def quote(identifier: str) -> str:
        return f'"{identifier}"'


adapter = _Adapter()


class _Target:
    type = "duckdb"
    name = "dev"
    schema = "main"
    database = "warehouse"
    threads = 1


target = _Target()


class _Modules:
    re = _re


modules = _Modules()


class _CompilerError(_TemplateRuntimeError):
    """What `exceptions.raise_compiler_error` raises: sqlfluff reports it on the file."""


class _Exceptions:
    @staticmethod
    def raise_compiler_error(message: str) -> None:
        raise _CompilerError(message)

    @staticmethod
    def warn(message: str) -> str:
        return ""


exceptions = _Exceptions()


class _Model:
    """`model`: the node being compiled. Only the audience models read it (its name)."""

    name = "audience__linted"
    config: dict[str, _Any] = {}

    def get(self, key: str, default: _Any = None) -> _Any:
        return default


model = _Model()


def log(message: str, info: bool = False) -> str:
    """dbt's `log()`: prints nothing while linting."""
    return ""
