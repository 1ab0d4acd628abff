"""`khaosat survey validate|preview` and the CLI's start-up cost."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from flows.loader import bundled_survey_path

VI_WALK = [
    "1",  # consent
    "hoan kiem",
    "2",
    "-",  # skip gender
    "1",
    "cư trú",
    "4",
    "4",
    "5",
    "3",
    "abc",  # re-asked
    "3",
    "2",
    "co",
    "4",
    "4",
    "5",
    "1,3,9",  # re-asked
    "1,3,5",
    "4",
    "Góp ý <b>test</b>",
]
EN_WALK = ["yes", "dong da", "<", "ba dinh", "60 or over", "female", "no", "no", "agree", "5", "waste", "4", "-"]


def run(args: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_validate_ok() -> None:
    code, out, _ = run(["survey", "validate", str(bundled_survey_path())])
    assert code == 0
    assert out == "OK hanoi-ward-satisfaction v2: 18 questions, 9 factors\n"


def test_validate_lists_errors_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        bundled_survey_path()
        .read_text(encoding="utf-8")
        .replace('show_if: gave_feedback == "yes"', "show_if: q_foo == 1"),
        encoding="utf-8",
    )
    good = bundled_survey_path()
    code, out, err = run(["survey", "validate", str(bad), str(good)])
    assert code == 1
    assert out.startswith("OK hanoi-ward-satisfaction")
    assert err.endswith("questions[12].show_if: unknown question 'q_foo'\n")
    assert err.startswith(f"{bad}:")


def test_validate_missing_file(tmp_path: Path) -> None:
    code, _, err = run(["survey", "validate", str(tmp_path / "none.yaml")])
    assert code == 1
    assert err == f"{tmp_path / 'none.yaml'}:0: file not found\n"


def test_preview_walks_to_the_end_in_vietnamese() -> None:
    code, out, _ = run(["survey", "preview"], "\n".join(VI_WALK) + "\n")
    assert code == 0, out
    assert "Câu 1 · đã xong 0% · Bạn đang sinh sống ở phường, xã nào?" in out
    assert "! Vui lòng nhập một số nguyên từ 1 đến 20." in out
    assert "  Vui lòng nhập một số nguyên từ 1 đến 20. (lần)" in out  # the hint, with the question's unit
    assert "Cảm ơn bạn đã hoàn thành khảo sát!" in out
    assert "  ward: Phường Hoàn Kiếm" in out
    assert "  comment: Góp ý <b>test</b>" in out


def test_preview_walks_to_the_end_in_english() -> None:
    code, out, _ = run(["survey", "preview", "--lang", "en"], "\n".join(EN_WALK) + "\n")
    assert code == 0, out
    assert "Question 5 · 36% done · In the last 12 months, did you send feedback" in out
    assert "Previous answer: Phường Đống Đa" in out
    assert "Thank you for completing the survey!" in out
    assert "  ward: Phường Ba Đình" in out
    assert "  comment: (skipped)" in out


def test_preview_reports_input_that_ends_early() -> None:
    code, out, _ = run(["survey", "preview"], "1\nhoan kiem\n")
    assert code == 1
    assert out.rstrip().endswith("Hết dữ liệu vào trước khi hoàn thành khảo sát (đang ở câu “age_group”).")


def test_the_preview_speaks_of_typing_never_of_pressing_buttons() -> None:
    code, out, _ = run(["survey", "preview"], "1\nhoan kiem\nxyz\n\n")
    assert code == 1
    assert "! Không nhận ra lựa chọn “xyz”. Hãy gõ số thứ tự của lựa chọn hoặc một phần nội dung của nó." in out
    assert "! Bạn chưa gõ gì. Hãy gõ số thứ tự của một lựa chọn." in out
    assert "bấm" not in out.lower() and "nút" not in out.lower()
    code, out, _ = run(["survey", "preview", "--lang", "en"], "1\n\n")
    assert "! Nothing was typed. Type part of the ward's name (e.g. “hoan kiem”)." in out
    assert "press" not in out.lower() and "button" not in out.lower()


def test_preview_decline() -> None:
    code, out, _ = run(["survey", "preview"], "2\n")
    assert code == 0
    assert "Bạn đã từ chối tham gia. Không có dữ liệu nào được lưu." in out


def test_preview_explains_an_unclear_consent_answer() -> None:
    code, out, _ = run(["survey", "preview"], "maybe\n2\n")
    assert code == 0
    assert out.count("Hãy gõ 1 (Đồng ý) hoặc 2 (Không đồng ý).") == 1
    assert "Bạn đã từ chối tham gia" in out


def test_preview_bad_language() -> None:
    code, _, err = run(["survey", "preview", "--lang", "fr"])
    assert code == 2
    assert "Invalid value for --lang: 'fr' is not one of this survey's languages (vi, en)" in err


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('aiogram', 'sqlalchemy', 'sqlmodel', 'alembic', 'pydantic', 'yaml', 'flows.engine')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("HEAVY []")


def test_console_script_is_installed() -> None:
    exe = shutil.which("khaosat") or str(Path(sys.executable).parent / "khaosat")
    result = subprocess.run([exe, "survey", "preview"], input="2\n", capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "Không dữ liệu" not in result.stdout and "từ chối" in result.stdout
