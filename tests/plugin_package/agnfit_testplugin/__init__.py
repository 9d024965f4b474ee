"""A tiny third-party agnfit plugin: one filter and one component."""
