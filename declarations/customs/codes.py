"""Stable error codes of customs-XML messages refused as a whole (the answer is a CEB900).

A body over the size limit answers core's ``content_too_large``, as any endpoint does.
Registered as declarations' codes by ``declarations.intake.codes.register``.
"""

from __future__ import annotations

XML_MALFORMED = "xml_malformed"
XML_DOCTYPE_FORBIDDEN = "xml_doctype_forbidden"
XML_MESSAGE_TYPE = "xml_message_type"
XML_SCHEMA_INVALID = "xml_schema_invalid"
