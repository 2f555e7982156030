"""CLI command modules. Each exposes ``register(subparsers, common_parser)`` adding its subcommands;
handlers take the parsed ``argparse.Namespace`` and return an exit status. ``pinsearch.cli`` calls
every module listed in :data:`COMMAND_MODULES`, so adding a command touches one new module and one
line here."""

COMMAND_MODULES: list[str] = [
    "pinsearch.commands.ltr",
    "pinsearch.commands.related",
    "pinsearch.commands.pages",
    "pinsearch.commands.interests",
    "pinsearch.commands.annotations",
    "pinsearch.commands.serve",
    "pinsearch.commands.cluster",
]
