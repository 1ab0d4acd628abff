"""Every operator command explains itself: a description and examples in --help, without a database."""

from __future__ import annotations

import pytest

from tests.operators.helpers import cli

COMMANDS = [
    ["survey", "publish"],
    ["survey", "list"],
    ["survey", "import"],
    ["survey", "export"],
    ["campaign", "create"],
    ["campaign", "list"],
    ["campaign", "show"],
    ["campaign", "launch"],
    ["campaign", "edit"],
    ["campaign", "close"],
    ["campaign", "links"],
    ["demo"],
    ["export"],
    ["stats"],
    ["operators", "add"],
    ["operators", "remove"],
    ["operators", "list"],
    ["audit"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_has_examples(command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    examples = result.stdout.split("Examples:", 1)[1]
    assert f"khaosat {' '.join(command)}" in examples


def test_groups_list_their_commands() -> None:
    campaign = cli("campaign", "--help").stdout
    assert all(name in campaign for name in ("create", "edit", "list", "show", "launch", "close", "links"))
    operators = cli("operators", "--help").stdout
    assert "OPERATOR_IDS" in operators and all(name in operators for name in ("add", "remove", "list"))
