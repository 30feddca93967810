"""Loading raw event dumps: the raw-load contract and its DuckDB and Spark adapters."""
