"""The web policy from the CLI: `--web-limit`, `--web-code`, `--include-flagged` on create and edit, shown by
`campaign show`; `campaign codes` writes one-time invitation codes to a CSV file; every command is audited."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.operators.helpers import audit_rows, cli, create, get_campaign, publish


def test_web_limit_code_and_flagged_inclusion_are_set_shown_and_audited(env: str) -> None:
    publish()
    create("hn-2026", "70")
    c = get_campaign(env, "hn-2026")
    assert (c.web_limit, c.web_requires_code, c.include_flagged) == (30, False, False)
    shown = cli("campaign", "show", "hn-2026").stdout
    assert "  web:         30 new respondents per address and hour\n" in shown
    assert "  flagged:     0 completed responses (too_fast 0, straightlining 0, many_from_address 0); left out" in shown

    edited = cli("campaign", "edit", "hn-2026", "--web-limit", "0", "--web-code", "--include-flagged")
    assert edited.exit_code == 0, edited.output
    c = get_campaign(env, "hn-2026")
    assert (c.web_limit, c.web_requires_code, c.include_flagged) == (0, True, True)
    shown = cli("campaign", "show", "hn-2026").stdout
    assert "  web:         no limit per address; an invitation code is required\n" in shown
    assert "included in the figures" in shown
    bad = cli("campaign", "edit", "hn-2026", "--web-limit", "-1")
    assert bad.exit_code == 2

    create("hn-yen", "235", "--web-limit", "60")
    assert get_campaign(env, "hn-yen").web_limit == 60

    made = cli("campaign", "codes", "hn-2026", "--count", "5", "--out", "codes.csv")
    assert made.exit_code == 0, made.output
    with Path("codes.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["code", "link"] and len(rows) == 6 and len({r[0] for r in rows[1:]}) == 5
    assert Path("codes.csv").stat().st_mode & 0o777 == 0o600  # one-time ballots: the owner's only
    again = cli("campaign", "codes", "hn-2026", "--count", "5", "--out", "codes.csv")  # would lose the first five
    assert again.exit_code == 1 and "codes.csv exists" in again.stderr
    nowhere = cli("campaign", "codes", "hn-2026", "--count", "5", "--out", "no/such/dir/codes.csv")
    assert nowhere.exit_code == 1 and "cannot write no/such/dir/codes.csv" in nowhere.stderr
    assert "(0 of 5 codes used)" in cli("campaign", "show", "hn-2026").stdout  # neither issued a code
    actions = [(action, args) for action, outcome, args in audit_rows(env) if outcome == "ok"]
    assert ("campaign.codes", {"code": "hn-2026", "count": 5, "out": "codes.csv"}) in actions
    edit_args = [args for action, args in actions if action == "campaign.edit"]
    assert {"web_limit": 0, "web_code": True, "include_flagged": True}.items() <= edit_args[0].items()


def test_stats_say_whether_flagged_responses_are_counted(env: str) -> None:
    publish()
    create("hn-2026", "70")
    left_out = cli("stats", "hn-2026")
    assert left_out.exit_code == 0, left_out.output
    assert "Responses with data-quality flags are left out" in left_out.stdout
    cli("campaign", "edit", "hn-2026", "--include-flagged")
    assert "Responses with data-quality flags are included" in cli("stats", "hn-2026").stdout


def test_odd_arguments_get_a_clear_message_not_a_traceback(env: str) -> None:
    publish()
    create("hn-2026", "70")
    huge = cli("campaign", "edit", "hn-2026", "--web-limit", "9" * 20)
    assert huge.exit_code == 2 and "is not in the range 0<=x<=1000000" in huge.stderr
    far = cli("audit", "--since", "9" * 20 + "d")
    assert far.exit_code == 2 and "reaches back further than dates go" in far.stderr
    for command in (("campaign", "show"), ("stats",)):
        odd = cli(*command, "\udcff")  # bytes that are not text, as a shell passes them
        assert odd.exit_code == 2 and "no campaign with code" in odd.stderr and "Traceback" not in odd.output
