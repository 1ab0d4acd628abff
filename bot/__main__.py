"""`python -m bot ...` is the same as `khaosat ...`."""

from bot.cli import main

main(prog_name="khaosat")
