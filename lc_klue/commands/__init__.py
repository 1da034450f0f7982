"""Subcommands of the ``lc-klue`` CLI; each module has ``register(subparsers)``."""
