"""Short texts of the Telegram channel (buttons, notices), Vietnamese first with English.

Longer, composed messages are Jinja2 templates in `templates/`; they take their phrases from here.
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    # buttons
    "agree": {"vi": "✅ Tôi đồng ý", "en": "✅ I agree"},
    "decline": {"vi": "✖ Không đồng ý", "en": "✖ I decline"},
    "back": {"vi": "◀ Quay lại", "en": "◀ Back"},
    "skip": {"vi": "Bỏ qua ⏭", "en": "Skip ⏭"},
    "done": {"vi": "✔ Xong ({count})", "en": "✔ Done ({count})"},
    "prev_page": {"vi": "◀ Trang trước", "en": "◀ Previous"},
    "next_page": {"vi": "Trang sau ▶", "en": "Next ▶"},
    "page": {"vi": "Trang {page}/{pages}", "en": "Page {page}/{pages}"},
    "continue": {"vi": "▶ Tiếp tục", "en": "▶ Continue"},
    "yes_restart": {"vi": "Có, làm lại từ đầu", "en": "Yes, start over"},
    "yes_delete": {"vi": "Có, xoá dữ liệu của tôi", "en": "Yes, delete my data"},
    "no_keep": {"vi": "Không", "en": "No"},
    "lang_vi": {"vi": "🇻🇳 Tiếng Việt", "en": "🇻🇳 Tiếng Việt"},
    "lang_en": {"vi": "🇬🇧 English", "en": "🇬🇧 English"},
    # callback answers (short toasts)
    "already_answered": {"vi": "Câu này đã được trả lời.", "en": "This question has already been answered."},
    "max_selected": {"vi": "Chỉ chọn tối đa {max} lựa chọn.", "en": "Choose at most {max}."},
    "recorded": {"vi": "Đã ghi nhận.", "en": "Recorded."},
    "expired": {"vi": "Nút này đã hết hiệu lực.", "en": "This button has expired."},
    # notices
    "no_campaign": {
        "vi": "Hiện chưa có đợt khảo sát nào đang mở. Cảm ơn bạn đã quan tâm!",
        "en": "There is no survey open at the moment. Thank you for your interest!",
    },
    "unknown_campaign": {
        "vi": "Đường dẫn này không đúng hoặc đợt khảo sát không còn tồn tại. Gửi /start để xem các đợt đang mở.",
        "en": "This link is not valid or the survey no longer exists. Send /start to see open surveys.",
    },
    "campaign_closed": {
        "vi": "Đợt khảo sát “{title}” đã kết thúc. Cảm ơn bạn đã quan tâm!",
        "en": "The survey “{title}” has ended. Thank you for your interest!",
    },
    "campaign_not_started": {
        "vi": "Đợt khảo sát “{title}” chưa bắt đầu. Vui lòng quay lại sau.",
        "en": "The survey “{title}” has not started yet. Please come back later.",
    },
    "already_completed": {
        "vi": "Bạn đã hoàn thành đợt khảo sát “{title}” rồi. Cảm ơn bạn!",
        "en": "You have already completed the survey “{title}”. Thank you!",
    },
    "choose_campaign": {
        "vi": "Đang có {count} đợt khảo sát. Bạn muốn tham gia đợt nào?",
        "en": "{count} surveys are open. Which one would you like to answer?",
    },
    "declined": {
        "vi": "Bạn đã không đồng ý tham gia. Chúng tôi không lưu thông tin nào về bạn. Nếu đổi ý, hãy gửi /start.",
        "en": "You declined to take part. We keep nothing about you. If you change your mind, send /start.",
    },
    "consent_press": {"vi": "👇 Bấm “✅ Tôi đồng ý” để bắt đầu.", "en": "👇 Press “✅ I agree” to begin."},
    "consent_given": {"vi": "✅ Bạn đã đồng ý tham gia.", "en": "✅ You agreed to take part."},
    "language_set": {"vi": "Đã chuyển sang tiếng Việt.", "en": "Switched to English."},
    "choose_language": {"vi": "Chọn ngôn ngữ / Choose a language:", "en": "Choose a language / Chọn ngôn ngữ:"},
    "confirm_restart": {
        "vi": "Bạn có chắc muốn xoá các câu trả lời của đợt khảo sát này và làm lại từ đầu không?",
        "en": "Do you really want to clear your answers to this survey and start over?",
    },
    "confirm_delete": {
        "vi": "Xoá dữ liệu của bạn? Chúng tôi sẽ xoá địa chỉ trò chuyện và các câu trả lời chưa hoàn thành của bạn; "
        "các phiếu đã hoàn thành được giữ lại nhưng không thể liên kết với bạn nữa.",
        "en": "Delete your data? We will delete your chat address and your unfinished answers; completed "
        "questionnaires are kept but can no longer be linked to you.",
    },
    "deleted": {
        "vi": "Đã xoá dữ liệu của bạn. Cảm ơn bạn đã tham gia. Bạn có thể bắt đầu lại bất cứ lúc nào bằng /start.",
        "en": "Your data has been deleted. Thank you for taking part. You can start again any time with /start.",
    },
    "kept": {"vi": "Đã giữ nguyên, không có gì thay đổi.", "en": "Nothing was changed."},
    "nothing_to_restart": {
        "vi": "Bạn không có khảo sát nào đang làm dở để làm lại. Gửi /start để xem các đợt khảo sát.",
        "en": "You have no survey in progress to start over. Send /start to see the surveys.",
    },
    "nothing_to_cancel": {
        "vi": "Bạn không có khảo sát nào đang làm dở. Gửi /start để xem các đợt khảo sát.",
        "en": "You have no survey in progress. Send /start to see the surveys.",
    },
    "consent_kept": {
        "vi": "Bạn đã đồng ý tham gia đợt khảo sát này trước đó, nên không có gì thay đổi. Muốn tạm dừng, gửi "
        "/cancel; muốn xoá dữ liệu của mình, gửi /delete_my_data.",
        "en": "You already agreed to take part in this survey, so nothing was changed. To pause, send /cancel; "
        "to delete your data, send /delete_my_data.",
    },
    "cancelled": {
        "vi": "Đã tạm dừng. Các câu trả lời của bạn vẫn được lưu; gửi /start bất cứ lúc nào để tiếp tục.",
        "en": "Paused. Your answers are saved; send /start any time to continue.",
    },
    "went_back": {"vi": "↩ Đã quay lại câu trước.", "en": "↩ Went back to the previous question."},
    "restarted": {"vi": "↺ Đã làm lại từ đầu.", "en": "↺ Started over."},
    "not_text": {
        "vi": "Xin lỗi, tôi chỉ đọc được tin nhắn chữ. Vui lòng bấm một nút hoặc gõ câu trả lời.",
        "en": "Sorry, I can only read text messages. Please press a button or type your answer.",
    },
    "too_long": {
        "vi": "Tin nhắn quá dài ({length} ký tự). Vui lòng trả lời ngắn gọn hơn.",
        "en": "That message is too long ({length} characters). Please answer more briefly.",
    },
    "unknown_command": {
        "vi": "Không có lệnh {command}. Gửi /help để xem các lệnh.",
        "en": "There is no command {command}. Send /help to see the commands.",
    },
    "temporary_error": {
        "vi": "Xin lỗi, đã có lỗi tạm thời. Vui lòng thử lại sau ít phút.",
        "en": "Sorry, something went wrong for a moment. Please try again in a few minutes.",
    },
    "previous_answer": {"vi": "Câu trả lời trước: {value}", "en": "Previous answer: {value}"},
    "number_unit": {"vi": "Đơn vị: {unit}.", "en": "Unit: {unit}."},
    "type_answer": {"vi": "✍️ Gõ câu trả lời của bạn.", "en": "✍️ Type your answer."},
    "multi_hint": {
        "vi": "Chọn từ {min} đến {max} lựa chọn, rồi bấm “Xong”.",
        "en": "Choose {min} to {max}, then press “Done”.",
    },
    "multi_hint_max": {
        "vi": "Chọn tối đa {max} lựa chọn, rồi bấm “Xong”.",
        "en": "Choose up to {max}, then press “Done”.",
    },
    "ward_hint": {
        "vi": "Chọn trong danh sách hoặc gõ một phần tên để tìm (ví dụ “hoàn kiếm”).",
        "en": "Pick from the list or type part of the name to search (e.g. “hoan kiem”).",
    },
    "candidates": {"vi": "Có phải bạn muốn chọn:", "en": "Did you mean:"},
    "skipped": {"vi": "(bỏ qua)", "en": "(skipped)"},
    "invite_question": {
        "vi": "Bạn có muốn nhận lời mời khi có đợt khảo sát mới không?",
        "en": "Would you like to be invited when a new survey opens?",
    },
    "invite_yes": {"vi": "🔔 Có, mời tôi", "en": "🔔 Yes, invite me"},
    "invite_no": {"vi": "Không, cảm ơn", "en": "No, thanks"},
    "invite_on": {
        "vi": "🔔 Chúng tôi sẽ báo cho bạn khi có khảo sát mới. Gửi /delete_my_data để thôi nhận.",
        "en": "🔔 We will let you know when a new survey opens. Send /delete_my_data to stop.",
    },
    "invite_off": {"vi": "Đã ghi nhận. Cảm ơn bạn!", "en": "Noted. Thank you!"},
}

COMMANDS: dict[str, list[tuple[str, str]]] = {
    "vi": [
        ("start", "Bắt đầu hoặc tiếp tục khảo sát"),
        ("help", "Hướng dẫn"),
        ("lang", "Đổi ngôn ngữ (Tiếng Việt / English)"),
        ("restart", "Làm lại khảo sát từ đầu"),
        ("delete_my_data", "Xoá dữ liệu của tôi"),
        ("cancel", "Tạm dừng"),
    ],
    "en": [
        ("start", "Start or continue the survey"),
        ("help", "Help"),
        ("lang", "Change language (Tiếng Việt / English)"),
        ("restart", "Start the survey over"),
        ("delete_my_data", "Delete my data"),
        ("cancel", "Pause"),
    ],
}


GROUP_COMMANDS: dict[str, list[tuple[str, str]]] = {
    "vi": [
        ("subscribe", "Nhận bản tin định kỳ (kèm mã do cán bộ vận hành cấp)"),
        ("digest", "Xem bản tin ngay"),
        ("unsubscribe", "Thôi nhận bản tin"),
    ],
    "en": [
        ("subscribe", "Receive periodic digests (with the code from an operator)"),
        ("digest", "Show the digest now"),
        ("unsubscribe", "Stop the digests"),
    ],
}


def t(key: str, language: str, **params: Any) -> str:
    texts = TEXTS[key]
    template = texts.get(language) or texts["vi"]
    return template.format(**params) if params else template
