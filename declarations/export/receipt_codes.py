"""Customs' answers to an export list (CEB604 ``returnStatus``), in one table.

Message specification 2022-05, table 2-42: 1 stored in the e-port, 2 declaring, 3 sent to
customs, 4 sending failed, 100 returned (rejected), 120 accepted, 300 manual review, 399
concluded, 500 inspection, 800 released, 899 closed. Negative numbers are processing errors:
customs refused the list (final; the declaring agent changes it and declares a new version).

Each code has an effect on the list (``declarations.export.lifecycle``):

- ``CONFIRM``: customs has the list and it stays where it is (2, 3; 1 for a draft);
- ``MOVE``: the list moves to the state the table gives (120 accepted ... 899 closed);
- ``FINAL``: customs refused it: rejected.

A receipt whose move the lifecycle does not allow from the list's state (a late 120 after 800)
is recorded and changes nothing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

from declarations.models import ExportListStatus

S = ExportListStatus


class Effect(enum.StrEnum):
    CONFIRM = "confirm"
    MOVE = "move"
    FINAL = "final"


# code -> (effect, the state it moves the list to, meaning)
CODES: Mapping[str, tuple[Effect, str, str]] = {
    "1": (Effect.CONFIRM, "", "电子口岸已暂存 (stored in the e-port)"),
    "2": (Effect.CONFIRM, "", "电子口岸申报中 (declaring)"),
    "3": (Effect.CONFIRM, "", "发送海关成功 (sent to customs)"),
    "4": (Effect.MOVE, S.SEND_FAILED, "发送海关失败 (sending to customs failed)"),
    "100": (Effect.FINAL, S.REJECTED, "海关退单 (returned by customs)"),
    "120": (Effect.MOVE, S.ACCEPTED, "海关入库 (accepted by customs)"),
    "300": (Effect.MOVE, S.MANUAL_REVIEW, "人工审核 (manual review)"),
    "399": (Effect.MOVE, S.CONCLUDED, "海关审结 (concluded)"),
    "500": (Effect.MOVE, S.INSPECTION, "海关查验 (inspection)"),
    "800": (Effect.MOVE, S.RELEASED, "放行 (released)"),
    "899": (Effect.MOVE, S.CLOSED, "结关 (closed)"),
}
PROCESSING_ERROR = re.compile(r"-[0-9]{1,9}")


class UnknownReceiptCode(ValueError):
    pass


def effect(code: str) -> tuple[Effect, str]:
    """The effect of a CEB604 returnStatus and the state it moves the list to ("" for none).
    Any negative code is final (rejected); an unknown positive code raises ``UnknownReceiptCode``."""
    if code in CODES:
        found, target, _meaning = CODES[code]
        return found, target
    if PROCESSING_ERROR.fullmatch(code):
        return Effect.FINAL, S.REJECTED
    raise UnknownReceiptCode(code)


def meaning(code: str) -> str:
    if code in CODES:
        return CODES[code][2]
    return "处理异常 (processing error)" if PROCESSING_ERROR.fullmatch(code) else ""
