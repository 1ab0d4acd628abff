from __future__ import annotations

import pytest

from flows import expr


@pytest.mark.parametrize(
    ("source", "answers", "expected"),
    [
        ('used == "no"', {"used": "no"}, True),
        ('used != "no"', {"used": "online"}, True),
        ('used != "no"', {}, None),  # unanswered is unknown, not "different"
        ("score >= 4", {"score": 4}, True),
        ("score < 4", {"score": "dk"}, None),  # "don't know" is not a number
        ("score == 3", {"score": "3"}, True),  # choice values are strings
        ('a == "x" and b == "y"', {"a": "x", "b": "z"}, False),
        ('a == "x" and b == "y"', {"b": "z"}, False),  # false wins over unknown
        ('a == "x" or b == "y"', {"b": "y"}, True),  # true wins over unknown
        ('a == "x" or b == "y"', {"b": "z"}, None),
        ('not a == "x"', {"a": "y"}, True),
        ('not a == "x"', {}, None),
        ('a in ["x", "y"]', {"a": "y"}, True),
        ('a not in ["x", "y"]', {"a": "z"}, True),
        ("a in [1, 2]", {"a": 2}, True),
        ('selected(issues, "waste")', {"issues": ["waste", "flood"]}, True),
        ('selected(issues, "schools")', {"issues": ["waste"]}, False),
        ('selected(issues, "waste")', {}, None),
        ('(a == 1 or a == 2) and not (b == "no")', {"a": 2, "b": "yes"}, True),
        ("x > 2.5", {"x": 3}, True),
        ("x > -1", {"x": 0}, True),
        ("'it\\'s' == a", {"a": "it's"}, True),
    ],
)
def test_evaluate(source: str, answers: dict[str, object], expected: bool | None) -> None:
    assert expr.evaluate(expr.parse(source), answers) is expected


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("", "empty expression", 0),
        ("a ==", "expected a value, found end of expression", 4),
        ('a = "x"', "use '==' to compare", 2),
        ('a == "x', "unterminated string", 5),
        ("a == 1 b", "unexpected 'b'", 7),
        ("(a == 1", "expected ')', found end of expression", 7),
        ('count(a, "x")', "unknown function 'count' (only selected(question, \"value\"))", 0),
        ('a in "x"', 'expected a list like ["a", "b"] after \'in\', found \'"x"\'', 5),
        ("a == $", "unexpected character '$'", 5),
        ("selected(1, 2)", "selected() needs a question id as its first argument", 9),
    ],
)
def test_syntax_errors(source: str, message: str, column: int) -> None:
    with pytest.raises(expr.ExprError) as info:
        expr.parse(source)
    assert (info.value.message, info.value.column) == (message, column)


def test_references_in_order() -> None:
    tree = expr.parse('a == 1 and (selected(b, "x") or c in [1])')
    assert [r.name for r in expr.references(tree)] == ["a", "b", "c"]


def test_no_eval_of_python() -> None:
    with pytest.raises(expr.ExprError):
        expr.parse("__import__('os').system('true')")
