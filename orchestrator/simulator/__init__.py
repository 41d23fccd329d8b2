"""The local simulator of the provider: a backend model behind a thin HTTP layer, with a control plane."""
