"""Customs' answers to a declaration list (CEB622 returnStatus), in one table.

Message specification 2022-05, table 3-35 (the statuses) and section 7 (the processing errors,
``-6210xx``). Each code has a meaning and an effect on the list (``docs/domain/lifecycle.md``):

- ``MOVE``: the list moves to the state the lifecycle table gives the code (120 accepted ...);
- ``HELD_BY_CUSTOMS``: customs has the list although the code is negative: -621008 (sent to
  customs, only the e-port's own status update failed) is a 3; -621004 (already declared)
  answering a resend of the same version means the first sending arrived (the outbox delivers
  at least once). The list stays declared;
- ``RETRY``: customs asks for the message again ("请重试"); the gateway resends it with backoff
  and, after ``MAX_RETRIES``, gives up (send_failed);
- ``FINAL``: customs refused the list for good: rejected, and only then is the buyer's quota
  given back.

Some final codes refuse the message the list came in rather than the list
(``MESSAGE_REFUSALS``): -621029 (the signature does not verify) and -621030 (the message holds
more than customs takes). A list that went in a message with other lists is sent again alone,
and the code is recorded without moving it; a list refused so alone is rejected.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping


class Effect(enum.StrEnum):
    MOVE = "move"
    HELD_BY_CUSTOMS = "held_by_customs"
    RETRY = "retry"
    FINAL = "final"


# Processing errors with an effect other than FINAL, and their meaning (section 7).
NEGATIVE: Mapping[str, tuple[Effect, str]] = {
    "-621004": (Effect.HELD_BY_CUSTOMS, "清单已经申报过 请勿重复申报 (already declared)"),
    "-621008": (
        Effect.HELD_BY_CUSTOMS,
        "清单发送海关成功 更新状态时发生错误 (sent to customs; e-port status update failed)",
    ),
    "-621009": (Effect.RETRY, "清单发送海关失败 更新状态时发生错误 (sending to customs failed)"),
    "-621017": (Effect.RETRY, "系统发生异常 (system error)"),
    "-621020": (Effect.RETRY, "请求参数错误 请重试 (request error, try again)"),
    "-621021": (Effect.RETRY, "申报失败[主键为空或未找到数据] 请重试 (declaration failed, try again)"),
    "-621022": (Effect.RETRY, "申报失败 请重试 (declaration failed, try again)"),
    "-621023": (Effect.RETRY, "执行改单操作时发生错误 请重试 (error while changing, try again)"),
    "-621025": (Effect.RETRY, "保存签名信息发生错误 (error saving the signature)"),
    "-621027": (Effect.RETRY, "保存失败 请确认状态并刷新重试 (saving failed, try again)"),
}
PROCESSING_ERROR = re.compile(r"-[0-9]{1,9}")
MAX_RETRIES = 6

# Final codes about the whole message a list came in (section 7), and their meaning.
MESSAGE_REFUSALS: Mapping[str, str] = {
    "-621029": "验签失败 (the signature does not verify)",
    "-621030": "CEB621Message 接收失败, 清单数据超过限制 (the message holds more than customs takes)",
}


def effect(code: str) -> Effect:
    """What a CEB622 returnStatus does; any negative code not tabled is final."""
    if code in NEGATIVE:
        return NEGATIVE[code][0]
    if PROCESSING_ERROR.fullmatch(code):
        return Effect.FINAL
    return Effect.MOVE


def codes_with(wanted: Effect) -> tuple[str, ...]:
    """The tabled negative codes that have ``wanted`` as their effect."""
    return tuple(code for code, (found, _meaning) in NEGATIVE.items() if found is wanted)


def meaning(code: str) -> str:
    if code in MESSAGE_REFUSALS:
        return MESSAGE_REFUSALS[code]
    return NEGATIVE[code][1] if code in NEGATIVE else ""


def refuses_message(code: str) -> bool:
    """Does this code refuse the whole message the list came in (``MESSAGE_REFUSALS``)?"""
    return code in MESSAGE_REFUSALS
