"""`khaosat` sub-commands, one module per group."""
