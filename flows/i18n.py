"""The engine's own user-facing texts, Vietnamese first with English translations."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    # reasons an answer is re-asked
    "empty": {
        "vi": "Bạn chưa nhập gì. Vui lòng trả lời câu hỏi.",
        "en": "That was empty. Please answer the question.",
    },
    "not_a_number": {
        "vi": "“{text}” không phải là một số.",
        "en": "“{text}” is not a number.",
    },
    "number_range_integer": {
        "vi": "Vui lòng nhập một số nguyên từ {min} đến {max}.",
        "en": "Please type a whole number between {min} and {max}.",
    },
    "number_min_integer": {
        "vi": "Vui lòng nhập một số nguyên từ {min} trở lên.",
        "en": "Please type a whole number of at least {min}.",
    },
    "number_max_integer": {
        "vi": "Vui lòng nhập một số nguyên không quá {max}.",
        "en": "Please type a whole number of at most {max}.",
    },
    "number_any_integer": {
        "vi": "Vui lòng nhập một số nguyên.",
        "en": "Please type a whole number.",
    },
    "number_range": {
        "vi": "Vui lòng nhập một số từ {min} đến {max}.",
        "en": "Please type a number between {min} and {max}.",
    },
    "number_min": {
        "vi": "Vui lòng nhập một số từ {min} trở lên.",
        "en": "Please type a number of at least {min}.",
    },
    "number_max": {
        "vi": "Vui lòng nhập một số không quá {max}.",
        "en": "Please type a number of at most {max}.",
    },
    "number_any": {
        "vi": "Vui lòng nhập một số.",
        "en": "Please type a number.",
    },
    "too_long": {
        "vi": "Câu trả lời quá dài: tối đa {max} ký tự, bạn đã nhập {length}. Vui lòng rút gọn.",
        "en": "That is too long: at most {max} characters, you typed {length}. Please shorten it.",
    },
    "no_match": {
        "vi": "Không nhận ra lựa chọn “{text}”. Vui lòng bấm một nút hoặc gõ số thứ tự của lựa chọn.",
        "en": "“{text}” doesn't match any choice. Please press a button or type the choice's number.",
    },
    "ambiguous": {
        "vi": "“{text}” khớp với nhiều lựa chọn: {options}. Vui lòng chọn một.",
        "en": "“{text}” matches several choices: {options}. Please pick one.",
    },
    "invalid_choice": {
        "vi": "Lựa chọn này không hợp lệ cho câu hỏi này.",
        "en": "That choice is not valid for this question.",
    },
    "too_few": {
        "vi": "Vui lòng chọn ít nhất {min} lựa chọn.",
        "en": "Please choose at least {min}.",
    },
    "too_many": {
        "vi": "Vui lòng chọn tối đa {max} lựa chọn (bạn đã chọn {count}).",
        "en": "Please choose at most {max} (you chose {count}).",
    },
    "ward_not_found": {
        "vi": "Không tìm thấy phường, xã nào khớp với “{text}”. Hãy gõ một phần tên, ví dụ “hoàn kiếm”.",
        "en": "No ward or commune matches “{text}”. Type part of its name, e.g. “hoan kiem”.",
    },
    "ward_ambiguous": {
        "vi": "Có {count} phường, xã khớp với “{text}”. Vui lòng chọn một.",
        "en": "{count} wards or communes match “{text}”. Please pick one.",
    },
    "required": {
        "vi": "Câu hỏi này bắt buộc, không thể bỏ qua.",
        "en": "This question is required and cannot be skipped.",
    },
    "no_previous": {
        "vi": "Đây là câu hỏi đầu tiên, không thể quay lại.",
        "en": "This is the first question; there is nothing to go back to.",
    },
    "fixed_answer": {
        "vi": "Câu trả lời này đã được xác định từ đường dẫn bạn mở, không thể thay đổi.",
        "en": "This answer came with the link you opened and cannot be changed.",
    },
    # outcomes that are not re-asks
    "already_answered": {
        "vi": "Câu này đã được trả lời.",
        "en": "This question has already been answered.",
    },
    "not_current": {
        "vi": "Câu này không phải là câu đang được hỏi.",
        "en": "That is not the question being asked now.",
    },
    "completed": {
        "vi": "Bạn đã hoàn thành khảo sát này. Cảm ơn bạn!",
        "en": "You have already completed this survey. Thank you!",
    },
    "consent_needed": {
        "vi": "Vui lòng đồng ý hoặc từ chối tham gia trước.",
        "en": "Please agree or decline to take part first.",
    },
    # displaying answers
    "skipped": {"vi": "(bỏ qua)", "en": "(skipped)"},
    "dont_know": {"vi": "Không rõ", "en": "Don't know"},
    "yes": {"vi": "Có", "en": "Yes"},
    "no": {"vi": "Không", "en": "No"},
    "progress": {"vi": "Câu {number}/{total}", "en": "Question {number}/{total}"},
}

LIKERT_LABELS: dict[str, dict[str, tuple[str, str, str, str, str]]] = {
    "satisfaction": {
        "vi": ("Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"),
        "en": ("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"),
    },
    "agreement": {
        "vi": ("Hoàn toàn không đồng ý", "Không đồng ý", "Bình thường", "Đồng ý", "Hoàn toàn đồng ý"),
        "en": ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"),
    },
}


def message(key: str, language: str, **params: Any) -> str:
    """A message in `language` (falling back to Vietnamese), with its parameters filled in."""
    texts = MESSAGES[key]
    template = texts.get(language) or texts["vi"]
    return template.format(**params)
