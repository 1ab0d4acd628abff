"""The one catalog of texts (`flows/data/texts.yaml`) is complete: every text in every language, with the same
placeholders, and every key the code or a template asks for exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from flows import i18n

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("flows", "storage", "reports", "scheduler", "web", "bot")
TEMPLATE_SECTIONS = {
    "bot/telegram/templates": "telegram",
    "web/templates/survey": "web",
    "reports/templates": "digest",
}
ENGINE_REASONS = ("Rejected", "InputIgnored", "AnswerRejected")
_TEMPLATE_KEY = re.compile(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""")


def test_every_text_has_every_language_and_the_same_placeholders() -> None:
    problems = []
    for key, texts in i18n.catalog().items():
        if set(texts) != set(i18n.LANGUAGES):
            problems.append(f"{key}: languages {sorted(texts)}")
            continue
        if any(not text.strip() for text in texts.values()):
            problems.append(f"{key}: an empty text")
        names = {language: i18n.placeholders(text) for language, text in texts.items()}
        if len({frozenset(n) for n in names.values()}) > 1:
            problems.append(f"{key}: placeholders differ {names}")
        for language, text in texts.items():
            try:
                text.format(**dict.fromkeys(names[language], "x"))
            except (KeyError, IndexError, ValueError) as e:
                problems.append(f"{key} ({language}): cannot be filled in: {e!r}")
    assert not problems, "\n".join(problems)


def _bindings() -> dict[tuple[str, str], str]:
    """(module, name) -> section, for every module-level `name = Section("section")` (and `message`)."""
    found = {("flows.i18n", "message"): "engine"}
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and node.value.func.id == "Section"
                and node.value.args
                and isinstance(node.value.args[0], ast.Constant)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[(_module(path), target.id)] = str(node.value.args[0].value)
    return found


def _sources() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _used_keys() -> list[tuple[str, str, str]]:
    """(where, section, key) for every call of a bound section with a literal key, in code and templates."""
    bindings = _bindings()
    used: list[tuple[str, str, str]] = []
    for path in _sources():
        module = _module(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {name: section for (m, name), section in bindings.items() if m == module}
        modules: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    section = bindings.get((node.module, alias.name))
                    if section is not None:
                        names[alias.asname or alias.name] = section
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
                continue
            key = node.args[0].value
            if not isinstance(key, str):
                continue
            func = node.func
            section = None
            if isinstance(func, ast.Name):
                section = names.get(func.id)
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if func.attr == "both" and func.value.id in names:
                    section = names[func.value.id]
                else:
                    section = bindings.get((modules.get(func.value.id, ""), func.attr))
            if isinstance(func, ast.Name) and func.id in ENGINE_REASONS:
                section = "engine"  # a reason an answer is re-asked, or an input ignored: the engine's text
            if section is not None:
                used.append((f"{path.relative_to(ROOT)}:{node.lineno}", section, key))
    for folder, section in TEMPLATE_SECTIONS.items():
        for template in sorted((ROOT / folder).rglob("*")):
            if template.is_file():
                for key in _TEMPLATE_KEY.findall(template.read_text(encoding="utf-8")):
                    used.append((str(template.relative_to(ROOT)), section, key))
    return used


def test_every_key_the_code_and_the_templates_use_is_in_the_catalog() -> None:
    used = _used_keys()
    assert len(used) > 180, "the scan found too few uses: it no longer understands the code"
    missing = [f"{where}: {section}.{key}" for where, section, key in used if f"{section}.{key}" not in i18n.catalog()]
    assert not missing, "\n".join(missing)


def test_a_missing_key_is_an_error_and_a_missing_language_falls_back_to_vietnamese() -> None:
    with pytest.raises(KeyError):
        i18n.t("telegram.no_such_text", "vi")
    assert i18n.t("telegram.back", "fr") == i18n.t("telegram.back", "vi")
    assert i18n.Section("web")("ward_of_link", "en", name="X") == "Ward or commune: X"
    assert "back" in i18n.Section("telegram") and "nope" not in i18n.Section("telegram")


def test_words_yaml_reads_as_booleans_stay_words() -> None:
    assert i18n.t("preview.agree", "en") == "I agree"
    assert all(isinstance(text, str) for texts in i18n.catalog().values() for text in texts.values())
