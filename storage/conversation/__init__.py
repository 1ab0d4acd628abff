"""The conversation service every channel calls (`service`), the portable loader and executor (`load`,
`apply`) and what a process remembers between updates (`prompts`). The rules are in `flows.conversation`;
its actions and outcomes are re-exported here for the callers' convenience."""

from flows.conversation import (
    Action,
    CampaignChoice,
    DeleteMyData,
    GiveConsent,
    Outcome,
    OutcomeKind,
    Reply,
    Restart,
    SetInvitations,
    SetLanguage,
    Start,
    View,
    Who,
)
from storage.conversation.service import ConversationService, respondent_key

__all__ = [
    "Action",
    "CampaignChoice",
    "ConversationService",
    "DeleteMyData",
    "GiveConsent",
    "Outcome",
    "OutcomeKind",
    "Reply",
    "Restart",
    "SetInvitations",
    "SetLanguage",
    "Start",
    "View",
    "Who",
    "respondent_key",
]
