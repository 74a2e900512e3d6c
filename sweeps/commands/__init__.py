"""One module per ``toymodels`` subcommand."""
