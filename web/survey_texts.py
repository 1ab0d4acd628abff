"""Short texts of the citizen web survey (buttons, notices, labels), Vietnamese first with English.

The questionnaire's own texts (questions, consent, thanks) and the engine's re-ask messages come from the
survey and `flows.i18n`; these are only the web page's furniture. Notices that can be reached without a
chosen language (an unknown or closed campaign, an expired form) are shown in both languages.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("vi", "en")

TEXTS: dict[str, dict[str, str]] = {
    # page furniture
    "site": {"vi": "Khảo sát người dân", "en": "Citizen survey"},
    "skip_to_content": {"vi": "Chuyển đến nội dung chính", "en": "Skip to the main content"},
    "switch_to": {"vi": "English", "en": "Tiếng Việt"},
    "switch_hint": {"vi": "Switch to English", "en": "Chuyển sang tiếng Việt"},
    "ward_of_link": {"vi": "Phường, xã: {name}", "en": "Ward or commune: {name}"},
    # buttons
    "next": {"vi": "Tiếp tục", "en": "Next"},
    "finish": {"vi": "Gửi câu trả lời", "en": "Submit"},
    "back": {"vi": "◀ Quay lại", "en": "◀ Back"},
    "skip": {"vi": "Bỏ qua", "en": "Skip"},
    "agree": {"vi": "Tôi đồng ý tham gia", "en": "I agree to take part"},
    "decline": {"vi": "Không đồng ý", "en": "I decline"},
    "search": {"vi": "Tìm", "en": "Search"},
    "start_over": {"vi": "Bắt đầu lại", "en": "Start again"},
    "continue": {"vi": "Tiếp tục khảo sát", "en": "Continue the survey"},
    # question page
    "previous_answer": {"vi": "Câu trả lời trước: {value}", "en": "Previous answer: {value}"},
    "type_answer": {"vi": "Nhập câu trả lời của bạn", "en": "Type your answer"},
    "multi_hint": {"vi": "Chọn từ {min} đến {max} lựa chọn.", "en": "Choose {min} to {max}."},
    "multi_hint_max": {"vi": "Chọn tối đa {max} lựa chọn.", "en": "Choose up to {max}."},
    "ward_search": {
        "vi": "Hoặc gõ một phần tên phường, xã (ví dụ “hoàn kiếm”)",
        "en": "Or type part of the ward's name (e.g. “hoan kiem”)",
    },
    "ward_select": {"vi": "— Chọn phường, xã —", "en": "— Choose a ward —"},
    "candidates": {"vi": "Có phải bạn muốn chọn:", "en": "Did you mean:"},
    "optional": {"vi": "Không bắt buộc", "en": "Optional"},
    "characters_max": {"vi": "tối đa {max} ký tự", "en": "at most {max} characters"},
    "type_number": {"vi": "Nhập một số", "en": "Type a number"},
    "already_answered": {
        "vi": "Câu này đã được trả lời (có thể từ một thẻ khác). Đây là câu hỏi tiếp theo của bạn.",
        "en": "That question was already answered (perhaps in another tab). Here is your next question.",
    },
    "not_current": {
        "vi": "Trang này đã cũ (có thể từ một thẻ khác). Đây là câu hỏi hiện tại của bạn.",
        "en": "That page was out of date (perhaps in another tab). Here is your current question.",
    },
    # consent
    "consent_web_note": {
        "vi": "Trên trang web này, bạn có thể xoá dữ liệu của mình bất cứ lúc nào bằng liên kết "
        "“Xoá dữ liệu của tôi” ở cuối trang. Chúng tôi chỉ lưu một mã ngẫu nhiên trong cookie của trình "
        "duyệt để bạn có thể tiếp tục khi quay lại.",
        "en": "On this website you can delete your data at any time with the “Delete my data” link at the "
        "bottom of the page. We keep only a random code in a browser cookie so you can continue when you "
        "come back.",
    },
    # ward picker
    "picker_title": {"vi": "Bạn sống ở phường, xã nào?", "en": "Which ward or commune do you live in?"},
    "picker_intro": {
        "vi": "Chọn phường, xã của bạn để bắt đầu khảo sát.",
        "en": "Choose your ward or commune to start the survey.",
    },
    "picker_search": {"vi": "Tìm phường, xã", "en": "Find your ward or commune"},
    "picker_none": {
        "vi": "Không tìm thấy phường, xã nào khớp với “{q}”.",
        "en": "No ward or commune matches “{q}”.",
    },
    "picker_count": {"vi": "{count} phường, xã", "en": "{count} wards and communes"},
    "picker_all": {"vi": "Xem tất cả", "en": "Show all"},
    "invalid_ward": {
        "vi": "Đường dẫn này có mã phường, xã “{ward}” không thuộc đợt khảo sát. Vui lòng chọn trong danh sách.",
        "en": "This link has a ward code “{ward}” that is not part of this survey. Please choose from the list.",
    },
    # campaigns
    "campaigns_title": {"vi": "Các đợt khảo sát đang mở", "en": "Surveys open now"},
    "no_campaign_title": {"vi": "Chưa có đợt khảo sát", "en": "No survey open"},
    "no_campaign": {
        "vi": "Hiện chưa có đợt khảo sát nào đang mở. Cảm ơn bạn đã quan tâm!",
        "en": "There is no survey open at the moment. Thank you for your interest!",
    },
    # notices
    "unknown_campaign_title": {"vi": "Không tìm thấy đợt khảo sát", "en": "Survey not found"},
    "unknown_campaign": {
        "vi": "Đường dẫn này không đúng hoặc đợt khảo sát không tồn tại. Vui lòng kiểm tra lại đường dẫn hoặc mã QR.",
        "en": "This link is not valid or the survey does not exist. Please check the link or the QR code.",
    },
    "campaign_closed_title": {"vi": "Đợt khảo sát đã kết thúc", "en": "This survey has ended"},
    "campaign_closed": {
        "vi": "Đợt khảo sát “{title}” đã kết thúc và không nhận thêm câu trả lời. Cảm ơn bạn đã quan tâm!",
        "en": "The survey “{title}” has ended and takes no more answers. Thank you for your interest!",
    },
    "campaign_not_started_title": {"vi": "Đợt khảo sát chưa bắt đầu", "en": "This survey has not started"},
    "campaign_not_started": {
        "vi": "Đợt khảo sát “{title}” bắt đầu lúc {when}. Vui lòng quay lại sau.",
        "en": "The survey “{title}” opens at {when}. Please come back later.",
    },
    "done_title": {"vi": "Cảm ơn bạn!", "en": "Thank you!"},
    "already_completed": {
        "vi": "Bạn đã hoàn thành đợt khảo sát này. Mỗi người chỉ trả lời một lần.",
        "en": "You have completed this survey. Each person answers only once.",
    },
    "close_page": {"vi": "Bạn có thể đóng trang này.", "en": "You can close this page."},
    "declined_title": {"vi": "Bạn đã không đồng ý tham gia", "en": "You declined to take part"},
    "declined": {
        "vi": "Chúng tôi không lưu thông tin nào về bạn. Nếu đổi ý, bạn có thể bắt đầu lại.",
        "en": "We keep nothing about you. If you change your mind, you can start again.",
    },
    "deleted_title": {"vi": "Đã xoá dữ liệu của bạn", "en": "Your data has been deleted"},
    "deleted": {
        "vi": "Các câu trả lời chưa hoàn thành đã bị xoá; các phiếu đã hoàn thành được giữ lại nhưng không "
        "thể liên kết với bạn nữa. Trình duyệt này đã nhận một mã mới.",
        "en": "Your unfinished answers were deleted; completed questionnaires are kept but can no longer be "
        "linked to you. This browser has been given a new code.",
    },
    "forbidden_title": {"vi": "Biểu mẫu đã hết hạn", "en": "This form has expired"},
    "forbidden": {
        "vi": "Biểu mẫu này đã hết hạn hoặc không hợp lệ, nên câu trả lời chưa được ghi nhận. Vui lòng mở lại "
        "trang khảo sát và thử lại.",
        "en": "This form has expired or is not valid, so your answer was not recorded. Please open the survey "
        "page again and retry.",
    },
    "bad_request_title": {"vi": "Yêu cầu không hợp lệ", "en": "Bad request"},
    "bad_request": {
        "vi": "Trình duyệt đã gửi dữ liệu không đọc được. Vui lòng mở lại trang khảo sát.",
        "en": "The browser sent data that could not be read. Please open the survey page again.",
    },
    "error_title": {"vi": "Lỗi tạm thời", "en": "Temporary error"},
    "error": {
        "vi": "Xin lỗi, đã có lỗi tạm thời. Câu trả lời của bạn vẫn được lưu; vui lòng thử lại sau ít phút.",
        "en": "Sorry, something went wrong for a moment. Your answers are kept; please try again in a few minutes.",
    },
    "page_not_found_title": {"vi": "Không tìm thấy trang", "en": "Page not found"},
    "page_not_found": {
        "vi": "Không có trang này. Vui lòng kiểm tra lại đường dẫn hoặc mã QR.",
        "en": "There is no such page. Please check the link or the QR code.",
    },
    "wrong_method_title": {"vi": "Không mở được trang", "en": "This page cannot be opened"},
    "wrong_method": {
        "vi": "Trang này không mở được theo cách đó. Vui lòng mở lại trang khảo sát.",
        "en": "This page cannot be opened that way. Please open the survey page again.",
    },
    "open_survey": {"vi": "Mở trang khảo sát", "en": "Open the survey"},
    # restart and delete
    "restart": {"vi": "Làm lại từ đầu", "en": "Start over"},
    "delete": {"vi": "Xoá dữ liệu của tôi", "en": "Delete my data"},
    "confirm_restart": {
        "vi": "Bạn có chắc muốn xoá các câu trả lời của đợt khảo sát này và làm lại từ đầu không?",
        "en": "Do you really want to clear your answers to this survey and start over?",
    },
    "confirm_delete": {
        "vi": "Xoá dữ liệu của bạn? Chúng tôi sẽ xoá các câu trả lời chưa hoàn thành; các phiếu đã hoàn thành "
        "được giữ lại nhưng không thể liên kết với bạn nữa.",
        "en": "Delete your data? We will delete your unfinished answers; completed questionnaires are kept but "
        "can no longer be linked to you.",
    },
    "yes_restart": {"vi": "Có, làm lại từ đầu", "en": "Yes, start over"},
    "yes_delete": {"vi": "Có, xoá dữ liệu của tôi", "en": "Yes, delete my data"},
    "no_keep": {"vi": "Không, quay lại", "en": "No, go back"},
}


def number(value: int, language: str) -> str:
    """A whole number with thousands grouped the local way: 1.000 in Vietnamese, 1,000 in English."""
    grouped = f"{value:,}"
    return grouped.replace(",", ".") if language == "vi" else grouped


def t(key: str, language: str, **params: Any) -> str:
    texts = TEXTS[key]
    template = texts.get(language) or texts["vi"]
    return template.format(**params) if params else template
