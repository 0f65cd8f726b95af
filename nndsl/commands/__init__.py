"""The `nndsl` subcommands that are not the front end's: each module adds its parser
(`add_command`) and runs from a parsed command line; the libraries below take no argparse
objects."""
