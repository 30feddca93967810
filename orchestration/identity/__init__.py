"""Identity resolution: the resolver, its warehouse adapter, explanations and graph health."""
