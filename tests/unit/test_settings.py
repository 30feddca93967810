"""Settings read from the environment, with defaults that fit the machine."""

from __future__ import annotations


def test_duckdb_memory_cap_defaults_to_2gb_or_a_third_of_a_small_machine(monkeypatch):
    import os

    from orchestration import settings

    monkeypatch.delenv("CDP_DUCKDB_MEMORY_LIMIT", raising=False)
    pages = {"SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(os, "sysconf", lambda name: pages.get(name, 0))
    pages["SC_PHYS_PAGES"] = 16 * 1000**3 // 4096
    assert settings.duckdb_memory_limit() == "2GB"
    pages["SC_PHYS_PAGES"] = 3 * 1000**3 // 4096
    assert settings.duckdb_memory_limit() == "999MB"
    monkeypatch.setenv("CDP_DUCKDB_MEMORY_LIMIT", "6GB")
    assert settings.duckdb_memory_limit() == "6GB"
